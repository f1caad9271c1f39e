/** What happens to one record of a batch, decided by the worker and applied by settle(). */
import { TransientError, isPermanent, reasonOf } from '../errors';
import { DeadlineExceededError } from './deadline';

export type Outcome =
  | { kind: 'done'; note: string }
  | {
      kind: 'retry';
      reason: string;
      /** False when the job did not fail (held by another worker, lease lost): never marked FAILED for it. */
      mayFail: boolean;
      retryAfterSeconds?: number;
      /** A fixed delay instead of the backoff. */
      delaySeconds?: number;
      owner?: string;
      countAttempt?: boolean;
      /** Write the reason to the job record (and release the lease) so the retry can start at once. */
      recordRetry?: boolean;
    }
  | { kind: 'dead-letter'; reason: string; jobId?: string; owner?: string; countAttempt?: boolean };

export const unknownJob = (jobId: string): Outcome => ({ kind: 'dead-letter', reason: `unknown job ${jobId}: no job record`, jobId });

/** A handler or completion failed: permanent errors park the message, anything else is retried. */
export function failureOutcome(error: unknown, extra: { owner?: string; jobId: string; countAttempt: boolean }): Outcome {
  const reason = reasonOf(error);
  if (isPermanent(error)) return { kind: 'dead-letter', reason, jobId: extra.jobId, owner: extra.owner, countAttempt: extra.countAttempt };
  return {
    kind: 'retry',
    reason,
    mayFail: true,
    retryAfterSeconds: error instanceof TransientError ? error.retryAfterSeconds : undefined,
    owner: extra.owner,
    countAttempt: extra.countAttempt,
    // A handler that timed out may still be running: its lease must run out rather than be released.
    recordRetry: !(extra.owner !== undefined && error instanceof DeadlineExceededError),
  };
}
