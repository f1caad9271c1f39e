/**
 * The lifecycle routes over HTTP: POST /jobs/{id}/cancel, POST /jobs/{id}/retry, GET /jobs (list, or find by
 * Idempotency-Key), POST /bulk/cancel and POST /bulk/retry. What they do is shared/submission/lifecycle.ts
 * (JobClient runs it too); this keeps what is HTTP's own: query strings, bodies, status codes.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { toJobView } from '../store/job-record';
import { bulkChange, cancelJob, findJobByKey, listOwnJobs, retryJob, type LifecycleOutcome } from '../submission/lifecycle';
import { isIdempotencyKey } from '../submission/submit-job';
import { callerOf } from './caller';
import { apiUrl, json, problem, unknownQueryParameters, type ApiResponse } from './http';
import { accepted, type SubmitDeps } from './submit';

export async function cancelRoute(event: APIGatewayProxyEventV2, jobId: string | undefined, deps: SubmitDeps): Promise<ApiResponse> {
  const outcome = await cancelJob(deps, jobId ?? '', callerOf(event));
  if (outcome.kind !== 'done') return refusal(outcome, jobId, 'not_cancellable');
  return json(200, toJobView(outcome.job));
}

export async function retryRoute(event: APIGatewayProxyEventV2, jobId: string | undefined, deps: SubmitDeps): Promise<ApiResponse> {
  const outcome = await retryJob(deps, jobId ?? '', callerOf(event));
  if (outcome.kind !== 'done') return refusal(outcome, jobId, 'not_retryable');
  return accepted(event, outcome.job, { replayed: false, queued: outcome.queued ?? true });
}

/** GET /jobs?type=&state=&limit=&cursor=&createdAfter=&createdBefore=, or ?type=&key= for one job. */
export async function listRoute(event: APIGatewayProxyEventV2, deps: SubmitDeps): Promise<ApiResponse> {
  const query = event.queryStringParameters ?? {};
  const owner = callerOf(event);
  const unknown = unknownQueryParameters(event, ['type', 'state', 'limit', 'cursor', 'key', 'createdAfter', 'createdBefore'], 'GET /jobs');
  if (unknown) return unknown;
  if (query.key !== undefined) {
    if (query.type === undefined) return problem(400, 'invalid_query', 'key= needs type=: an Idempotency-Key names a job of one type');
    if (!isIdempotencyKey(query.key)) return problem(400, 'invalid_query', 'key is not an Idempotency-Key (1-255 printable ASCII characters without commas)');
    if (!deps.jobTypes.some((t) => t.name === query.type)) return problem(400, 'invalid_query', `there is no job type "${query.type}"`);
    const job = await findJobByKey(deps, owner, query.type, query.key);
    return json(200, { jobs: job ? [toJobView(job)] : [] });
  }
  const limit = query.limit === undefined ? undefined : /^\d{1,3}$/.test(query.limit) ? Number(query.limit) : NaN;
  const outcome = await listOwnJobs(deps, {
    owner,
    ...(query.type !== undefined ? { type: query.type } : {}),
    ...(query.state !== undefined ? { state: query.state.toUpperCase() } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    ...(query.createdAfter !== undefined ? { createdAfter: query.createdAfter } : {}),
    ...(query.createdBefore !== undefined ? { createdBefore: query.createdBefore } : {}),
  });
  if (outcome.kind === 'invalid') return problem(400, 'invalid_query', outcome.reason);
  const { jobs, cursor } = outcome.page;
  const next = cursor === undefined ? {} : { cursor, next: apiUrl(event, `/jobs?${new URLSearchParams({ ...withoutCursor(query), cursor }).toString()}`) };
  return json(200, { jobs: jobs.map(toJobView), ...next });
}

/** POST /bulk/cancel and /bulk/retry: body {type?, state?, createdAfter?, createdBefore?, cursor?}. */
export async function bulkRoute(event: APIGatewayProxyEventV2, operation: 'cancel' | 'retry', deps: SubmitDeps): Promise<ApiResponse> {
  let filter: Record<string, unknown>;
  try {
    filter = event.body ? (JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) as Record<string, unknown>) : {};
  } catch {
    return problem(400, 'invalid_json', 'the body is not valid JSON: send a filter like {"type":"webhook","state":"FAILED"}');
  }
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter))
    return problem(400, 'invalid_body', 'the body is a JSON object: {type?, state?, createdAfter?, createdBefore?, cursor?}');
  const allowed = ['type', 'state', 'createdAfter', 'createdBefore', 'cursor'];
  const wrong = Object.entries(filter).filter(([name, value]) => !allowed.includes(name) || typeof value !== 'string');
  if (wrong.length > 0) return problem(400, 'invalid_body', `the filter takes string fields ${allowed.join(', ')} only (not ${wrong.map(([name]) => name).join(', ')})`);
  const strings = filter as Record<string, string>;
  const outcome = await bulkChange(
    deps,
    operation,
    { owner: callerOf(event), ...strings, ...(strings.state !== undefined ? { state: strings.state.toUpperCase() } : {}), budgetMs: 5000 },
    deps.log,
  );
  if (outcome.kind === 'invalid') return problem(400, 'invalid_body', outcome.reason);
  return json(200, outcome.report);
}

function refusal(outcome: Exclude<LifecycleOutcome, { kind: 'done' }>, jobId: string | undefined, code: string): ApiResponse {
  if (outcome.kind === 'unknown_job') return problem(404, 'unknown_job', `there is no job "${jobId ?? ''}"`);
  return problem(409, code, outcome.reason, { status: outcome.job.status });
}

function withoutCursor(query: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter((entry): entry is [string, string] => entry[0] !== 'cursor' && entry[1] !== undefined));
}
