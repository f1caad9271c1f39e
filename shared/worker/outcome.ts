/** What happens to one record of a batch, decided by the worker and applied by settle(). */
import { TransientError, isPermanent, reasonOf } from '../errors';
import type { Binding, Refusal } from '../store/binding';
import { DeadlineExceededError } from './deadline';

export type Outcome =
  | { kind: 'done'; note: string }
  /** The message is not this job's to run (forged, stale, or its job is FAILED): acknowledged, not run. */
  | { kind: 'drop'; reason: string }
  | {
      kind: 'retry';
      reason: string;
      /** False when the job did not fail (held by another worker, lease lost): never marked FAILED for it. */
      mayFail: boolean;
      /** Another worker holds the job (and its own message): on the last receive this one is acknowledged. */
      heldElsewhere?: boolean;
      retryAfterSeconds?: number;
      /** A fixed delay instead of the backoff. */
      delaySeconds?: number;
      /** The job this message is bound to: the record writes of settle() need it. */
      binding?: Binding;
      owner?: string;
      countAttempt?: boolean;
      /**
       * What goes on the job record: `release`, the reason, and the lease is released so that the retry can
       * start at once; `time out`, the reason, and the lease is kept (the handler may still be running).
       */
      record?: 'release' | 'time out';
      /** The frames of the error's stack, when the handler or the completion threw (stackOf). */
      stack?: string;
    }
  /**
   * Over a limit (shared/limits/admission.ts): sent back to its queue as a copy delayed by `delaySeconds`
   * with `attributes` added, and this message acknowledged, so the wait uses none of the job's receives.
   */
  | { kind: 'defer'; reason: string; delaySeconds: number; attributes: Record<string, string>; binding: Binding }
  /** Parked in the DLQ; with a binding the job is FAILED too (a malformed message fails no job). */
  | { kind: 'dead-letter'; reason: string; jobId?: string; binding?: Binding; owner?: string; countAttempt?: boolean; stack?: string };

/** A message its job refuses: dropped, or parked in the DLQ without touching the job. */
export const refused = (jobId: string, refusal: Refusal): Outcome =>
  refusal.action === 'drop' ? { kind: 'drop', reason: refusal.reason } : { kind: 'dead-letter', reason: refusal.reason, jobId };

export const unknownJob = (jobId: string): Outcome => ({ kind: 'dead-letter', reason: `unknown job ${jobId}: no job record`, jobId });

/**
 * The frames of an error's stack, one a line ("at callWebhook (…/app/jobs/webhook/handler.ts:135:9)": the
 * TypeScript source where the bundle has a source map), without its first line: that is the message, which
 * the reason carries already and which may quote a payload. Undefined when the error has no frames.
 */
export function stackOf(error: unknown): string | undefined {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  const frames = stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .map((line) => line.trim());
  return frames.length > 0 ? frames.join('\n') : undefined;
}

/** A handler or completion failed: permanent errors park the message, anything else is retried. */
export function failureOutcome(error: unknown, extra: { owner?: string; binding: Binding; countAttempt: boolean }): Outcome {
  const reason = reasonOf(error);
  const stack = stackOf(error);
  if (isPermanent(error))
    return { kind: 'dead-letter', reason, jobId: extra.binding.jobId, binding: extra.binding, owner: extra.owner, countAttempt: extra.countAttempt, ...(stack ? { stack } : {}) };
  return {
    kind: 'retry',
    reason,
    mayFail: true,
    retryAfterSeconds: error instanceof TransientError ? error.retryAfterSeconds : undefined,
    binding: extra.binding,
    owner: extra.owner,
    countAttempt: extra.countAttempt,
    // A handler that timed out may still be running: its lease must run out rather than be released.
    record: extra.owner !== undefined && error instanceof DeadlineExceededError ? 'time out' : 'release',
    ...(stack ? { stack } : {}),
  };
}
