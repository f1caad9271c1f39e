/**
 * The SQS message of a job: its id, its type, its generation and its payload. The worker runs a message only
 * when its type, generation and payload hash equal the job record's (shared/store/job-states.ts), so a
 * message put on a queue by hand, or left over from an earlier generation, cannot run.
 */
import { PermanentError, shortReason } from '../errors';
import { isJobId } from './job-id';
import { jsonShapeProblem } from './json-shape';

export const MESSAGE_VERSION = 1;
/** SQS's maximum message size since 2025; the queues are created with it explicitly. */
export const MAX_MESSAGE_BYTES = 1_048_576;
/** Room kept in every message for the attributes its DLQ copy may carry (reason, ids). */
export const DEAD_LETTER_HEADROOM_BYTES = 4096;
/**
 * The largest job message the API accepts: 256 KiB. The job record keeps the payload (so the message can
 * always be sent again: a lost send, a sweep, a retry), and a DynamoDB item stops at 400 KB.
 */
export const MAX_SUBMIT_MESSAGE_BYTES = 256 * 1024;
/**
 * The message attribute a delayed message is sent with (its DelaySeconds, as a Number): SQS's record of the
 * message does not say it was delayed, and the worker's QueueWait metric starts when the delay ends.
 */
export const DELAY_ATTRIBUTE = 'jobline-delay-seconds';

export interface JobMessage {
  v: typeof MESSAGE_VERSION;
  jobId: string;
  type: string;
  /** The job's generation (1 until an explicit retry); messages without one are of generation 1. */
  gen: number;
  payload: unknown;
}

export function encodeMessage(jobId: string, type: string, payload: unknown, generation = 1): string {
  const message: JobMessage = { v: MESSAGE_VERSION, jobId, type, gen: generation, payload };
  return JSON.stringify(message);
}

/** The message of a job rebuilt from its record, whose payload is stored as JSON text. */
export function encodeRecordMessage(job: { jobId: string; type: string; generation: number; payload: string }): string {
  return `{"v":${MESSAGE_VERSION},"jobId":${JSON.stringify(job.jobId)},"type":${JSON.stringify(job.type)},"gen":${job.generation},"payload":${job.payload}}`;
}

/** Reads a message body; anything that is not a well-formed job message is a permanent error. */
export function decodeMessage(body: string): JobMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PermanentError('malformed message: body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PermanentError('malformed message: body is not a JSON object');
  }
  const shape = jsonShapeProblem(parsed);
  if (shape) throw new PermanentError(`malformed message: ${shape}`);
  const m = parsed as Partial<JobMessage>;
  if (m.v !== MESSAGE_VERSION) throw new PermanentError(shortReason(`malformed message: unsupported version ${JSON.stringify(m.v)}`));
  if (!isJobId(m.jobId)) throw new PermanentError('malformed message: jobId is missing or not a job id');
  if (typeof m.type !== 'string') throw new PermanentError('malformed message: type is missing');
  if (!('payload' in m)) throw new PermanentError('malformed message: payload is missing');
  const gen = m.gen ?? 1;
  if (!Number.isSafeInteger(gen) || gen < 1) throw new PermanentError('malformed message: gen is not a positive integer');
  return { v: MESSAGE_VERSION, jobId: m.jobId, type: m.type, gen, payload: m.payload };
}

/** Best effort: the job id of a body that may be malformed otherwise, so its job can still be failed. */
export function jobIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { jobId?: unknown } | null;
    return isJobId(parsed?.jobId) ? parsed.jobId : undefined;
  } catch {
    return undefined;
  }
}
