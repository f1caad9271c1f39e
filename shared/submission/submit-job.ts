/**
 * Submitting and reading jobs, without HTTP: what `POST /jobs/{type}` and `GET /jobs/{id}` do once the
 * request is understood, and what `JobClient` does in any Lambda or Node process. The HTTP layer
 * (shared/api/) keeps what is HTTP's own (content type, body encoding, JSON text, headers, URLs, status
 * codes) and maps the outcomes here to its answers.
 *
 * The job record is written first and holds the payload (it is the job's outbox): from then on the job
 * exists, and its message can always be sent again. So the outcome never lies:
 * - accepted once the record is written and the message is sent;
 * - accepted with `queued: false` when the send failed or its outcome is unknown: the job is recorded and
 *   the sweeper sends its message (poll the job; do not submit it again);
 * - unavailable only when the record could not be written, with the job id it would have (with an
 *   idempotency key a retry is safe; without one, read that id first: a lost answer may have recorded it).
 *
 * With an idempotency key the job id is derived from (owner, type, key), so every retry of a submit
 * addresses the same record and the record's conditional put is the deduplication: same key and payload
 * give the job with its real status (a PENDING job's message is sent again, since the first submit may
 * have stopped before sending it; processing absorbs the duplicate); same key, other payload is refused.
 */
import { safeParse } from 'zod/mini';
import { reasonOf } from '../errors';
import type { JobDeclaration } from '../jobs/define';
import { isJobId, jobIdForKey, newJobId } from '../jobs/job-id';
import { jsonShapeProblem } from '../jobs/json-shape';
import { encodeMessage, encodeRecordMessage, MAX_MESSAGE_BYTES, MAX_SUBMIT_MESSAGE_BYTES } from '../jobs/message';
import { payloadHash } from '../jobs/payload-hash';
import { messageDelaySeconds, runAtProblem, submitTiming } from '../jobs/run-at';
import { tenantGroupId } from '../jobs/tenant';
import type { Logger } from '../log';
import { METRIC, type Metrics } from '../metrics';
import type { JobRecord } from '../store/job-record';
import type { CreateResult, SubmissionStore } from '../store/submission-store';
import { isServiceFailure } from '../api/service-failure';
import { callbackUrlProblem } from '../notify/callback-url';

/** The queue of a job type. */
export interface QueueTarget {
  url: string;
  fifo: boolean;
}

/**
 * Sends one message to a job type's queue (with the FIFO group and deduplication id on a FIFO queue, and a
 * delay of up to 15 minutes on a standard queue).
 */
/**
 * A message's group: on a FIFO queue its order group and deduplication id; on a standard queue the job's
 * tenant (SQS fair queues), with no deduplication.
 */
export interface MessageGroup {
  groupId: string;
  deduplicationId?: string;
}

export type SendMessage = (queue: QueueTarget, body: string, group?: MessageGroup, delaySeconds?: number) => Promise<void>;

/** One message of a SendMessageBatch call; `id` is unique within the call. */
export interface BatchEntry {
  id: string;
  body: string;
  group?: MessageGroup;
  delaySeconds?: number;
}

/** Sends up to 10 messages to one queue in one call; returns the ids of the entries the queue refused. */
export type SendMessageBatch = (queue: QueueTarget, entries: readonly BatchEntry[]) => Promise<Set<string>>;

export interface SubmissionDeps {
  /** The declared job types. Only those with a queue in `queues` can be submitted. */
  jobTypes: readonly JobDeclaration[];
  queues: ReadonlyMap<string, QueueTarget>;
  store: SubmissionStore;
  send: SendMessage;
  /** Batch submits send with this, 10 messages a call; without it, one SendMessage per job. */
  sendBatch?: SendMessageBatch;
  log: Logger;
  retentionDays: number;
  /** When the sweeper first looks at a new job that is not finished by then (it sends lost messages again). */
  sweepAfterSeconds: number;
  /** Counts JobsSubmitted, DuplicatesAbsorbed and cancels of waiting jobs (shared/metrics.ts); the caller flushes them. */
  metrics?: Metrics;
  now?: () => number;
}

