/**
 * The leased path, for jobs with effects outside DynamoDB: claim the job (one conditional write), run the
 * handler, complete while still holding the lease (one conditional write).
 */
import { faultConfig } from '../aws/fault-injection';
import { reasonOf } from '../errors';
import type { JobType } from '../jobs/define';
import { failureOutcome, unknownJob, type Outcome } from './outcome';
import type { WorkerDeps } from './process-batch';
import { runHandler, type ContextBase } from './run-handler';

export async function runLeased(type: JobType, payload: unknown, ctx: ContextBase, owner: string, invocationEnd: number, deps: WorkerDeps, now: () => number): Promise<Outcome> {
  if (type.kind !== 'leased') throw new Error('not a leased job type');
  // The chaos suite shortens leases (where its fault injection is compiled in; see run-handler.ts).
  const leaseMs = process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false' ? faultConfig()?.leaseMs : undefined;
  // The lease lasts as long as this invocation can: once Lambda has stopped it, another worker may take over.
  const leaseUntil = leaseMs ? Math.min(invocationEnd, now() + leaseMs) : invocationEnd;
  let claim;
  try {
    claim = await deps.store.claim(ctx.jobId, owner, leaseUntil);
  } catch (error) {
    return { kind: 'retry', reason: reasonOf(error), mayFail: true };
  }
  if (claim.outcome === 'succeeded') return { kind: 'done', note: 'already succeeded' };
  if (claim.outcome === 'missing') return unknownJob(ctx.jobId);
  if (claim.outcome === 'leased') {
    // Another worker runs it now. Come back once its lease has run out, without counting this as a failure.
    return { kind: 'retry', reason: 'another worker holds the job', delaySeconds: Math.max(1, Math.ceil((claim.leaseUntil - now()) / 1000) + 1), mayFail: false };
  }
  const { log } = ctx;
  try {
    const result = await runHandler(ctx, (c) => type.handler(payload, c));
    const completed = await deps.store.completeLeased(ctx.jobId, owner, result);
    if (completed === 'completed') log.info('job succeeded');
    if (completed === 'lost-lease') {
      log.warn('lease lost before completion; the job will be checked again');
      return { kind: 'retry', reason: 'lease lost before completion', mayFail: false };
    }
    if (completed === 'missing') return unknownJob(ctx.jobId);
    return { kind: 'done', note: completed };
  } catch (error) {
    return failureOutcome(error, { jobId: ctx.jobId, owner, countAttempt: false });
  }
}
