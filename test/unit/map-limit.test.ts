// The worker runs a batch's records in parallel, up to a limit: results must keep the records' order and
// the limit must hold (it bounds the load one invocation puts on DynamoDB and on webhook targets).
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../shared/worker/map-limit';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs mapLimit with tasks of varying length and measures the most tasks ever in flight at once. */
async function measure(count: number, limit: number) {
  let inFlight = 0;
  let peak = 0;
  const results = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    limit,
    async (item, index) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep((item * 7) % 5); // later items often finish first
      inFlight--;
      return `${item}@${index}`;
    },
  );
  return { results, peak };
}

describe('mapLimit', () => {
  it('keeps the order of the items, whatever order the calls finish in', async () => {
    const { results } = await measure(12, 4);
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => `${i}@${i}`));
  });

  it('never runs more than `limit` calls at once, and does reach the limit', async () => {
    const { peak } = await measure(20, 3);
    expect(peak).toBe(3);
  });

  it('runs all items at once when the limit is above their count', async () => {
    const { peak } = await measure(5, 100);
    expect(peak).toBe(5);
  });

  it('runs one at a time with a limit of 1, and treats 0 or less as 1', async () => {
    expect((await measure(6, 1)).peak).toBe(1);
    expect((await measure(6, 0)).peak).toBe(1);
    expect((await measure(6, -5)).peak).toBe(1);
  });

  it('calls fn exactly once per item', async () => {
    const calls: number[] = [];
    await mapLimit([10, 20, 30, 40, 50], 2, async (item) => {
      calls.push(item);
      await sleep(1);
    });
    expect(calls.sort()).toEqual([10, 20, 30, 40, 50]);
  });

  it('gives an empty list for no items, without calling fn', async () => {
    let called = false;
    expect(await mapLimit([], 4, async () => (called = true))).toEqual([]);
    expect(called).toBe(false);
  });

  it('rejects when a call rejects', async () => {
    await expect(
      mapLimit([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('boom');
        return n;
      }),
    ).rejects.toThrow('boom');
  });
});