export interface SubmitRequest {
  /** The job type's name. */
  type: string;
  /** The payload as a JSON value (parsed from JSON text, or see `jsonValueOf`); validated here. */
  payload: unknown;
  /** The caller: owner of the job and scope of its idempotency key. */
  owner: string;
  idempotencyKey?: string;
  /** POSTed the job's final view, signed, at each terminal state (checked by callbackUrlProblem). */
  callbackUrl?: string;
  /** Epoch milliseconds before which the job must not run (see `runAtOf`). */
  runAt?: number;
}

/** One failing field of a payload: its dotted path ('' for the payload itself) and why. */
export interface PayloadIssue {
  path: string;
  message: string;
}

export type SubmitRefusal =
  /** No such job type, or one without a queue here. `jobTypes` names every declared type. */
  | { kind: 'unknown_job_type'; type: string; jobTypes: string[] }
  | { kind: 'invalid_idempotency_key'; reason: string }
  | { kind: 'invalid_callback_url'; reason: string }
  | { kind: 'invalid_delay'; reason: string }
  /** `issues` when the schema refused the payload; without, the payload is not JSON this system carries. */
  | { kind: 'invalid_payload'; reason: string; issues?: PayloadIssue[] }
  | { kind: 'payload_too_large'; reason: string; messageBytes: number; limit: number }
  /** The key was used for another payload (or type): `jobId` is that job. */
  | { kind: 'idempotency_key_reused'; jobId: string }
  /** The record could not be written: `jobId` is the id the job would have had. */
  | { kind: 'unavailable'; jobId: string; cause: unknown };

export type SubmitOutcome = { kind: 'accepted'; job: JobRecord; replayed: boolean; queued: boolean } | SubmitRefusal;

/** 1-255 printable ASCII characters without commas (a comma would join two headers sent as one). */
export const IDEMPOTENCY_KEY = /^[\x20-\x2b\x2d-\x7e]{1,255}$/;

export function isIdempotencyKey(key: unknown): key is string {
  return typeof key === 'string' && IDEMPOTENCY_KEY.test(key);
}

export const IDEMPOTENCY_KEY_RULE = 'an idempotency key must be 1-255 printable ASCII characters without commas';

/** The declaration of a type that can be submitted here (declared, and with a queue), and its queue. */
export function submittableType(deps: Pick<SubmissionDeps, 'jobTypes' | 'queues'>, typeName: string | undefined): { type: JobDeclaration; queue: QueueTarget } | undefined {
  const type = deps.jobTypes.find((t) => t.name === typeName);
  const queue = type && deps.queues.get(type.name);
  return type && queue ? { type, queue } : undefined;
}

/**
 * Validates, records and enqueues one job. Refusals are outcomes, not exceptions; what is thrown is
 * unexpected (a bug, or a store failure that is not the service's, see `isServiceFailure`).
 */
export async function submitJob(deps: SubmissionDeps, request: SubmitRequest): Promise<SubmitOutcome> {
  const outcome = await submitOne(deps, request);
  countAccepted(deps, outcome);
  return outcome;
}

/** A new job is JobsSubmitted; an answer with the job a key names already is DuplicatesAbsorbed. */
export function countAccepted(deps: Pick<SubmissionDeps, 'metrics'>, outcome: SubmitOutcome): void {
  if (outcome.kind === 'accepted') deps.metrics?.count(outcome.replayed ? METRIC.duplicatesAbsorbed : METRIC.submitted, outcome.job.type);
}

async function submitOne(deps: SubmissionDeps, request: SubmitRequest): Promise<SubmitOutcome> {
  const prepared = prepareJob(deps, request);
  if (prepared.kind !== 'prepared') return prepared;
  const recorded = await recordJob(deps, prepared);
  if (recorded.kind !== 'to_send') return recorded;
  const queued = await sendJobMessage(deps, prepared.queue, recorded.job, prepared.log);
  prepared.log.info('job submitted', { payloadBytes: prepared.job.payloadBytes, replay: recorded.replayed, queued });
  return { kind: 'accepted', job: recorded.job, replayed: recorded.replayed, queued };
}

/** A submit that passed every check: its record as it will be written, and its queue. */
export interface PreparedJob {
  kind: 'prepared';
  job: JobRecord;
  queue: QueueTarget;
  log: Logger;
}

