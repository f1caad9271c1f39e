/**
 * POST /jobs/{type}: validate, record, enqueue, answer 202.
 *
 * With an Idempotency-Key the job id is derived from (type, key), so every retry of a submit addresses the
 * same record and the record's conditional put is the deduplication: same key and same payload return
 * the same job and send no second message; same key with another payload is 422. The record notes when
 * its message is on the queue, so a retry after a failed send enqueues it then.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { reasonOf } from '../errors';
import type { JobType } from '../jobs/define';
import { safeParse } from 'zod/mini';
import { jobIdForKey, newJobId } from '../jobs/job-id';
import { jsonShapeProblem } from '../jobs/json-shape';
import { encodeMessage, MAX_MESSAGE_BYTES, MAX_SUBMIT_MESSAGE_BYTES } from '../jobs/message';
import { payloadHash } from '../jobs/payload-hash';
import type { Logger } from '../log';
import type { SubmissionStore } from '../store/submission-store';
import type { JobRecord } from '../store/job-record';
import { apiUrl, header, json, problem, type ApiResponse } from './http';

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

  const jobId = key !== undefined ? jobIdForKey(type.name, key) : newJobId();
  const message = encodeMessage(jobId, type.name, payload);
  const messageBytes = Buffer.byteLength(message);
  if (messageBytes > MAX_SUBMIT_MESSAGE_BYTES) {
    return problem(413, 'payload_too_large', `the job's message is ${messageBytes} bytes; the limit is ${MAX_SUBMIT_MESSAGE_BYTES}`);
  }

  const now = (deps.now ?? Date.now)();
  const at = new Date(now).toISOString();
  const job: JobRecord = {
    jobId,
    type: type.name,
    status: 'PENDING',
    attempts: 0,
    payloadHash: payloadHash(payload),
    payloadBytes: messageBytes,
    enqueued: false,
    createdAt: at,
    updatedAt: at,
    expiresAt: Math.floor(now / 1000) + deps.retentionDays * 86_400,
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  };
  const log = deps.log.child({ jobId, type: type.name });

  const created = await deps.store.create(job);
  let current = job;
  if (!created.created) {
    const existing = created.existing;
    if (existing.type !== type.name || existing.payloadHash !== job.payloadHash) {
      return problem(422, 'idempotency_key_reused', 'this Idempotency-Key was used for another payload; use a new key for a new job', { jobId: existing.jobId });
    }
    if (existing.enqueued) {
      log.info('idempotent resubmit: returning the existing job', { status: existing.status });
      return accepted(event, existing, true);
    }
    // The first submit recorded the job but could not send its message: send it now.
    await deps.store.reopenForEnqueue(jobId);
    current = { ...existing, status: 'PENDING' };
  }

  const fifo = type.queue.fifo ? { groupId: type.groupKey!(payload), deduplicationId: jobId } : undefined;
  try {
    await deps.send(queue, message, fifo);
  } catch (error) {
    const reason = `could not enqueue the job: ${reasonOf(error)}`;
    log.error('enqueue failed', { reason });
    await deps.store.markEnqueueFailed(jobId, reason).catch((e) => log.error('could not record the enqueue failure', { reason: reasonOf(e) }));
    const advice = key !== undefined ? 'retry with the same Idempotency-Key' : 'retry';
    return problem(503, 'enqueue_failed', `the job was recorded but could not be queued; ${advice}`, { jobId }, { 'retry-after': '1' });
  }
  await deps.store.markEnqueued(jobId);
  log.info('job submitted', { payloadBytes: messageBytes, replay: !created.created });
  return accepted(event, current, !created.created);
}

function accepted(event: APIGatewayProxyEventV2, job: JobRecord, replayed: boolean): ApiResponse {
  const statusUrl = apiUrl(event, `/jobs/${job.jobId}`);
  return json(202, { jobId: job.jobId, type: job.type, status: job.status, statusUrl }, { location: statusUrl, ...(replayed ? { 'idempotent-replayed': 'true' } : {}) });
}
