// A handler runs against the invocation's deadline: past it, the worker stops waiting (a returned Lambda
// invocation is frozen) and the handler's signal tells it to stop.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TransientError } from '../../shared/errors';
import { DeadlineExceededError, withDeadline } from '../../shared/worker/deadline';

const never = () => new Promise<never>(() => {});

afterEach(() => {
  vi.useRealTimers();
});

describe('withDeadline', () => {
  it('resolves with the work result when the work finishes in time', async () => {
    await expect(withDeadline(Date.now() + 1000, async () => 'done')).resolves.toBe('done');
  });

  it('passes on the work rejection as it is', async () => {
    const failure = new Error('handler failed');
    await expect(withDeadline(Date.now() + 1000, async () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('rejects with DeadlineExceededError (a TransientError, so the job is retried) when the work overruns', async () => {
    const error = await withDeadline(Date.now() + 20, never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/^handler timed out after \d+ ms$/);
  });

  it('aborts the signal at the deadline, with a DeadlineExceededError as its reason', async () => {
    let signal: AbortSignal | undefined;
    await withDeadline(Date.now() + 20, (s) => {
      signal = s;
      return never();
    }).catch(() => undefined);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it('does not abort the signal of work that finished in time', async () => {
    let signal: AbortSignal | undefined;
    await withDeadline(Date.now() + 1000, async (s) => {
      signal = s;
      return 1;
    });
    expect(signal?.aborted).toBe(false);
  });

  it('times out at once when the deadline has passed', async () => {
    const start = Date.now();
    await expect(withDeadline(start - 1000, never)).rejects.toThrow('handler timed out after 0 ms');
    expect(Date.now() - start).toBeLessThan(500);
  });

  it('measures the budget with the injected clock', async () => {
    vi.useFakeTimers();
    const result = withDeadline(1_000_500, never, () => 1_000_000).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(499);
    let settled = false;
    void result.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toBeInstanceOf(DeadlineExceededError);
    expect(((await result) as Error).message).toBe('handler timed out after 500 ms');
  });

  it('clears its timer once the work is done (no timer keeps the process busy)', async () => {
    vi.useFakeTimers();
    await withDeadline(Date.now() + 60_000, async () => 'quick');
    expect(vi.getTimerCount()).toBe(0);
  });
});
