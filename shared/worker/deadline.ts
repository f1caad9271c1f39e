import { TransientError } from '../errors';

/** The handler ran past its deadline. Its lease is left to expire, since the handler may still be running. */
export class DeadlineExceededError extends TransientError {}

let abandoned = 0;

/**
 * Handlers that ran past their deadline and have not returned yet. Lambda freezes an environment between
 * invocations and thaws it for the next one, where such a handler would carry on after its lease has
 * expired and another worker may run the job: the worker's entry point ends the environment instead.
 */
export function abandonedHandlers(): number {
  return abandoned;
}

/**
 * Runs `work` with an AbortSignal that fires at `deadline` (epoch ms), and stops waiting for it then.
 * A Lambda invocation that returned is frozen, so a handler that ignores its signal is not awaited past
 * the point where the batch must still be reported.
 */
export async function withDeadline<T>(deadline: number, work: (signal: AbortSignal) => Promise<T>, now: () => number = Date.now): Promise<T> {
  const controller = new AbortController();
  const budget = Math.max(0, deadline - now());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new DeadlineExceededError(`handler timed out after ${budget} ms`));
      reject(new DeadlineExceededError(`handler timed out after ${budget} ms`));
    }, budget);
  });
  const running = work(controller.signal);
  try {
    return await Promise.race([running, timeout]);
  } catch (error) {
    if (error instanceof DeadlineExceededError) {
      abandoned++;
      const settled = () => void abandoned--;
      running.then(settled, settled);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
