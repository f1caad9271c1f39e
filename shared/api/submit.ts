/**
 * POST /jobs/{type}: the HTTP side of a submit. What is HTTP's own stays here (content type, body encoding,
 * UTF-8, JSON text, the Idempotency-Key header, URLs, status codes); validating, recording and enqueueing
 * the job is shared/submission/submit-job.ts, which JobClient runs too. Its outcomes become:
 * - 202 once the record is written and the message is sent;
 * - 202 with `queued: false` when the send failed or its outcome is unknown: the job is recorded and the
 *   sweeper sends its message (poll the job; do not submit it again);
 * - 503 only when the record could not be written, with the job id it would have (with an Idempotency-Key
 *   a retry is safe; without one, GET that id first: a lost answer may have recorded it);
 * - 404 unknown type, 400 invalid payload (with every failing field), 413 too large, 422 an
 *   Idempotency-Key used for another payload.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MAX_MESSAGE_BYTES } from '../jobs/message';
import type { JobRecord } from '../store/job-record';
import { MAX_DELAY_SECONDS } from '../jobs/run-at';
import { isIdempotencyKey, submitJob as submit, submittableType, type SubmissionDeps, type SubmitOutcome } from '../submission/submit-job';
import { callerOf } from './caller';
import { apiUrl, header, json, problem, unknownQueryParameters, type ApiResponse } from './http';

export type { QueueTarget } from '../submission/submit-job';

/** What the API function needs: the submission's dependencies (the API adds nothing of its own). */
export type SubmitDeps = SubmissionDeps;

// Fatal on bytes that are not UTF-8; a byte order mark is kept, so JSON.parse refuses it as on the text path.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const INVALID_KEY = 'Idempotency-Key must be 1-255 printable ASCII characters without commas (send the header once)';

export async function submitJob(event: APIGatewayProxyEventV2, typeName: string | undefined, deps: SubmitDeps): Promise<ApiResponse> {
  if (!submittableType(deps, typeName)) return unknownJobType(typeName, deps);

  const contentType = header(event, 'content-type');
  if (contentType !== undefined && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType.trim())) {
    return problem(415, 'unsupported_media_type', 'the body must be JSON (content-type: application/json)');
  }

  const key = header(event, 'idempotency-key');
  if (key !== undefined && !isIdempotencyKey(key)) {
    return problem(400, 'invalid_idempotency_key', INVALID_KEY);
  }
  const unknownQuery = unknownQueryParameters(event, ['delay', 'runAt'], 'POST /jobs/{type}');
  if (unknownQuery) return unknownQuery;
  const when = runAtOf(event.queryStringParameters ?? {}, (deps.now ?? Date.now)());
  if ('problem' in when) return problem(400, 'invalid_delay', when.problem);

  const callbackUrl = header(event, 'callback-url');

  let raw: string;
  try {
    raw = event.body === undefined ? '' : event.isBase64Encoded ? STRICT_UTF8.decode(Buffer.from(event.body, 'base64')) : event.body;
  } catch {
    return problem(400, 'invalid_body', 'the body is not valid UTF-8');
  }
  // Anything larger cannot become an SQS message, whatever it parses to.
  if (Buffer.byteLength(raw) > MAX_MESSAGE_BYTES) {
    return problem(413, 'payload_too_large', `the body is larger than SQS's ${MAX_MESSAGE_BYTES} bytes`);
  }
  if (raw.trim() === '') return problem(400, 'invalid_body', "the body is empty: send the job's payload as JSON");

  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    return problem(400, 'invalid_json', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }

  const outcome = await submit(deps, {
    type: typeName!,
    payload: body,
    owner: callerOf(event),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
    ...(when.runAt !== undefined ? { runAt: when.runAt } : {}),
  });
  return submitResponse(event, outcome, key !== undefined, deps);
}

