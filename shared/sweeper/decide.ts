/**
 * The sweeper's decision for one job that is due (pure, so it is unit-tested): a job that is not terminal
 * and has made no progress for its type's stale time has lost its message (a submit that stopped before
 * its send, a message SQS expired, a worker that died on its last receive). Its message is sent again
 * (sending again is safe: processing is idempotent), with growing spacing (up to an hour) for jobs that
 * only wait in a backlog. A job whose attempts are spent is given up: FAILED, its message copied to the
 * DLQ. A job no worker took is given up only once it made no progress for longer than its queue keeps a
 * message: until then its first message may still be waiting behind a backlog (a queue hours behind is
 * normal SQS), and failing it would fail a job that never ran.
 */
import type { JobRecord } from '../store/job-record';
import { isTerminal } from '../store/job-states';
import { RELEASE_LEAD_MS } from '../jobs/run-at';
import type { SweepTypeConfig } from './config';

/** The spacing of a job's re-sends doubles each time, up to this. */
export const MAX_RESEND_SPACING_MS = 3_600_000;

export type SweepDecision =
  | { action: 'skip' }
  | { action: 'postpone'; until: number }
  | { action: 'resend'; nextSweepAt: number }
  | { action: 'give-up'; reason: string }
  /** A SCHEDULED job whose time is near (standard queue: the message carries the rest) or has come (FIFO). */
  | { action: 'enqueue'; nextSweepAt: number }
  /** A RUNNING job whose caller cancelled it and whose worker is gone (its lease expired). */
  | { action: 'stop'; reason: string };

export function decideSweep(job: JobRecord, type: SweepTypeConfig | undefined, now: number): SweepDecision {
  if (isTerminal(job.status)) return { action: 'skip' };
  // A type that is no longer deployed: nothing can run the job; look again in an hour (a redeploy may bring it back).
  if (!type) return { action: 'postpone', until: now + 3_600_000 };
  const staleMs = type.staleSeconds * 1000;
  if (job.status === 'SCHEDULED') {
    const runAt = job.runAt ?? now;
    const releaseAt = type.fifo ? runAt : runAt - RELEASE_LEAD_MS;
    if (now < releaseAt) return { action: 'postpone', until: releaseAt };
    return { action: 'enqueue', nextSweepAt: Math.max(now, runAt) + staleMs };
  }
  if (job.status === 'RUNNING' && (job.leaseUntil ?? 0) > now) return { action: 'postpone', until: job.leaseUntil! + staleMs };
  if (job.status === 'RUNNING' && job.cancelRequested) return { action: 'stop', reason: 'cancelled by its caller while it ran; its worker stopped (the lease expired)' };
  // A delayed job makes no progress before its time: its sweep counts from then.
  const lastProgress = Math.max(Date.parse(job.updatedAt) || 0, job.leaseUntil ?? 0, job.runAt ?? 0);
  if (now - lastProgress < staleMs) return { action: 'postpone', until: lastProgress + staleMs };
  if (job.attempts >= type.maxReceiveCount) {
    return {
      action: 'give-up',
      reason: `gave up after ${job.attempts} attempts: no worker finished the job (the last one stopped: a crash or a timeout)${job.error ? `; last error: ${job.error}` : ''}`,
    };
  }
  const sweeps = job.sweeps ?? 0;
  // A re-send is not progress (it leaves updatedAt alone): every message sent before lastProgress has
  // expired once the queue's retention has passed since then.
  if (sweeps > 0 && now - lastProgress > type.retentionSeconds * 1000) {
    const days = ((now - lastProgress) / 86_400_000).toFixed(1);
    return { action: 'give-up', reason: `gave up: no worker took the job in ${days} days, longer than its queue keeps a message (sent again ${sweeps} times)` };
  }
  return { action: 'resend', nextSweepAt: now + Math.min(MAX_RESEND_SPACING_MS, staleMs * 2 ** sweeps) };
}
