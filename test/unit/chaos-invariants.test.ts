// The chaos suite's invariants must be able to fail: each broken world below is caught.
import { describe, expect, it } from 'vitest';
import { callsUnderLiveLease, checkInvariants, type Observation } from '../chaos/invariants';

function world(overrides: Partial<Observation> = {}): Observation {
  return {
    jobs: [
      { jobId: 't1', type: 'transfer', status: 'SUCCEEDED', transfer: { from: 'a', to: 'b', amount: 5 } },
      { jobId: 't2', type: 'transfer', status: 'SUCCEEDED', transfer: { from: 'b', to: 'c', amount: 2 } },
      { jobId: 'w1', type: 'webhook', status: 'SUCCEEDED' },
      { jobId: 'w2', type: 'webhook', status: 'FAILED' },
    ],
    unsubmitted: 0,
    balances: new Map([['a', -5], ['b', 3], ['c', 2]]),
    deadLettered: new Set(['w2']),
    webhookCalls: new Map([['w1', 2], ['w2', 1]]),
    ...overrides,
  };
}

describe('chaos invariants', () => {
  it('hold in a consistent world', () => {
    const verdict = checkInvariants(world());
    expect(verdict).toMatchObject({ lost: 0, doubleApplied: 0, failed: 1, failedInDlq: 1, ledgerSum: 0, webhookKeysMissing: 0, webhookCallsPerKey: 2, problems: [] });
  });

  it('catch a transfer applied twice', () => {
    const verdict = checkInvariants(world({ balances: new Map([['a', -10], ['b', 8], ['c', 2]]) }));
    expect(verdict.doubleApplied).toBe(2);
    expect(verdict.problems).toHaveLength(1);
  });

  it('catch a transfer applied but never marked SUCCEEDED, and money created from nothing', () => {
    const jobs = world().jobs.map((j) => (j.jobId === 't2' ? { ...j, status: 'PENDING' } : j));
    const verdict = checkInvariants(world({ jobs, deadLettered: new Set(['w2', 't2']), balances: new Map([['a', -5], ['b', 3], ['c', 3]]) }));
    expect(verdict.lost).toBe(1);
    expect(verdict.doubleApplied).toBe(2);
    expect(verdict.ledgerSum).toBe(1);
  });

  it('catch a FAILED job whose message is not in a DLQ, and a job never submitted', () => {
    const verdict = checkInvariants(world({ deadLettered: new Set(), unsubmitted: 2 }));
    expect(verdict.lost).toBe(3);
    expect(verdict.failedInDlq).toBe(0);
  });

  it('catch a SUCCEEDED webhook the receiver never saw', () => {
    const verdict = checkInvariants(world({ webhookCalls: new Map([['w2', 1]]) }));
    expect(verdict.webhookKeysMissing).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });
});

describe('calls under a live lease', () => {
  it('are calls of one job that overlap while the first call\'s lease still runs', () => {
    // Lease 1 s: a second call 10 ms into the first one ran under a live lease; one 600 ms in may not
    // have (the first worker may have stalled up to LEASE_SLACK_MS between its claim and its call).
    expect(callsUnderLiveLease(new Map([['k', [[0, 1200], [10, 50]]]]), 1000)).toBe(1);
    expect(callsUnderLiveLease(new Map([['k', [[0, 1200], [600, 650]]]]), 1000)).toBe(0);
  });

  it('are not calls that follow each other, however soon', () => {
    expect(callsUnderLiveLease(new Map([['k', [[0, 5], [6, 10], [11, 20]]]]), 1000)).toBe(0);
  });

  it('break the invariants', () => {
    const verdict = checkInvariants(world({ webhookIntervals: new Map([['w1', [[0, 1200], [20, 40]]]]), leaseMs: 1000 }));
    expect(verdict.concurrentUnderLease).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });
});