/** The HTTP answer to a submission's outcome. */
export function submitResponse(event: APIGatewayProxyEventV2, outcome: SubmitOutcome, keyed: boolean, deps: Pick<SubmitDeps, 'jobTypes'>): ApiResponse {
  switch (outcome.kind) {
    case 'accepted':
      return accepted(event, outcome.job, outcome);
    case 'unknown_job_type':
      return unknownJobType(outcome.type, deps);
    case 'invalid_idempotency_key':
      return problem(400, 'invalid_idempotency_key', INVALID_KEY);
    case 'invalid_callback_url':
      return problem(400, 'invalid_callback_url', outcome.reason);
    case 'invalid_delay':
      return problem(400, 'invalid_delay', outcome.reason);
    case 'invalid_payload':
      return problem(400, 'invalid_payload', outcome.reason, outcome.issues ? { issues: outcome.issues } : undefined);
    case 'payload_too_large':
      return problem(413, 'payload_too_large', outcome.reason);
    case 'idempotency_key_reused':
      return problem(422, 'idempotency_key_reused', 'this Idempotency-Key was used for another payload; use a new key for a new job', { jobId: outcome.jobId });
    case 'unavailable': {
      const advice = keyed
        ? 'retry with the same Idempotency-Key'
        : `if the answer was lost it may exist: GET ${apiUrl(event, `/jobs/${outcome.jobId}`)} before submitting again (an Idempotency-Key makes retries safe)`;
      return problem(503, 'unavailable', `the job could not be recorded; ${advice}`, { jobId: outcome.jobId }, { 'retry-after': '1' });
    }
  }
}

function unknownJobType(typeName: string | undefined, deps: Pick<SubmitDeps, 'jobTypes'>): ApiResponse {
  return problem(404, 'unknown_job_type', `there is no job type "${typeName ?? ''}"`, { jobTypes: deps.jobTypes.map((t) => t.name) });
}

export function accepted(event: APIGatewayProxyEventV2, job: JobRecord, how: { replayed: boolean; queued: boolean }): ApiResponse {
  const statusUrl = apiUrl(event, `/jobs/${job.jobId}`);
  const body = {
    jobId: job.jobId,
    type: job.type,
    status: job.status,
    ...(job.runAt !== undefined ? { runAt: new Date(job.runAt).toISOString() } : {}),
    statusUrl,
    ...(how.queued ? {} : { queued: false, note: 'the job is recorded and its message will be sent by the sweeper: poll statusUrl, do not submit it again' }),
  };
  return json(202, body, { location: statusUrl, ...(how.replayed ? { 'idempotent-replayed': 'true' } : {}) });
}

const DELAY_RULE = `delay is whole seconds from 0 to ${MAX_DELAY_SECONDS}, or runAt an ISO 8601 time with its zone (e.g. 2026-12-24T18:00:00Z), at most a year ahead; not both`;

/**
 * The run time a submit asks for: `?delay=<seconds>` or `?runAt=<ISO 8601 with a zone>` (a time in the
 * past runs now). Undefined when neither is given.
 */
export function runAtOf(query: Record<string, string | undefined>, now: number): { runAt?: number } | { problem: string } {
  const { delay, runAt } = query;
  if (delay !== undefined && runAt !== undefined) return { problem: `give delay or runAt, not both: ${DELAY_RULE}` };
  if (delay !== undefined) {
    if (!/^\d{1,9}$/.test(delay) || Number(delay) > MAX_DELAY_SECONDS) return { problem: `delay=${JSON.stringify(delay).slice(1, -1)} is not a delay: ${DELAY_RULE}` };
    return { runAt: now + Number(delay) * 1000 };
  }
  if (runAt !== undefined) {
    // A zone is required: a time without one means a different instant on every machine.
    const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/i.test(runAt) ? Date.parse(runAt) : NaN;
    if (Number.isNaN(at)) return { problem: `runAt=${JSON.stringify(runAt).slice(1, -1)} is not a time: ${DELAY_RULE}` };
    if (at > now + MAX_DELAY_SECONDS * 1000) return { problem: `runAt is more than a year ahead: ${DELAY_RULE}` };
    return { runAt: at };
  }
  return {};
}
