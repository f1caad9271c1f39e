// withTimeout: a call's own timeout combined with its job's signal, which a garbage collection must not take away.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../shared/abort';

// A full collection on demand, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** When `signal` aborted (ms after the start), or 'never' if it did not within `waitMs`. */
function abortedWithin(signal: AbortSignal, waitMs: number): Promise<number | 'never'> {
  const started = Date.now();
  return new Promise((resolve) => {
    const giveUp = setTimeout(() => resolve('never'), waitMs);
    signal.addEventListener('abort', () => {
      clearTimeout(giveUp);
      resolve(Date.now() - started);
    });
  });
}

describe('withTimeout', () => {
  it('aborts when its time is up, with a TimeoutError, even after a garbage collection', async () => {
    const parent = new AbortController();
    const { signal, clear } = withTimeout(parent.signal, 300);
    const aborted = abortedWithin(signal, 5000);
    // Node's AbortSignal.timeout() inside AbortSignal.any() does not survive this (nodejs/node#57736).
    setTimeout(gc, 50);
    expect(await aborted).not.toBe('never');
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect((signal.reason as DOMException).message).toBe('The operation was aborted due to timeout');
    clear();
  });

  it('aborts at once when the parent does, with the parent reason', async () => {
    const parent = new AbortController();
    const { signal, clear } = withTimeout(parent.signal, 60_000);
    const aborted = abortedWithin(signal, 5000);
    parent.abort(new Error("the job's deadline passed"));
    expect(await aborted).not.toBe('never');
    expect((signal.reason as Error).message).toBe("the job's deadline passed");
    clear();
  });

  it('does not abort once cleared', async () => {
    const { signal, clear } = withTimeout(new AbortController().signal, 50);
    clear();
    expect(await abortedWithin(signal, 300)).toBe('never');
  });
});
