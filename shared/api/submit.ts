/**
 * POST /jobs/{type}: validate, record, enqueue, answer 202. One DynamoDB write and one SendMessage.
 *
 * The job record is written first and holds the payload (it is the job's outbox): from then on the job
 * exists, and its message can always be sent again. So the answer never lies:
 * - 202 once the record is written and the message is sent;
 * - 202 with `queued: false` when the send failed or its outcome is unknown: the job is recorded and the
 *   sweeper sends its message (poll the job; do not submit it again);
 * - 503 only when the record could not be written, with the job id it would have (with an Idempotency-Key
 *   a retry is safe; without one, GET that id first: a lost answer may have recorded it).
 *
 * With an Idempotency-Key the job id is derived from (caller, type, key), so every retry of a submit
 * addresses the same record and the record's conditional put is the deduplication: same key and payload
 * return the job with its real status (a PENDING job's message is sent again, since the first submit may
 * have stopped before sending it; processing absorbs the duplicate); same key, other payload is 422.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { reasonOf } from '../errors';
import type { JobType } from '../jobs/define';
import { safeParse } from 'zod/mini';
import { jobIdForKey, newJobId } from '../jobs/job-id';
import { jsonShapeProblem } from '../jobs/json-shape';
import { encodeMessage, encodeRecordMessage, MAX_MESSAGE_BYTES, MAX_SUBMIT_MESSAGE_BYTES } from '../jobs/message';
import { payloadHash } from '../jobs/payload-hash';
import type { Logger } from '../log';
import type { SubmissionStore } from '../store/submission-store';
import type { JobRecord } from '../store/job-record';
import { callerOf } from './caller';
import { apiUrl, header, json, problem, type ApiResponse } from './http';
import { isServiceFailure } from './service-failure';

export interface QueueTarget {
  url: string;
  fifo: boolean;
}

export interface SubmitDeps {
  jobTypes: readonly JobType[];
  queues: ReadonlyMap<string, QueueTarget>;
  store: SubmissionStore;
  send(queue: QueueTarget, body: string, fifo?: { groupId: string; deduplicationId: string }): Promise<void>;
  log: Logger;
  retentionDays: number;
  /** When the sweeper first looks at a new job that is not finished by then (it sends lost messages again). */
  sweepAfterSeconds: number;
  now?: () => number;
}

