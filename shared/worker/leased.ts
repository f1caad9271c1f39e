/**
 * The leased path, for jobs with effects outside DynamoDB: claim the job (one conditional write, which also
 * checks that the message is bound to the job), run the handler, complete while still holding the lease
 * (one conditional write).
 */
import { reasonOf } from '../errors';
import type { JobType } from '../jobs/define';
import type { Binding } from '../store/binding';
import type { LeasedDeps } from './deps';
import { failureOutcome, refused, unknownJob, type Outcome } from './outcome';
import { runHandler, type ContextBase } from './run-handler';
import { watchCancel } from './cancel-watch';

/**
 * A lease outlasts its invocation by this much, so that a worker whose clock runs a little ahead cannot
 * take a job whose handler may still be running (Lambda stops it at the invocation's end).
 */
export const LEASE_CLOCK_SKEW_MS = 5000;

export async function runLeased(
  type: JobType,
  binding: Binding,
  payload: unknown,
  ctx: ContextBase,
  owner: string,
  invocationEnd: number,
  deps: LeasedDeps,
  now: () => number,
): Promise<Outcome> {
  if (type.kind !== 'leased') throw new Error('not a leased job type');
  const lease = invocationEnd + LEASE_CLOCK_SKEW_MS;
  // A shorter lease where the deployment asks for one (the chaos suite's, to make leases run out mid-job).
  const leaseUntil = deps.leaseMs ? Math.min(lease, now() + deps.leaseMs) : lease;
  let claim;
  try {
    claim = await deps.store.claim(binding, owner, leaseUntil, ctx.attempt);
  } catch (error) {
    return { kind: 'retry', reason: reasonOf(error), mayFail: true, binding };
  }
  if (claim.outcome === 'succeeded') return { kind: 'done', note: 'already succeeded' };
  if (claim.outcome === 'missing') return unknownJob(ctx.jobId);
  if (claim.outcome === 'not-runnable') return refused(ctx.jobId, claim.refusal);
  if (claim.outcome === 'early') {
    // Not before its time: come back then. Not a failure; on its last receive it is acknowledged, and the
    // sweeper sends the job's message again after its time (its sweep comes after the run time).
    const delaySeconds = Math.max(1, Math.ceil((claim.runAt - now()) / 1000));
    return { kind: 'retry', reason: 'the job is not due yet', delaySeconds, mayFail: false, heldElsewhere: true, binding };
  }
  if (claim.outcome === 'cancel-requested') {
    const stopped = await deps.store.stop(binding, 'cancelled by its caller while it ran; no worker holds it any more', { attempt: ctx.attempt });
    return stopped ? { kind: 'done', note: 'cancelled' } : { kind: 'retry', reason: 'the cancelled job moved on; looking again', mayFail: false, heldElsewhere: true, binding };
  }
  if (claim.outcome === 'leased') {
    // Another worker runs it now. Come back once its lease has run out, without counting this as a failure.
    const delaySeconds = Math.max(1, Math.ceil((claim.leaseUntil - now()) / 1000) + 1);
    return { kind: 'retry', reason: 'another worker holds the job', delaySeconds, mayFail: false, heldElsewhere: true, binding };
  }
  const { log } = ctx;
  const cancel = watchCancel(() => deps.store.cancelRequested(ctx.jobId));
  try {
    const result = await runHandler(ctx, (c) => type.handler(payload, c), deps.aroundHandler, cancel.signal);
    cancel.stop();
    // The handler returned: its effect happened, so the job SUCCEEDED even if a cancel came meanwhile.
    const completed = await deps.store.completeLeased(binding, owner, result, ctx.attempt);
    if (completed === 'completed') log.info('job succeeded');
    if (completed === 'lost-lease') {
      log.warn('lease lost before completion; the job will be checked again');
      return { kind: 'retry', reason: 'lease lost before completion', mayFail: false, heldElsewhere: true, binding };
    }
    if (completed === 'missing') return unknownJob(ctx.jobId);
    return { kind: 'done', note: completed };
  } catch (error) {
    cancel.stop();
    // The handler stopped by throwing after its caller cancelled the job: it stopped before its effect.
    if (cancel.requested && (await stopQuietly(deps, binding, owner, ctx.attempt))) {
      log.info('job cancelled while it ran: its handler stopped');
      return { kind: 'done', note: 'cancelled' };
    }
    return failureOutcome(error, { binding, owner, countAttempt: false });
  }
}

async function stopQuietly(deps: LeasedDeps, binding: Binding, owner: string, attempt: number): Promise<boolean> {
  try {
    return await deps.store.stop(binding, 'cancelled by its caller; the handler stopped', { owner, attempt });
  } catch {
    return false; // the failure path releases or fails the job as usual; the sweeper stops it later
  }
}
