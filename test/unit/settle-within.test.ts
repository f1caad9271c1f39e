import { describe, expect, it } from 'vitest';
import { settleWithin } from '../../local/settle-within';

describe('settleWithin', () => {
  it('returns as soon as the work has settled, rejections included', async () => {
    const started = Date.now();
    await settleWithin([Promise.resolve(1), Promise.reject(new Error('boom'))], 10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up on work that outlives the grace', async () => {
    let settled = false;
    await settleWithin([new Promise(() => {})], 50).then(() => (settled = true));
    expect(settled).toBe(true);
  });

  it('waits for work that ends within the grace', async () => {
    let done = false;
    const work = new Promise<void>((resolve) => setTimeout(() => ((done = true), resolve()), 30));
    await settleWithin([work], 10_000);
    expect(done).toBe(true);
  });
});
