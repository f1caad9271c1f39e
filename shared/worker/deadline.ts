import { TransientError } from '../errors';

/** The handler ran past its deadline. Its lease is left to expire, since the handler may still be running. */
export class DeadlineExceededError extends TransientError {}

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
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