/** Checks a submit and builds its record; nothing is written. */
export function prepareJob(deps: SubmissionDeps, request: SubmitRequest): PreparedJob | SubmitRefusal {
  const target = submittableType(deps, request.type);
  if (!target) return { kind: 'unknown_job_type', type: request.type, jobTypes: deps.jobTypes.map((t) => t.name) };
  const { type, queue } = target;
  const key = request.idempotencyKey;
  if (key !== undefined && !isIdempotencyKey(key)) return { kind: 'invalid_idempotency_key', reason: IDEMPOTENCY_KEY_RULE };
  const callbackProblem = request.callbackUrl === undefined ? undefined : callbackUrlProblem(request.callbackUrl);
  if (callbackProblem) return { kind: 'invalid_callback_url', reason: callbackProblem };
  const now = (deps.now ?? Date.now)();
  const delayProblem = request.runAt === undefined ? undefined : runAtProblem(request.runAt, now);
  if (delayProblem) return { kind: 'invalid_delay', reason: delayProblem };

  const shape = jsonShapeProblem(request.payload);
  if (shape) return { kind: 'invalid_payload', reason: shape };
  const parsed = safeParse(type.schema, request.payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    return { kind: 'invalid_payload', reason: `the payload does not match the ${type.name} schema`, issues };
  }
  const payload = parsed.data;

  const owner = request.owner;
  const jobId = key !== undefined ? jobIdForKey(owner, type.name, key) : newJobId();
  const message = encodeMessage(jobId, type.name, payload);
  const messageBytes = Buffer.byteLength(message);
  if (messageBytes > MAX_SUBMIT_MESSAGE_BYTES) {
    return {
      kind: 'payload_too_large',
      reason: `the job's message is ${messageBytes} bytes; the limit is ${MAX_SUBMIT_MESSAGE_BYTES}`,
      messageBytes,
      limit: MAX_SUBMIT_MESSAGE_BYTES,
    };
  }

  const at = new Date(now).toISOString();
  // FIFO: the order group; a standard queue with a tenant key: the tenant, for SQS fair queues.
  const groupId = type.queue.fifo ? type.groupKey!(payload) : type.tenantKey ? tenantGroupId(type.tenantKey(payload, owner)) : undefined;
  const runAt = request.runAt !== undefined && request.runAt > now ? request.runAt : undefined;
  const timing = submitTiming(runAt, now, queue.fifo, deps.sweepAfterSeconds * 1000);
  const job: JobRecord = {
    jobId,
    type: type.name,
    status: timing.status,
    generation: 1,
    attempts: 0,
    payloadHash: payloadHash(payload),
    payloadBytes: messageBytes,
    payload: JSON.stringify(payload),
    owner,
    createdAt: at,
    updatedAt: at,
    sweepAt: timing.sweepAt,
    expiresAt: Math.floor(Math.max(now, runAt ?? 0) / 1000) + deps.retentionDays * 86_400,
    history: [{ state: timing.status, at, generation: 1 }],
    ...(runAt !== undefined ? { runAt } : {}),
    ...(groupId !== undefined ? { groupId } : {}),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
    ...(request.callbackUrl !== undefined ? { callbackUrl: request.callbackUrl } : {}),
  };
  return { kind: 'prepared', job, queue, log: deps.log.child({ jobId, type: type.name }) };
}

/**
 * Writes a prepared job's record (conditional: a job id that exists is a replay of its key). The outcome is
 * final, or `to_send`: the job's message must be sent now (a new PENDING job, or a replay of one still
 * PENDING, whose first submit may have stopped between its write and its send).
 */
export async function recordJob(deps: Pick<SubmissionDeps, 'store'>, prepared: PreparedJob): Promise<RecordOutcome> {
  return recordedOutcome(prepared, await deps.store.create(prepared.job).catch((error: unknown) => ({ error })));
}

/** What recording a job comes to: a final outcome, or `to_send` (see recordJob). */
export type RecordOutcome = SubmitOutcome | { kind: 'to_send'; job: JobRecord; replayed: boolean };

/**
 * The outcome of a prepared job's conditional put, given what the put found (or its error: a service's
 * failure is `unavailable`, anything else a fault thrown on).
 */
