// The chaos suite's invariants must be able to fail: each broken world below is caught.
import { describe, expect, it } from 'vitest';
import {
  callsUnderLiveLease,
  checkInvariants,
  concurrencyExcess,
  crossCallerViolations,
  delayedEarly,
  deadLetteredJobs,
  forgedRan,
  LEASE_SLACK_MS,
  notificationGaps,
  RATE_SLACK_MS,
  RATE_WINDOW_MS,
  rateExcess,
  redriveReruns,
  stuckJobs,
  type Observation,
} from '../chaos/invariants';

function world(overrides: Partial<Observation> = {}): Observation {
  return {
    jobs: [
      { jobId: 't1', type: 'transfer', status: 'SUCCEEDED', transfer: { from: 'a', to: 'b', amount: 5 } },
      { jobId: 't2', type: 'transfer', status: 'SUCCEEDED', transfer: { from: 'b', to: 'c', amount: 2 } },
      { jobId: 'w1', type: 'webhook', status: 'SUCCEEDED' },
      { jobId: 'w2', type: 'webhook', status: 'FAILED' },
    ],
    unsubmitted: 0,
    balances: new Map([
      ['a', -5],
      ['b', 3],
      ['c', 2],
    ]),
    deadLettered: new Set(['w2']),
    webhookCalls: new Map([
      ['w1', 2],
      ['w2', 1],
    ]),
    ...overrides,
  };
}

