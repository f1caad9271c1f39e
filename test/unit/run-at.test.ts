// When a job runs: the query a submit takes (?delay=, ?runAt=), what it makes of the job (PENDING with the
// delay on its message, or SCHEDULED for the sweeper) and the delay each of its messages carries.
import { describe, expect, it } from 'vitest';
import { runAtOf } from '../../shared/api/submit';
import { messageDelaySeconds, MIN_SWEEP_AHEAD_MS, RELEASE_LEAD_MS, submitTiming } from '../../shared/jobs/run-at';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');

describe('runAtOf', () => {
  it('takes whole seconds of delay, or an ISO 8601 time with its zone', () => {
    expect(runAtOf({ delay: '90' }, NOW)).toEqual({ runAt: NOW + 90_000 });
    expect(runAtOf({ delay: '0' }, NOW)).toEqual({ runAt: NOW });
    expect(runAtOf({ runAt: '2026-12-24T18:00:00Z' }, NOW)).toEqual({ runAt: Date.parse('2026-12-24T18:00:00Z') });
    expect(runAtOf({ runAt: '2026-12-24T18:00:00.5+01:00' }, NOW)).toEqual({ runAt: Date.parse('2026-12-24T17:00:00.500Z') });
    expect(runAtOf({}, NOW)).toEqual({});
  });

  it('refuses the rest with the rule', () => {
    for (const query of [
      { delay: '-5' },
      { delay: '1.5' },
      { delay: '1e3' },
      { delay: String(367 * 86_400) },
      { runAt: '2026-12-24T18:00:00' },
      { runAt: 'soon' },
      { runAt: '2028-12-24T18:00:00Z' },
      { delay: '1', runAt: '2026-12-24T18:00:00Z' },
    ]) {
      expect(runAtOf(query, NOW), JSON.stringify(query)).toMatchObject({ problem: expect.stringContaining('delay') });
    }
  });
});

describe('submitTiming', () => {
  it('a job without a run time, or with one SQS can delay to, is PENDING, first swept after its run time', () => {
    expect(submitTiming(undefined, NOW, false, 300_000)).toEqual({ status: 'PENDING', sweepAt: NOW + 300_000 });
    expect(submitTiming(NOW + 900_000, NOW, false, 300_000)).toEqual({ status: 'PENDING', sweepAt: NOW + 1_200_000 });
  });

  it('a later one is SCHEDULED and released 14 minutes ahead; on FIFO every delay is SCHEDULED, released when due', () => {
    expect(submitTiming(NOW + 3_600_000, NOW, false, 300_000)).toEqual({ status: 'SCHEDULED', sweepAt: NOW + 3_600_000 - RELEASE_LEAD_MS });
    expect(submitTiming(NOW + 3_600_000, NOW, true, 300_000)).toEqual({ status: 'SCHEDULED', sweepAt: NOW + 3_600_000 });
  });

  it('never sets a sweep time so close that the cursor could pass it before the index shows it', () => {
    expect(submitTiming(NOW + 1000, NOW, true, 300_000)).toEqual({ status: 'SCHEDULED', sweepAt: NOW + MIN_SWEEP_AHEAD_MS });
  });
});

describe('messageDelaySeconds', () => {
  it('is what is left of the delay, rounded up, at most 900 s, and none when due', () => {
    expect(messageDelaySeconds(NOW + 1_500, NOW)).toBe(2);
    expect(messageDelaySeconds(NOW + 3_600_000, NOW)).toBe(900);
    expect(messageDelaySeconds(NOW, NOW)).toBeUndefined();
    expect(messageDelaySeconds(undefined, NOW)).toBeUndefined();
  });
});
