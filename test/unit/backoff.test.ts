// Exponential backoff with jitter: the delay SQS redelivers a failed message after (ChangeMessageVisibility).
import { describe, expect, it } from 'vitest';
import { MAX_VISIBILITY_SECONDS, retryDelaySeconds } from '../../shared/worker/backoff';

const options = { baseSeconds: 2, maxSeconds: 300 };
// The jitter draws a point in the upper half of the capped delay: random() = 0 is its bottom, ~1 its top.
const lowest = () => 0;
const highest = () => 0.999_999;

describe('retryDelaySeconds', () => {
  it('doubles with every attempt: base * 2^(attempt-1) at the top of the jitter range', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelaySeconds(attempt, options, undefined, highest));
    expect(delays).toEqual([2, 4, 8, 16, 32, 64]);
  });

  it('never goes below half of the capped delay (the bottom of the jitter range)', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelaySeconds(attempt, options, undefined, lowest));
    expect(delays).toEqual([1, 2, 4, 8, 16, 32]);
  });

  it('caps the delay at maxSeconds, however many attempts failed', () => {
    expect(retryDelaySeconds(9, options, undefined, highest)).toBe(300); // 2 * 2^8 = 512 > 300
    expect(retryDelaySeconds(9, options, undefined, lowest)).toBe(150);
    // Attempt counts far beyond the exponent limit must not overflow into Infinity or NaN.
    expect(retryDelaySeconds(10_000, options, undefined, highest)).toBe(300);
  });

  it('spreads retries over [capped/2, capped] with the injected random number', () => {
    const attempt = 4; // capped = 16
    const seen = new Set<number>();
    for (let i = 0; i <= 100; i++) {
      const delay = retryDelaySeconds(attempt, options, undefined, () => i / 101);
      expect(delay).toBeGreaterThanOrEqual(8);
      expect(delay).toBeLessThanOrEqual(16);
      seen.add(delay);
    }
    // Jitter actually varies the delay (a constant would not spread a failed batch out).
    expect(seen.size).toBe(9); // 8..16
  });

  it('returns whole seconds, as ChangeMessageVisibility takes', () => {
    for (const r of [0.1, 0.33, 0.5, 0.77, 0.99]) {
      expect(Number.isInteger(retryDelaySeconds(3, { baseSeconds: 1.3, maxSeconds: 100 }, undefined, () => r))).toBe(true);
    }
  });

  it('honours a retry-after hint that asks for longer than the backoff', () => {
    expect(retryDelaySeconds(1, options, 120, highest)).toBe(120);
  });

  it('rounds a fractional retry-after hint up, never retrying earlier than asked', () => {
    expect(retryDelaySeconds(1, { baseSeconds: 1, maxSeconds: 1 }, 2.4, lowest)).toBe(3);
  });

  it('ignores a retry-after hint that asks for less than the backoff', () => {
    expect(retryDelaySeconds(6, options, 3, lowest)).toBe(32);
  });

  it('never exceeds 43200 s, the longest visibility timeout SQS accepts', () => {
    expect(MAX_VISIBILITY_SECONDS).toBe(43_200);
    expect(retryDelaySeconds(1, options, 1_000_000, lowest)).toBe(43_200);
    expect(retryDelaySeconds(40, { baseSeconds: 60, maxSeconds: 10_000_000 }, undefined, highest)).toBe(43_200);
  });

  it('treats attempt 0 or below like the first attempt', () => {
    expect(retryDelaySeconds(0, options, undefined, highest)).toBe(2);
    expect(retryDelaySeconds(-3, options, undefined, highest)).toBe(2);
  });

  it('gives 0 when the backoff is switched off (base 0) and no hint is given', () => {
    expect(retryDelaySeconds(5, { baseSeconds: 0, maxSeconds: 0 }, undefined, highest)).toBe(0);
  });
});