describe('chaos invariants', () => {
  it('hold in a consistent world', () => {
    const verdict = checkInvariants(world());
    expect(verdict).toMatchObject({ lost: 0, doubleApplied: 0, failed: 1, failedInDlq: 1, ledgerSum: 0, webhookKeysMissing: 0, webhookCallsPerKey: 2, problems: [] });
    expect(verdict).toMatchObject({ redriveReruns: 0, forgedRan: 0, forgedUnrefused: 0, staleUndropped: 0, retriedWrong: 0, stuck: 0, crossCaller: 0, oversizedFailed: 0 });
  });

  it('catch a transfer applied twice', () => {
    const verdict = checkInvariants(
      world({
        balances: new Map([
          ['a', -10],
          ['b', 8],
          ['c', 2],
        ]),
      }),
    );
    expect(verdict.doubleApplied).toBe(2);
    expect(verdict.problems).toHaveLength(1);
  });

  it('catch a transfer applied but never marked SUCCEEDED, and money created from nothing', () => {
    const jobs = world().jobs.map((j) => (j.jobId === 't2' ? { ...j, status: 'PENDING' } : j));
    const verdict = checkInvariants(
      world({
        jobs,
        deadLettered: new Set(['w2', 't2']),
        balances: new Map([
          ['a', -5],
          ['b', 3],
          ['c', 3],
        ]),
      }),
    );
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
  it("are calls of one job that overlap while the first call's lease still runs", () => {
    // Lease 1 s: a second call 10 ms into the first one ran under a live lease; one 600 ms in may not
    // have (the first worker may have stalled up to LEASE_SLACK_MS between its claim and its call).
    expect(
      callsUnderLiveLease(
        new Map([
          [
            'k',
            [
              [0, 1200],
              [10, 50],
            ],
          ],
        ]),
        1000,
      ),
    ).toBe(1);
    expect(
      callsUnderLiveLease(
        new Map([
          [
            'k',
            [
              [0, 1200],
              [600, 650],
            ],
          ],
        ]),
        1000,
      ),
    ).toBe(0);
  });

  it('are not calls that follow each other, however soon', () => {
    expect(
      callsUnderLiveLease(
        new Map([
          [
            'k',
            [
              [0, 5],
              [6, 10],
              [11, 20],
            ],
          ],
        ]),
        1000,
      ),
    ).toBe(0);
  });

  it('break the invariants', () => {
    const verdict = checkInvariants(
      world({
        webhookIntervals: new Map([
          [
            'w1',
            [
              [0, 1200],
              [20, 40],
            ],
          ],
        ]),
        leaseMs: 1000,
      }),
    );
    expect(verdict.concurrentUnderLease).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });
});

describe('DLQ sightings', () => {
  const jobs = [
    { jobId: 'f1', type: 'webhook', status: 'FAILED', generation: 1, payloadHash: 'h1' },
    { jobId: 'f2', type: 'webhook', status: 'FAILED', generation: 2, payloadHash: 'h2' },
    { jobId: 's1', type: 'webhook', status: 'SUCCEEDED', generation: 1, payloadHash: 'h3' },
  ];

  it('count a FAILED job whose own message (id, generation, payload) was seen in a DLQ', () => {
    const parked = deadLetteredJobs(jobs, [
      { jobId: 'f1', generation: 1, payloadHash: 'h1' },
      { jobId: 'f2', generation: 2, payloadHash: 'h2' },
      { jobId: 's1', generation: 1, payloadHash: 'h3' },
    ]);
    expect([...parked].sort()).toEqual(['f1', 'f2']);
  });

  it("do not count a forged message, or one of another generation, as the job's own", () => {
    const parked = deadLetteredJobs(jobs, [
      { jobId: 'f1', generation: 1, payloadHash: 'forged' },
      { jobId: 'f2', generation: 1, payloadHash: 'h2' },
    ]);
    expect(parked.size).toBe(0);
    expect(checkInvariants(world({ jobs: [...world().jobs, ...jobs.slice(0, 2)], deadLettered: new Set(['w2', ...parked]) })).lost).toBe(2);
  });
});

describe('redrive reruns', () => {
  const failed = { jobId: 'p1', type: 'webhook', status: 'FAILED', finishedAt: 10_000 };
  const call = (key: string, at: number, path = '/reject', status = 422) => ({ key, path, at, status });

  it('are none when a FAILED job was only called before it FAILED, or within the slack after', () => {
    expect(redriveReruns([failed], [call('p1', 9_000), call('p1', 10_000 + LEASE_SLACK_MS - 1)], []).count).toBe(0);
  });

  it('catch a call of a FAILED job after it FAILED (a redriven message run again)', () => {
    const verdict = checkInvariants(world({ jobs: [...world().jobs, failed], deadLettered: new Set(['w2', 'p1']), calls: [call('p1', 9_000), call('p1', 14_000)] }));
    expect(verdict.redriveReruns).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });

  it('go by the time the client first saw the job FAILED, even if it was FAILED again later', () => {
    const watched = [{ jobId: 'p1', failedAt: 5_000 }];
    expect(redriveReruns([failed], [call('p1', 4_000), call('p1', 8_000)], watched).count).toBe(1);
  });

  it('allow the calls of an explicit retry, but not calls between the FAILED mark and the retry', () => {
    const retried = { jobId: 'r1', type: 'webhook', status: 'SUCCEEDED', generation: 2, finishedAt: 30_000 };
    const watched = [{ jobId: 'r1', failedAt: 10_000, followUp: { action: 'retry' as const, requestedAt: 20_000, accepted: true } }];
    const clean = [call('r1', 9_000, '/reject-once/1', 422), call('r1', 21_000, '/reject-once/1', 200)];
    expect(redriveReruns([retried], clean, watched).count).toBe(0);
    expect(redriveReruns([retried], [...clean, call('r1', 15_000, '/reject-once/1', 200)], watched).count).toBe(1);
  });

  it('catch a FAILED job that was never retried and did not end FAILED', () => {
    const rerun = { jobId: 'o1', type: 'webhook', status: 'SUCCEEDED', generation: 1 };
    expect(redriveReruns([rerun], [], [{ jobId: 'o1', failedAt: 1_000, followUp: { action: 'resubmit' } }]).count).toBe(1);
  });

  it('catch a reject-once target whose effect happened for two jobs (the FAILED one and its resubmission)', () => {
    const calls = [call('o1', 1_000, '/reject-once/7', 422), call('o1-again', 3_000, '/reject-once/7', 200)];
    expect(redriveReruns([], calls, []).count).toBe(0);
    expect(redriveReruns([], [...calls, call('o1', 900, '/reject-once/7', 200)], []).count).toBe(1);
  });
});

describe('forged messages', () => {
  it('did not run: no forged call, no forged balance, their jobs SUCCEEDED', () => {
    expect(forgedRan([call('t1', '/hook')], new Map([['a', -5]]), world().jobs, ['t1', 'w1']).count).toBe(0);
  });

  it('catch a forged webhook call, a forged account with a balance, and a job the forgery failed', () => {
    const verdict = checkInvariants(
      world({
        calls: [call('w1', '/forged/3')],
        balances: new Map([
          ['a', -5],
          ['b', 3],
          ['c', 2],
          ['forged-4', 7],
          ['acct', -7],
        ]),
        forged: { victims: ['w2'], messageIds: [] },
      }),
    );
    // A forged call, a forged balance, and w2 (named by a forged message) FAILED.
    expect(verdict.forgedRan).toBe(3);
    expect(verdict.problems.some((p) => p.includes('forged'))).toBe(true);
  });

  it('catch a forged message no worker refused, and a stale copy no worker dropped', () => {
    const verdict = checkInvariants(
      world({ forged: { victims: [], messageIds: ['m1', 'm2', 'm3'] }, dropped: new Set(['m1', 's1']), parked: new Set(['m2', 's2']), stale: ['s1', 's2'] }),
    );
    expect(verdict.forgedUnrefused).toBe(1);
    // A stale copy must be dropped, not parked.
    expect(verdict.staleUndropped).toBe(1);
    expect(verdict.problems).toHaveLength(2);
  });

  function call(key: string, path: string) {
    return { key, path, at: 0, status: 200 };
  }
});

describe('explicit retries', () => {
  it('must end SUCCEEDED in generation 2', () => {
    const watched = [{ jobId: 'w1', failedAt: 1, followUp: { action: 'retry' as const, requestedAt: 2, accepted: true } }];
    const gen2 = world().jobs.map((j) => (j.jobId === 'w1' ? { ...j, generation: 2 } : j));
    expect(checkInvariants(world({ jobs: gen2, watched })).retriedWrong).toBe(0);
    const verdict = checkInvariants(world({ watched }));
    expect(verdict.retriedWrong).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });
});

describe('stuck jobs', () => {
  it('are jobs left PENDING or RUNNING', () => {
    const jobs = [...world().jobs, { jobId: 'x1', type: 'transfer', status: 'PENDING' }, { jobId: 'x2', type: 'webhook', status: 'RUNNING' }];
    expect(stuckJobs(jobs).map((j) => j.jobId)).toEqual(['x1', 'x2']);
    const verdict = checkInvariants(world({ jobs }));
    expect(verdict.stuck).toBe(2);
    expect(verdict.lost).toBe(2);
  });

  it('are none in a consistent world', () => {
    expect(checkInvariants(world()).stuck).toBe(0);
  });
});

describe('two callers sharing keys', () => {
  const clean = { key: 'k', aJobId: 't1', bStatus: 202, bJobId: 't2', bGetOfA: 404, aGetOfB: 404 };

  it("hold when the second caller gets a job of its own that runs, and neither reads the other's", () => {
    expect(crossCallerViolations([clean], world().jobs).count).toBe(0);
  });

  it("catch a 422, the first caller's job id, a job that never ran, and a readable foreign job", () => {
    const jobs = world().jobs;
    expect(crossCallerViolations([{ ...clean, bStatus: 422, bJobId: undefined }], jobs).count).toBe(1);
    expect(crossCallerViolations([{ ...clean, bJobId: 't1' }], jobs).count).toBe(1);
    expect(crossCallerViolations([{ ...clean, bJobId: 'w2' }], jobs).count).toBe(1);
    expect(crossCallerViolations([{ ...clean, bGetOfA: 200, aGetOfB: 200 }], jobs).count).toBe(2);
    const verdict = checkInvariants(world({ crossCaller: [{ ...clean, bStatus: 422, bJobId: undefined }] }));
    expect(verdict.crossCaller).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });
});

describe('oversized results', () => {
  it('must not fail the job', () => {
    expect(checkInvariants(world({ oversized: new Set(['t1', 'w1']) })).oversizedFailed).toBe(0);
    const verdict = checkInvariants(world({ oversized: new Set(['t1', 'w2']) }));
    expect(verdict.oversizedFailed).toBe(1);
    expect(verdict.problems).toHaveLength(1);
  });
});

describe('delayed jobs', () => {
  const calls = [{ key: 'w1', path: '/hook', at: 5_000, status: 200 }];
  const jobs = [
    { jobId: 'w1', type: 'webhook', status: 'SUCCEEDED' },
    { jobId: 't1', type: 'transfer', status: 'SUCCEEDED', finishedAt: 9_000 },
  ];

  it('hold when every effect came at or after its run time', () => {
    expect(
      delayedEarly(
        new Map([
          ['w1', 5_000],
          ['t1', 8_000],
        ]),
        jobs,
        calls,
      ).count,
    ).toBe(0);
  });

  it('catch a webhook called before its run time and a transfer that finished before its own', () => {
    const early = delayedEarly(
      new Map([
        ['w1', 5_001],
        ['t1', 9_500],
      ]),
      jobs,
      calls,
    );
    expect(early.count).toBe(2);
    expect(checkInvariants(world({ calls, delayed: new Map([['w1', 6_000]]) })).delayedEarly).toBe(1);
  });
});

describe('cancelled jobs', () => {
  const cancelledWorld = (status: string, calls: number, retried = false, generation?: number) =>
    world({
      jobs: [...world().jobs, { jobId: 'c1', type: 'webhook', status, ...(generation ? { generation } : {}) }],
      webhookCalls: new Map([...world().webhookCalls, ...(calls > 0 ? [['c1', calls] as [string, number]] : [])]),
      cancelled: new Map([['c1', { retried }]]),
    });

  it('hold when a cancelled job ends CANCELLED with no call, and is not counted as lost', () => {
    expect(checkInvariants(cancelledWorld('CANCELLED', 0))).toMatchObject({ lost: 0, cancelledRan: 0, cancelledWrong: 0, problems: [] });
    expect(checkInvariants(cancelledWorld('SUCCEEDED', 1, true, 2))).toMatchObject({ lost: 0, cancelledRan: 0, cancelledWrong: 0, problems: [] });
  });

  it('catch a cancelled job that was called, one that ran anyway, and a retried one that did not run again', () => {
    expect(checkInvariants(cancelledWorld('CANCELLED', 1)).cancelledRan).toBe(1);
    expect(checkInvariants(cancelledWorld('SUCCEEDED', 1)).cancelledWrong).toBe(1);
    expect(checkInvariants(cancelledWorld('CANCELLED', 0, true)).cancelledWrong).toBe(1);
  });

  it('count a CANCELLED job nobody cancelled as lost, and a job left SCHEDULED as stuck', () => {
    const stray = world({ jobs: [...world().jobs, { jobId: 'x', type: 'webhook', status: 'CANCELLED' }, { jobId: 'y', type: 'webhook', status: 'SCHEDULED' }] });
    expect(checkInvariants(stray)).toMatchObject({ lost: 2, stuck: 1 });
  });
});

describe('completion callbacks and events', () => {
  // A job that failed, was retried and succeeded: two terminal states, each must be notified.
  const jobs = [
    {
      jobId: 'r1',
      type: 'webhook',
      status: 'SUCCEEDED',
      generation: 2,
      terminals: [
        { state: 'FAILED', generation: 1 },
        { state: 'SUCCEEDED', generation: 2 },
      ],
      callback: true,
    },
    { jobId: 'p1', type: 'webhook', status: 'SUCCEEDED', generation: 1, terminals: [{ state: 'SUCCEEDED', generation: 1 }] },
  ];
  const notice = (jobId: string, status: string, generation: number, signed?: boolean) => ({ jobId, status, generation, ...(signed !== undefined ? { signed } : {}) });
  const all = [notice('r1', 'FAILED', 1), notice('r1', 'SUCCEEDED', 2), notice('p1', 'SUCCEEDED', 1)];

  it('hold when every terminal state has its notice, duplicates included', () => {
    expect(notificationGaps(jobs, [...all, notice('r1', 'FAILED', 1)], () => true)).toMatchObject({ missing: 0, wrong: 0 });
    const withCallbacks = world({ jobs: [...world().jobs, ...jobs], events: all, callbacks: [notice('r1', 'FAILED', 1, true), notice('r1', 'SUCCEEDED', 2, true)] });
    expect(checkInvariants(withCallbacks)).toMatchObject({ eventsMissing: 0, eventsWrong: 0, callbacksMissing: 0, callbacksWrong: 0 });
  });

  it('catch a terminal state without its notice, in any generation', () => {
    expect(notificationGaps(jobs, all.slice(1), () => true)).toMatchObject({ missing: 1, wrong: 0 });
    expect(checkInvariants(world({ jobs: [...world().jobs, ...jobs], events: all, callbacks: [notice('r1', 'SUCCEEDED', 2, true)] })).callbacksMissing).toBe(1);
  });

  it('catch a notice of a job that is not terminal, of a state or generation its timeline does not show, out of scope, or unsigned', () => {
    expect(notificationGaps(jobs, [...all, notice('p1', 'RUNNING', 1)], () => true).wrong).toBe(1);
    expect(notificationGaps(jobs, [...all, notice('p1', 'FAILED', 1)], () => true).wrong).toBe(1);
    expect(notificationGaps(jobs, [...all, notice('r1', 'SUCCEEDED', 1)], () => true).wrong).toBe(1);
    expect(notificationGaps(jobs, [notice('p1', 'SUCCEEDED', 1, true)], (j) => j.callback === true).wrong).toBe(1);
    expect(notificationGaps(jobs, [notice('r1', 'FAILED', 1, true), notice('r1', 'SUCCEEDED', 2, false)], (j) => j.callback === true)).toMatchObject({ missing: 0, wrong: 1 });
    expect(notificationGaps(jobs, [notice('ghost', 'SUCCEEDED', 1)], () => true).wrong).toBe(1);
  });

  it('accept a notice of a generation older than a cut timeline shows', () => {
    const cut = [{ jobId: 'c1', type: 'webhook', status: 'SUCCEEDED', generation: 9, terminals: [{ state: 'SUCCEEDED', generation: 9 }], historyCut: true }];
    expect(notificationGaps(cut, [notice('c1', 'FAILED', 3), notice('c1', 'SUCCEEDED', 9)], () => true)).toMatchObject({ missing: 0, wrong: 0 });
    expect(notificationGaps([{ ...cut[0]!, historyCut: false }], [notice('c1', 'FAILED', 3)], () => true).wrong).toBe(1);
  });
});

describe('limits', () => {
  const rate = { perSecond: 20, burst: 10 };
  // The bound of a 2 s window with 1 s of slack: 10 + 20 x 3 = 70 calls.
  const bound = rate.burst + (rate.perSecond * (RATE_WINDOW_MS + RATE_SLACK_MS)) / 1000;
  /** Calls at `perSecond` a second for `seconds`, from t0. */
  const paced = (perSecond: number, seconds: number, t0 = 1_000_000) => Array.from({ length: perSecond * seconds }, (_, i) => t0 + (i * 1000) / perSecond);
  const limits = (hosts: { host: string; callTimes: number[]; intervals: [number, number][] }[], extra: { deferrals?: number; burstJobs?: string[] } = {}) => ({
    rate,
    concurrency: 3,
    hosts,
    deferrals: extra.deferrals ?? 5,
    burstJobs: extra.burstJobs ?? ['w1'],
  });

  it('hold for calls at the rate, a first burst, and a late group within the slack', () => {
    expect(rateExcess(paced(20, 60), rate)).toMatchObject({ over: 0, bound });
    // A burst at once, then the rate: burst + 20/s.
    const burstThenRate = [...Array.from({ length: 10 }, () => 1_000_000), ...paced(20, 30, 1_000_050)];
    expect(rateExcess(burstThenRate, rate).over).toBe(0);
    // 20 jobs whose slots spread over 1 s, all called at once after a 1 s stall: within the slack.
    const lateGroup = [...paced(20, 10), ...Array.from({ length: 20 }, () => 1_010_000)];
    expect(rateExcess(lateGroup, rate).over).toBe(0);
  });

  it('catch a host called faster than its rate allows (as with no limiter: the bursts at the speed of the workers)', () => {
    const verdict = rateExcess(paced(100, 5), rate);
    expect(verdict.max).toBe(200);
    expect(verdict.over).toBeGreaterThan(0);
    expect(verdict.example).toMatch(/calls in the 2000 ms/);
    // At the rate, but 10% faster than the bound allows over a long stretch.
    expect(rateExcess(paced(50, 10), rate).over).toBeGreaterThan(0);
  });

  it('count the calls in flight at once, an end before a start at the same instant', () => {
    expect(
      concurrencyExcess(
        [
          [0, 10],
          [10, 20],
          [5, 15],
        ],
        2,
      ),
    ).toEqual({ max: 2, over: 0 });
    expect(
      concurrencyExcess(
        [
          [0, 10],
          [1, 11],
          [2, 12],
          [3, 13],
        ],
        3,
      ),
    ).toEqual({ max: 4, over: 1 });
  });

  it('hold in a world whose limited hosts kept their limits, and catch each broken limit', () => {
    const kept = {
      host: 'h:1',
      callTimes: paced(20, 5),
      intervals: [
        [0, 10],
        [5, 15],
        [10, 20],
      ] as [number, number][],
    };
    expect(checkInvariants(world({ limits: limits([kept]) })).problems).toEqual([]);

    const tooFast = { ...kept, callTimes: paced(100, 5) };
    const fast = checkInvariants(world({ limits: limits([kept, { ...tooFast, host: 'h:2' }]) }));
    expect(fast.rateOver).toBeGreaterThan(0);
    expect(fast.problems.join()).toMatch(/h:2: \d+ windows over the rate's bound of 70 calls/);

    const crowded = {
      ...kept,
      intervals: [
        [0, 10],
        [1, 11],
        [2, 12],
        [3, 13],
      ] as [number, number][],
    };
    expect(checkInvariants(world({ limits: limits([crowded]) })).concurrencyOver).toBe(1);

    // A job held by a limit that ended FAILED (w2 is FAILED in the world): a limit delays, never fails.
    const failed = checkInvariants(world({ limits: limits([kept], { burstJobs: ['w1', 'w2'] }) }));
    expect(failed.limitedFailed).toBe(1);
    expect(failed.problems.join()).toMatch(/a limit must delay a job, not fail it/);

    // A run in which no limit ever bound shows nothing about them: that is a failure of the run.
    expect(checkInvariants(world({ limits: limits([kept], { deferrals: 0 }) })).problems.join()).toMatch(/the limits never bound/);
  });
});
