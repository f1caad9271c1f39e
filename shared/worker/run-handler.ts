/** Runs a job type's handler within its deadline, with the chaos suite's handler faults where compiled in. */
import { faultConfig, injectHandlerFaults, injectResultFaults } from '../aws/fault-injection';
import type { JobContext } from '../jobs/define';
import { withDeadline } from './deadline';

/** A job's context before its handler starts (the abort signal comes with the deadline). */
export type ContextBase = Omit<JobContext, 'signal'>;

export async function runHandler<R>(ctx: ContextBase, run: (ctx: JobContext) => Promise<R>): Promise<R> {
  return withDeadline(ctx.deadline, async (signal) => {
    // Deployed bundles define JOBLINE_BUILD_FAULT_INJECTION as "false" (infra/jobline-function.ts): this
    // check folds to false and the fault injection is left out of them.
    if (process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false') {
      const injected = faultConfig();
      if (injected) {
        await injectHandlerFaults(injected, ctx, signal);
        return injectResultFaults(injected, await run({ ...ctx, signal }), ctx.jobId);
      }
    }
    return run({ ...ctx, signal });
  });
}