export function recordedOutcome(prepared: PreparedJob, created: CreateResult | { error: unknown }): RecordOutcome {
  const { job, log } = prepared;
  if ('error' in created) {
    if (!isServiceFailure(created.error)) throw created.error;
    log.error('could not record the job', { reason: reasonOf(created.error) });
    return { kind: 'unavailable', jobId: job.jobId, cause: created.error };
  }
  let current = job;
  if (!created.created) {
    const existing = created.existing;
    if (existing.type !== job.type || existing.payloadHash !== job.payloadHash) {
      return { kind: 'idempotency_key_reused', jobId: existing.jobId };
    }
    // A SCHEDULED job has no message to send yet: the sweeper sends it at its time.
    if (existing.status !== 'PENDING') {
      log.info('idempotent resubmit: returning the existing job', { status: existing.status });
      return { kind: 'accepted', job: existing, replayed: true, queued: true };
    }
    // Still PENDING: sending again is safe (a message of a job that already ran is acknowledged without running).
    current = existing;
  }
  if (current.status === 'SCHEDULED') {
    log.info('job scheduled', { runAt: new Date(current.runAt!).toISOString(), replay: !created.created });
    return { kind: 'accepted', job: current, replayed: !created.created, queued: true };
  }
  return { kind: 'to_send', job: current, replayed: !created.created };
}

/**
 * Sends a job's message, rebuilt from its record. False when the send failed or its outcome is unknown:
 * the job is recorded, and the sweeper sends it.
 */
export async function sendJobMessage(deps: Pick<SubmissionDeps, 'send' | 'now'>, queue: QueueTarget, job: JobRecord, log: Logger): Promise<boolean> {
  const { body, group, delaySeconds } = messageOf(queue, job, (deps.now ?? Date.now)());
  try {
    await deps.send(queue, body, group, delaySeconds);
    return true;
  } catch (error) {
    log.warn("could not send the job's message; the sweeper will send it", { reason: reasonOf(error) });
    return false;
  }
}

/** A job's message as it is sent: its body (rebuilt from the record), FIFO group and deduplication id or tenant, and delay. */
export function messageOf(queue: QueueTarget, job: JobRecord, now: number): Omit<BatchEntry, 'id'> {
  return {
    body: encodeRecordMessage(job),
    ...(queue.fifo
      ? { group: { groupId: job.groupId ?? job.jobId, deduplicationId: `${job.jobId}.${job.generation}` } }
      : job.groupId !== undefined
        ? { group: { groupId: job.groupId } }
        : {}),
    ...(!queue.fifo && messageDelaySeconds(job.runAt, now) !== undefined ? { delaySeconds: messageDelaySeconds(job.runAt, now) } : {}),
  };
}

/**
 * The job `jobId` of `owner`, or undefined when there is none: not a job id, no record, an expired record,
 * or another owner's job (which reads exactly like a job that does not exist).
 */
export async function getJob(store: SubmissionStore, jobId: string | undefined, owner: string): Promise<JobRecord | undefined> {
  return isJobId(jobId) ? store.get(jobId, owner) : undefined;
}

/**
 * A payload given as a value (not parsed from JSON text) as the JSON value it becomes on the wire: what is
 * validated is what the worker gets. Undefined properties are dropped, dates become strings, as
 * JSON.stringify does. A refusal when it has no JSON form (a BigInt, a cycle, undefined itself) or its
 * JSON text is larger than an SQS message.
 */
export function jsonValueOf(payload: unknown): { ok: true; value: unknown } | { ok: false; refusal: SubmitRefusal } {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    return { ok: false, refusal: { kind: 'invalid_payload', reason: `the payload cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}` } };
  }
  if (text === undefined) return { ok: false, refusal: { kind: 'invalid_payload', reason: 'the payload has no JSON form (it is undefined, a function or a symbol)' } };
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      refusal: {
        kind: 'payload_too_large',
        reason: `the payload's JSON is ${bytes} bytes, more than SQS's ${MAX_MESSAGE_BYTES}; the limit for a job's message is ${MAX_SUBMIT_MESSAGE_BYTES}`,
        messageBytes: bytes,
        limit: MAX_SUBMIT_MESSAGE_BYTES,
      },
    };
  }
  return { ok: true, value: JSON.parse(text) };
}
