/**
 * What a cancelled completion transaction means for a job. A job's items in the transaction are its
 * completion (the job record, conditioned on the job not being SUCCEEDED yet), then the handler's writes.
 *
 * - the completion's condition failed: another delivery completed the job first (a duplicate: acknowledge),
 *   or the job is FAILED or the message is not its own (not runnable: drop). Without a returned item the
 *   record does not exist: the job is unknown.
 * - the completion conflicted with another transaction (perhaps another delivery of the same job): try
 *   again, even if a handler write's condition failed too, since that may be the other delivery's doing.
 * - a handler write's condition failed: the job's own rule refused it (e.g. a balance check). Permanent.
 * - a ValidationError: the job's writes are malformed and will never pass. Permanent.
 * - anything else (TransactionConflict, ThrottlingError, ProvisionedThroughputExceeded...) is transient
 *   and must be retried, never treated as done. DynamoDB Local never reports TransactionConflict; real
 *   DynamoDB does, which is why these are pure functions with unit tests of their own.
 */
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { fromItem } from './job-record';
import { refusalOf, type Binding, type Refusal } from './binding';

export type CancellationVerdict =
  | { kind: 'duplicate' }
  | { kind: 'unknown-job' }
  | { kind: 'not-runnable'; refusal: Refusal }
  | { kind: 'permanent'; reason: string }
  | { kind: 'conflict'; reason: string }
  | { kind: 'transient'; reason: string };

/** A job committed alone: `reasons` are its items' (its completion first). */
export function classifyCancellation(reasons: readonly CancellationReason[] | undefined, binding: Binding): CancellationVerdict {
  const own = reasons ?? [];
  const summary = `transaction cancelled [${own.map((r) => r?.Code ?? 'None').join(', ')}]`;
  const decided = ownVerdict(own, summary, binding);
  if (decided) return decided;
  if (own.some((r) => r?.Code === 'TransactionConflict')) return { kind: 'conflict', reason: summary };
  if (own.some((r) => r?.Code === 'ValidationError')) return { kind: 'permanent', reason: `the job's writes are invalid (${summary})` };
  return { kind: 'transient', reason: summary };
}

/** What a cancelled group commit decided for one of its jobs; undefined: nothing, commit it on its own. */
export type GroupVerdict = Exclude<CancellationVerdict, { kind: 'transient' } | { kind: 'conflict' }> | undefined;

/**
 * A group commit (several jobs' completions and writes in one transaction) was cancelled: each job is read
 * by its own items. The jobs' items never overlap, and conditions are checked against the state before the
 * transaction, so a failed condition belongs to its job alone. Anything else (a conflict, a throttle, an
 * invalid write, or being cancelled along with another job: reason None) decides nothing: that job is
 * committed alone, where it is classified as above. `sizes[j]` is the number of items of job j.
 */
export function classifyGroupCancellation(reasons: readonly CancellationReason[] | undefined, jobs: readonly { size: number; binding: Binding }[]): GroupVerdict[] {
  let start = 0;
  return jobs.map(({ size, binding }) => {
    const own = (reasons ?? []).slice(start, (start += size));
    return ownVerdict(own, `transaction cancelled [${own.map((r) => r?.Code ?? 'None').join(', ')}]`, binding);
  });
}

/** What one job's own items decide, if anything. */
function ownVerdict(own: readonly CancellationReason[], summary: string, binding: Binding): GroupVerdict {
  const completion = own[0];
  if (completion?.Code === 'TransactionConflict') return undefined;
  if (completion?.Code === 'ConditionalCheckFailed') {
    if (completion.Item === undefined) return { kind: 'unknown-job' };
    const current = fromItem(completion.Item);
    const refusal = refusalOf(current, binding);
    if (refusal) return { kind: 'not-runnable', refusal };
    // SUCCEEDED: another delivery completed it. (A transactional job is never RUNNING.)
    return current.status === 'SUCCEEDED' ? { kind: 'duplicate' } : { kind: 'not-runnable', refusal: { action: 'drop', reason: `the job is ${current.status}` } };
  }
  const refused = own.findIndex((r, i) => i > 0 && r?.Code === 'ConditionalCheckFailed');
  return refused > 0 ? { kind: 'permanent', reason: `the job's write ${refused} was refused by its condition (${summary})` } : undefined;
}
