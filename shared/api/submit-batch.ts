/**
 * POST /jobs/{type}/batch: up to 100 jobs of one type in one request, body
 * `{"jobs":[{"payload":…,"idempotencyKey"?:"…","delay"?:<seconds>|"runAt"?:"<ISO 8601>","callbackUrl"?:"…"}]}`.
 * Each job gets the answer a single `POST /jobs/{type}` would have given it, with its HTTP status as
 * `httpStatus`, in the order of the request: `200 {"accepted":n,"refused":m,"results":[…]}`. A request
 * that is not such a list at all is a 400 for the whole; one job's bad payload, key or delay refuses that
 * job only. What happens to each job is shared/submission/submit-batch.ts.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MAX_BATCH_JOBS, submitJobs } from '../submission/submit-batch';
import { submittableType, type SubmitRequest } from '../submission/submit-job';
import { callerOf } from './caller';
import { header, json, problem, unknownQueryParameters, type ApiResponse } from './http';
import { runAtOf, submitResponse, type SubmitDeps } from './submit';

/** Lambda takes a 6 MB request; what is left for the batch's JSON after the event around it. */
export const MAX_BATCH_BODY_BYTES = 5_000_000;
const ENTRY_FIELDS = new Set(['payload', 'idempotencyKey', 'delay', 'runAt', 'callbackUrl']);
const SHAPE = `the body is {"jobs":[{"payload":…,"idempotencyKey"?,"delay"? or "runAt"?,"callbackUrl"?}, …]} with 1-${MAX_BATCH_JOBS} jobs`;

type Entry = { index: number; request: SubmitRequest } | { index: number; refusal: ApiResponse };

export async function submitBatch(event: APIGatewayProxyEventV2, typeName: string | undefined, deps: SubmitDeps): Promise<ApiResponse> {
  if (!submittableType(deps, typeName)) return problem(404, 'unknown_job_type', `there is no job type "${typeName ?? ''}"`, { jobTypes: deps.jobTypes.map((t) => t.name) });
  // What a single submit takes from the query and headers, each job of a batch gives in its entry: taken
  // from the request, it would apply to every job, or (as before) be silently ignored.
  const unknownQuery = unknownQueryParameters(event, [], 'POST /jobs/{type}/batch (each job gives its own delay or runAt)');
  if (unknownQuery) return unknownQuery;
  for (const [name, field] of [
    ['idempotency-key', 'idempotencyKey'],
    ['callback-url', 'callbackUrl'],
  ] as const) {
    if (header(event, name) !== undefined) return problem(400, 'invalid_batch', `a batch takes no ${name} header: give each job its own ${field} in its entry`);
  }
  const raw = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw) > MAX_BATCH_BODY_BYTES)
    return problem(413, 'payload_too_large', `a batch's body is at most ${MAX_BATCH_BODY_BYTES} bytes: send fewer jobs per request`);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    return problem(400, 'invalid_json', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const jobs = (body as { jobs?: unknown } | null)?.jobs;
  if (!Array.isArray(jobs) || jobs.length === 0 || jobs.length > MAX_BATCH_JOBS || typeof body !== 'object' || Array.isArray(body)) {
    return problem(400, 'invalid_batch', SHAPE);
  }
  const extra = Object.keys(body as object).filter((name) => name !== 'jobs');
  if (extra.length > 0) return problem(400, 'invalid_batch', `unknown field ${extra.join(', ')} (each job gives its own delay, runAt, callbackUrl): ${SHAPE}`);
  const now = (deps.now ?? Date.now)();
  const owner = callerOf(event);
  const entries = jobs.map((job, index) => entryOf(job, index, typeName!, owner, now));
  const requests = entries.filter((e): e is Extract<Entry, { request: SubmitRequest }> => 'request' in e);
  const outcomes = await submitJobs(
    deps,
    requests.map((e) => e.request),
  );
  const answers = new Map<number, ApiResponse>(entries.filter((e) => 'refusal' in e).map((e) => [e.index, (e as { refusal: ApiResponse }).refusal]));
  requests.forEach((e, i) => answers.set(e.index, submitResponse(event, outcomes[i]!, e.request.idempotencyKey !== undefined, deps)));
  const results = jobs.map((_, index) => {
    const answer = answers.get(index)!;
    return { httpStatus: answer.statusCode, ...(JSON.parse(answer.body as string) as object) };
  });
  const accepted = results.filter((r) => r.httpStatus === 202).length;
  return json(200, { accepted, refused: results.length - accepted, results });
}

/** One job of the batch as a submit request, or its refusal. */
function entryOf(job: unknown, index: number, type: string, owner: string, now: number): Entry {
  const refuse = (code: string, message: string): Entry => ({ index, refusal: problem(400, code, `jobs[${index}]: ${message}`) });
  if (job === null || typeof job !== 'object' || Array.isArray(job)) return refuse('invalid_batch', SHAPE);
  const fields = job as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !ENTRY_FIELDS.has(name));
  if (unknown.length > 0) return refuse('invalid_batch', `unknown field ${unknown.join(', ')}: ${SHAPE}`);
  if (!('payload' in fields)) return refuse('invalid_body', 'no payload');
  const { idempotencyKey, delay, runAt, callbackUrl } = fields;
  if (idempotencyKey !== undefined && typeof idempotencyKey !== 'string') return refuse('invalid_idempotency_key', 'idempotencyKey is a string');
  if (callbackUrl !== undefined && typeof callbackUrl !== 'string') return refuse('invalid_callback_url', 'callbackUrl is a string');
  if (delay !== undefined && (typeof delay !== 'number' || !Number.isInteger(delay))) return refuse('invalid_delay', 'delay is whole seconds');
  if (runAt !== undefined && typeof runAt !== 'string') return refuse('invalid_delay', 'runAt is an ISO 8601 time with its zone');
  const when = runAtOf({ ...(delay !== undefined ? { delay: String(delay) } : {}), ...(runAt !== undefined ? { runAt } : {}) }, now);
  if ('problem' in when) return refuse('invalid_delay', when.problem);
  return {
    index,
    request: {
      type,
      payload: fields.payload,
      owner,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(callbackUrl !== undefined ? { callbackUrl } : {}),
      ...(when.runAt !== undefined ? { runAt: when.runAt } : {}),
    },
  };
}
