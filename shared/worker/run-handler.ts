/** Runs a job type's handler within its deadline, wrapped by the deployment's `around` where it sets one. */
import type { JobContext } from '../jobs/define';
import { withDeadline } from './deadline';
import type { AroundHandler } from './deps';

/** A job's context before its handler starts (the abort signal comes with the deadline). */
export type ContextBase = Omit<JobContext, 'signal'>;

/** `cancel`: a second reason to abort the handler's signal (its caller cancelled a leased job). */
export async function runHandler<R>(ctx: ContextBase, run: (ctx: JobContext) => Promise<R>, around?: AroundHandler, cancel?: AbortSignal): Promise<R> {
  return withDeadline(ctx.deadline, async (deadline) => {
    const signal = cancel ? AbortSignal.any([deadline, cancel]) : deadline;
    const full = { ...ctx, signal };
    return around ? around(full, () => run(full)) : run(full);
  });
}
