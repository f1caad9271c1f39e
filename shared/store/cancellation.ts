/**
 * What a cancelled completion transaction means. Item 0 of the transaction is always the job record,
 * conditioned on the job not being SUCCEEDED yet; items 1..n are the handler's own writes.
 *
 * - the job item's condition failed: another delivery completed the job first. A duplicate: acknowledge.
 *   (Without a returned item the record does not exist: the job is unknown.)
 * - the job item conflicted with another transaction (perhaps another delivery of the same job): transient,
 *   even if a handler write's condition failed too, since that may be the other delivery's doing.
 * - a handler write's condition failed: the job's own rule refused it (e.g. a balance check). Permanent.
 * - a ValidationError: the transaction is malformed and will never pass. Permanent.
 * - anything else (TransactionConflict, ThrottlingError, ProvisionedThroughputExceeded...) is transient
 *   and must be retried, never treated as done. DynamoDB Local never reports TransactionConflict; real
 *   DynamoDB does, which is why this is a pure function with unit tests of its own.
 */
import type { CancellationReason } from '@aws-sdk/client-dynamodb';

export type CancellationVerdict =
  | { kind: 'duplicate' }
  | { kind: 'unknown-job' }
  | { kind: 'permanent'; reason: string }
  | { kind: 'transient'; reason: string };

export function classifyCancellation(reasons: readonly CancellationReason[] | undefined): CancellationVerdict {
  const list = reasons ?? [];
  const codes = list.map((r) => r?.Code ?? 'None');
  const summary = `transaction cancelled [${codes.join(', ')}]`;
  const jobReason = list[0];
  // Another delivery of this very job may be committing: whatever the handler's writes say, try again.
  if (jobReason?.Code === 'TransactionConflict') return { kind: 'transient', reason: summary };
  if (jobReason?.Code === 'ConditionalCheckFailed') {
    return jobReason.Item === undefined ? { kind: 'unknown-job' } : { kind: 'duplicate' };
  }
  const failedWrite = codes.findIndex((code, index) => index > 0 && code === 'ConditionalCheckFailed');
  if (failedWrite > 0) return { kind: 'permanent', reason: `the job's write ${failedWrite} was refused by its condition (${summary})` };
  if (codes.includes('ValidationError')) return { kind: 'permanent', reason: `the job's writes are invalid (${summary})` };
  return { kind: 'transient', reason: summary };
}

/** What a cancelled group commit decided for one of its jobs; undefined: nothing, commit it on its own. */
export type GroupVerdict = { kind: 'duplicate' } | { kind: 'unknown-job' } | { kind: 'permanent'; reason: string } | undefined;

/**
 * A group commit (several jobs' completions and writes in one transaction) was cancelled: read each job's
 * own items. The jobs' items never overlap, and conditions are checked against the state before the
 * transaction, so a failed condition belongs to its job alone. Everything else (a conflict, a throttle,
 * or being cancelled because of another job: reason None) decides nothing: that job is committed alone.
 * `sizes[j]` is the number of items of job j (its completion first, then its writes).
 */
export function classifyGroupCancellation(reasons: readonly CancellationReason[] | undefined, sizes: readonly number[]): GroupVerdict[] {
  const list = reasons ?? [];
  let start = 0;
  return sizes.map((size) => {
    const own = list.slice(start, start + size);
    start += size;
    const completion = own[0];
    if (completion?.Code === 'ConditionalCheckFailed') return completion.Item === undefined ? { kind: 'unknown-job' } : { kind: 'duplicate' };
    if (completion?.Code === 'TransactionConflict') return undefined;
    const refused = own.findIndex((r, i) => i > 0 && r?.Code === 'ConditionalCheckFailed');
    if (refused > 0) return { kind: 'permanent', reason: `the job's write ${refused} was refused by its condition (transaction cancelled [${own.map((r) => r?.Code ?? 'None').join(', ')}])` };
    return undefined;
  });
}
