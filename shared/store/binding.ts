/**
 * The binding between a message and its job (job-states.ts): a message runs only when its job type, payload
 * hash and generation equal the job record's.
 */
import type { JobRecord } from './job-record';

/** What binds a message to its job: a message runs only when all four equal the job record's. */
export interface Binding {
  jobId: string;
  type: string;
  payloadHash: string;
  generation: number;
}

/** Why a message does not belong to the job it names, if it does not. */
export type Mismatch = 'foreign' | 'stale';

/**
 * `foreign`: another type or payload (put on the queue by hand, or left over from a key reused after its
 * record expired), or a generation that was never started. `stale`: an earlier generation (a redrive of a
 * message after the job was retried). Either way the message is dropped, never run.
 */
export function mismatchOf(job: Pick<JobRecord, 'type' | 'payloadHash' | 'generation'>, binding: Binding): Mismatch | undefined {
  if (job.type !== binding.type || job.payloadHash !== binding.payloadHash || job.generation < binding.generation) return 'foreign';
  if (job.generation > binding.generation) return 'stale';
  return undefined;
}

/**
 * Why a record refuses a message, if it does: `drop` acknowledges it with a log line (a leftover of an
 * earlier generation, or a redrive of a FAILED job); `park` puts it in the DLQ with the reason, without
 * touching the job (a message that is not the job's own: forged, or a key's earlier life), so that the
 * DLQ alarm shows it to an operator.
 */
export interface Refusal {
  action: 'drop' | 'park';
  reason: string;
}

export function refusalOf(job: JobRecord, binding: Binding): Refusal | undefined {
  const mismatch = mismatchOf(job, binding);
  if (mismatch === 'stale') return { action: 'drop', reason: `message of generation ${binding.generation}; the job is in generation ${job.generation}` };
  if (mismatch === 'foreign') return { action: 'park', reason: 'the message does not match its job record (type, payload or generation): not run' };
  if (job.status === 'FAILED') return { action: 'drop', reason: 'the job is FAILED: a message does not re-run it (retry it explicitly)' };
  if (job.status === 'CANCELLED') return { action: 'drop', reason: 'the job is CANCELLED: it never runs (retry it explicitly)' };
  if (job.status === 'SCHEDULED') return { action: 'drop', reason: 'the job is SCHEDULED: its own message is sent when its time comes' };
  return undefined;
}