const IDEMPOTENCY_KEY = /^[\x20-\x2b\x2d-\x7e]{1,255}$/;
// Fatal on bytes that are not UTF-8; a byte order mark is kept, so JSON.parse refuses it as on the text path.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export async function submitJob(event: APIGatewayProxyEventV2, typeName: string | undefined, deps: SubmitDeps): Promise<ApiResponse> {
  const type = deps.jobTypes.find((t) => t.name === typeName);
  const queue = type && deps.queues.get(type.name);
  if (!type || !queue) {
    return problem(404, 'unknown_job_type', `there is no job type "${typeName ?? ''}"`, { jobTypes: deps.jobTypes.map((t) => t.name) });
  }

  const contentType = header(event, 'content-type');
  if (contentType !== undefined && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType.trim())) {
    return problem(415, 'unsupported_media_type', 'the body must be JSON (content-type: application/json)');
  }

  const key = header(event, 'idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    return problem(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 printable ASCII characters without commas (send the header once)');
  }

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
  if (raw.trim() === '') return problem(400, 'invalid_body', 'the body is empty: send the job\'s payload as JSON');

  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    return problem(400, 'invalid_json', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const shape = jsonShapeProblem(body);
  if (shape) return problem(400, 'invalid_payload', shape);
  const parsed = safeParse(type.schema, body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    return problem(400, 'invalid_payload', `the payload does not match the ${type.name} schema`, { issues });
  }
  const payload = parsed.data;

  const owner = callerOf(event);
  const jobId = key !== undefined ? jobIdForKey(owner, type.name, key) : newJobId();
  const message = encodeMessage(jobId, type.name, payload);
  const messageBytes = Buffer.byteLength(message);
  if (messageBytes > MAX_SUBMIT_MESSAGE_BYTES) {
    return problem(413, 'payload_too_large', `the job's message is ${messageBytes} bytes; the limit is ${MAX_SUBMIT_MESSAGE_BYTES}`);
  }

  const now = (deps.now ?? Date.now)();
  const at = new Date(now).toISOString();
  const groupId = type.queue.fifo ? type.groupKey!(payload) : undefined;
  const job: JobRecord = {
    jobId,
    type: type.name,
    status: 'PENDING',
    generation: 1,
    attempts: 0,
    payloadHash: payloadHash(payload),
    payloadBytes: messageBytes,
    payload: JSON.stringify(payload),
    owner,
    createdAt: at,
    updatedAt: at,
    sweepAt: now + deps.sweepAfterSeconds * 1000,
    expiresAt: Math.floor(now / 1000) + deps.retentionDays * 86_400,
    ...(groupId !== undefined ? { groupId } : {}),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  };
  const log = deps.log.child({ jobId, type: type.name });

  let created: Awaited<ReturnType<SubmissionStore['create']>>;
  try {
    created = await deps.store.create(job);
  } catch (error) {
    if (!isServiceFailure(error)) throw error;
    log.error('could not record the job', { reason: reasonOf(error) });
    const advice = key !== undefined
      ? 'retry with the same Idempotency-Key'
      : `if the answer was lost it may exist: GET ${apiUrl(event, `/jobs/${jobId}`)} before submitting again (an Idempotency-Key makes retries safe)`;
    return problem(503, 'unavailable', `the job could not be recorded; ${advice}`, { jobId }, { 'retry-after': '1' });
  }
  let current = job;
  if (!created.created) {
    const existing = created.existing;
    if (existing.type !== type.name || existing.payloadHash !== job.payloadHash) {
      return problem(422, 'idempotency_key_reused', 'this Idempotency-Key was used for another payload; use a new key for a new job', { jobId: existing.jobId });
    }
    if (existing.status !== 'PENDING') {
      log.info('idempotent resubmit: returning the existing job', { status: existing.status });
      return accepted(event, existing, { replayed: true, queued: true });
    }
    // Still PENDING: the first submit may have stopped between its write and its send. Sending again is
    // safe (a message of a job that already ran is acknowledged without running).
    current = existing;
  }

  const queued = await sendJobMessage(deps, queue, current, log);
  log.info('job submitted', { payloadBytes: messageBytes, replay: !created.created, queued });
  return accepted(event, current, { replayed: !created.created, queued });
}

/**
 * Sends a job's message, rebuilt from its record. False when the send failed or its outcome is unknown:
 * the job is recorded, and the sweeper sends it.
 */
export async function sendJobMessage(deps: Pick<SubmitDeps, 'send'>, queue: QueueTarget, job: JobRecord, log: Logger): Promise<boolean> {
  const fifo = queue.fifo ? { groupId: job.groupId ?? job.jobId, deduplicationId: `${job.jobId}.${job.generation}` } : undefined;
  try {
    await deps.send(queue, encodeRecordMessage(job), fifo);
    return true;
  } catch (error) {
    log.warn('could not send the job\'s message; the sweeper will send it', { reason: reasonOf(error) });
    return false;
  }
}

export function accepted(event: APIGatewayProxyEventV2, job: JobRecord, how: { replayed: boolean; queued: boolean }): ApiResponse {
  const statusUrl = apiUrl(event, `/jobs/${job.jobId}`);
  const body = {
    jobId: job.jobId,
    type: job.type,
    status: job.status,
    statusUrl,
    ...(how.queued ? {} : { queued: false, note: 'the job is recorded and its message will be sent by the sweeper: poll statusUrl, do not submit it again' }),
  };
  return json(202, body, { location: statusUrl, ...(how.replayed ? { 'idempotent-replayed': 'true' } : {}) });
}
