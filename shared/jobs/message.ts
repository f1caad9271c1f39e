/**
 * The SQS message of a job: its id, its type and its payload. The payload travels in the message (up to
 * SQS's 1 MiB), not in the job record, so records stay far below DynamoDB's 400 KB item limit.
 */
import { PermanentError, shortReason } from '../errors';
import { isJobId } from './job-id';
import { jsonShapeProblem } from './json-shape';

export const MESSAGE_VERSION = 1;
/** SQS's maximum message size since 2025; the queues are created with it explicitly. */
export const MAX_MESSAGE_BYTES = 1_048_576;
/** Room kept in every message for the attributes its DLQ copy may carry (reason, ids). */
export const DEAD_LETTER_HEADROOM_BYTES = 4096;
/** The largest job message the API accepts: it fits SQS with room for its DLQ reason. */
export const MAX_SUBMIT_MESSAGE_BYTES = MAX_MESSAGE_BYTES - DEAD_LETTER_HEADROOM_BYTES;

export interface JobMessage {
  v: typeof MESSAGE_VERSION;
  jobId: string;
  type: string;
  payload: unknown;
}

export function encodeMessage(jobId: string, type: string, payload: unknown): string {
  const message: JobMessage = { v: MESSAGE_VERSION, jobId, type, payload };
  return JSON.stringify(message);
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
  return { v: MESSAGE_VERSION, jobId: m.jobId, type: m.type, payload: m.payload };
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
