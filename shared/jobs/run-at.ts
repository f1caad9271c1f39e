/**
 * When a job runs: a submit may ask for a delay or a run time up to a year ahead. SQS can hold a message
 * back for up to 15 minutes on a standard queue (DelaySeconds); a job due later, or any delayed job on a
 * FIFO queue (where SQS delays only whole queues), is SCHEDULED and its message sent by the sweeper, which
 * walks jobs in time order anyway (see docs/state-machine.md for why this and not EventBridge Scheduler).
 */
/** SQS holds a message back for at most 15 minutes (DelaySeconds, standard queues only). */
export const MAX_MESSAGE_DELAY_SECONDS = 900;
/** The longest delay a submit takes: a year. */
export const MAX_DELAY_SECONDS = 366 * 86_400;
/**
 * A SCHEDULED job on a standard queue is released this long before its run time, and its message carries
 * the rest as DelaySeconds: released on time to the second while the sweeper runs once a minute.
 */
export const RELEASE_LEAD_MS = 14 * 60_000;

/** Why a run time cannot be taken, if it cannot. */
export function runAtProblem(runAt: number, now: number): string | undefined {
  if (!Number.isFinite(runAt)) return 'the run time is not a time';
  if (runAt > now + MAX_DELAY_SECONDS * 1000) return `the run time is more than ${MAX_DELAY_SECONDS / 86_400} days ahead`;
  return undefined;
}

/**
 * What a new job's run time makes of it: PENDING with its message sent now (a delay SQS can carry), or
 * SCHEDULED, its message sent by the sweeper (a run time further ahead, or any delay on a FIFO queue,
 * where SQS delays only whole queues). The sweep time is when the sweeper first looks at it.
 */
export function submitTiming(runAt: number | undefined, now: number, fifo: boolean, sweepAfterMs: number): { status: 'PENDING' | 'SCHEDULED'; sweepAt: number } {
  if (runAt === undefined || (!fifo && runAt - now <= MAX_MESSAGE_DELAY_SECONDS * 1000)) return { status: 'PENDING', sweepAt: Math.max(now, runAt ?? 0) + sweepAfterMs };
  // The sweeper reads its index a little behind now (it is eventually consistent): an entry due sooner
  // than that after its write could be passed by the cursor before it shows.
  return { status: 'SCHEDULED', sweepAt: Math.max(fifo ? runAt : runAt - RELEASE_LEAD_MS, now + MIN_SWEEP_AHEAD_MS) };
}

/** A sweep time is at least this far ahead of its write (five times the sweeper's index lag). */
export const MIN_SWEEP_AHEAD_MS = 10_000;

/** The DelaySeconds of a message of a job due at `runAt` (none when it is due). */
export function messageDelaySeconds(runAt: number | undefined, now: number): number | undefined {
  if (runAt === undefined || runAt <= now) return undefined;
  return Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.ceil((runAt - now) / 1000));
}
