import { describe, expect, it } from 'vitest';
import { planJobType, type PlanSettings } from '../../planner/plan';
import { parseWorkload, type JobTypeWorkload } from '../../planner/workload';

// The capacity plan of one job type (planner/plan.ts) against figures worked out by hand from the textbook
// formulas, so that a wrong wiring of the model (servers, batches, rates) shows as a wrong number.

const settings = (over: Partial<PlanSettings> = {}): PlanSettings => ({
  type: 'hook',
  fifo: false,
  batchSize: 1,
  batchingWindowSeconds: 0,
  maxConcurrency: 2,
  workerConcurrency: 10,
  workerTimeoutSeconds: 30,
  visibilityTimeoutSeconds: 180,
  maxReceiveCount: 8,
  backoffBaseSeconds: 5,
  backoffMaxSeconds: 300,
  retentionSeconds: 1_209_600,
  memoryMb: 1024,
  ...over,
});
const workload = (over: Partial<JobTypeWorkload> = {}): JobTypeWorkload => ({
  arrivalsPerSecond: 1.6,
  durationMs: { p50: 1000, p99: 1000 },
  payloadBytes: 300,
  duplicateRate: 0,
  failureRate: 0,
  kind: 'leased',
  limitKeys: 1,
  ...over,
});

describe('the queue model', () => {
  it('is M/D/c by Allen–Cunneen with batches of one: half the Erlang C wait', () => {
    // c = 2, a = 1.6: C = 2ρ²/(1+ρ) = 0.7111; Wq(M/M/2) = C/(cμ - λ) = 1.7778 s; constant service: x (1 + 0) / 2.
    const plan = planJobType(workload(), settings());
    expect(plan.utilisation).toBeCloseTo(0.8, 6);
    expect(plan.queueWaitSeconds.mean).toBeCloseTo(0.8889, 3);
    expect(plan.keepsUp).toBe(true);
    expect(plan.capacityPerSecond).toBeCloseTo(2, 6);
  });

  it("gives Little's law for the handlers running at once (λ·E[S]) whatever the batch", () => {
    // Log-normal with median 0.2 s and p99 1 s: E[S] = exp(mu + sigma²/2), sigma = ln 5 / 2.3263.
    const sigma = Math.log(5) / 2.3263478740408408;
    const mean = 0.2 * Math.exp((sigma * sigma) / 2);
    const plan = planJobType(workload({ arrivalsPerSecond: 30, durationMs: { p50: 200, p99: 1000 } }), settings({ batchSize: 10, maxConcurrency: 10 }));
    expect(plan.meanHandlerSeconds).toBeCloseTo(mean, 6);
    expect(plan.handlersRunning.mean).toBeCloseTo(30 * mean, 6);
  });

  it('grows the batch under load to the smallest that keeps up, as a backlog fills batches', () => {
    // Constant 1 s handlers, c = 2, batch up to 10 run side by side: 5 jobs/s need batches of 3 (5/3 x 1 s < 2).
    const plan = planJobType(workload({ arrivalsPerSecond: 5 }), settings({ batchSize: 10 }));
    expect(plan.recordsPerBatch).toBe(3);
    expect(plan.invocationsPerSecond).toBeCloseTo(5 / 3, 6);
    expect(plan.capacityPerSecond).toBeCloseTo(20, 6);
    expect(plan.keepsUp).toBe(true);
  });

  it('says when the settings do not keep up, and by how much to raise maxConcurrency', () => {
    const plan = planJobType(workload({ arrivalsPerSecond: 3 }), settings());
    expect(plan.keepsUp).toBe(false);
    expect(plan.warnings.join('\n')).toContain('does not keep up: 3.00 records/s arrive and 2 concurrent batches of 1 take at most 2.00/s; raise maxConcurrency to at least 4');
    // It runs as many handlers as it can, no more: the mean is not above the most there can be.
    expect(plan.handlersRunning).toEqual({ mean: 2, p99: 2 });
  });

  it('drains a burst as Lambda scales from 5 concurrent batches by 5 a second', () => {
    // Constant 1 s, batch 1, c = 15: concurrency 5 + 5t up to 15 at t = 2 s; work done by t = 2: 5·2 + 5·2 = 20
    // jobs (steady rate 0). 100 jobs: 20 by t = 2 s, then 15 a second: 80 / 15 = 5.33 s more.
    const plan = planJobType(workload({ arrivalsPerSecond: 0, burst: 100 }), settings({ maxConcurrency: 15 }));
    expect(plan.burstDrainSeconds).toBeCloseTo(7.33, 1);
  });

  it('counts retries and the share of jobs that use them all up', () => {
    const plan = planJobType(workload({ arrivalsPerSecond: 1, failureRate: 0.5 }), settings({ maxConcurrency: 10, maxReceiveCount: 3 }));
    // 1 + 0.5 + 0.25 attempts; 0.5³ of jobs fail all three.
    expect(plan.attemptsPerJob).toBeCloseTo(1.75, 6);
    expect(plan.deadLetteredShare).toBeCloseTo(0.125, 6);
    expect(plan.warnings.join('\n')).toContain('about 10,800 jobs a day use up all 3 attempts');
  });
});

describe('the settings checks', () => {
  it('warns when full batches run past the worker timeout', () => {
    // Median 1 s, p99 10 s; 10 side by side; a 3 s timeout: P(slowest of 10 > 3 s) = 1 - F(3)^10.
    const plan = planJobType(workload({ arrivalsPerSecond: 1, durationMs: { p50: 1000, p99: 10_000 } }), settings({ batchSize: 10, maxConcurrency: 10, workerTimeoutSeconds: 3 }));
    const sigma = Math.log(10) / 2.3263478740408408;
    const z = Math.log(3) / sigma;
    const cdf = 0.5 * (1 + erfApprox(z / Math.SQRT2));
    expect(plan.batchTimeoutProbability).toBeCloseTo(1 - cdf ** 10, 4);
    expect(plan.warnings.join('\n')).toMatch(/of full batches run past the worker timeout \(3 s\)/);
  });

  it('warns when the visibility timeout is under six times the worker timeout', () => {
    const plan = planJobType(workload({ arrivalsPerSecond: 0.1 }), settings({ visibilityTimeoutSeconds: 60 }));
    expect(plan.warnings.join('\n')).toContain('the visibility timeout (60 s) is under 6x the worker timeout (30 s)');
  });

  it('warns when the list index partition would pass DynamoDB’s 1,000 writes a second', () => {
    const plan = planJobType(workload({ arrivalsPerSecond: 2000, durationMs: { p50: 10, p99: 20 } }), settings({ batchSize: 10, maxConcurrency: 1000 }));
    expect(plan.hottestIndexPartitionWritesPerSecond).toBe(1000);
    expect(plan.warnings.join('\n')).toContain("the list index's busiest partition takes 1,000 writes/s");
  });
});

describe('the bill', () => {
  it('counts request units and GB-seconds as AWS bills them', () => {
    // 1 job/s, 300-byte payload (a 1 KB item), leased, constant 1 s, batch 1, 1 GB:
    // DynamoDB: submit 1 + index 1, claim and complete (1 + 2 index) each = 8 write units a job; 1 read a second of run.
    // SQS: a send, a receive and a delete = 3 requests. Lambda: 1 GB-s a second.
    const plan = planJobType(workload({ arrivalsPerSecond: 1 }), settings({ maxConcurrency: 10 }));
    expect(plan.requestsPerSecond).toEqual({ api: 1, sqs: 3, dynamoWriteUnits: 8, dynamoReadUnits: 1, events: 1 });
    expect(plan.lambdaGbSecondsPerSecond).toBeCloseTo(1, 9);
    const month = 730 * 3600;
    expect(plan.monthlyCostUsd.lambda).toBeCloseTo(month * 0.0000133334 + (month / 1e6) * 0.2, 4);
    expect(plan.monthlyCostUsd.dynamodb).toBeCloseTo((8 * month * 0.625 + month * 0.125) / 1e6, 4);
    expect(plan.monthlyCostUsd.total).toBeCloseTo(
      Object.entries(plan.monthlyCostUsd).reduce((s, [k, v]) => (k === 'total' ? s : s + v), 0),
      9,
    );
  });
});

describe('the workload file', () => {
  it('fills the defaults', () => {
    expect(parseWorkload('{"jobTypes":{"a":{"arrivalsPerSecond":2,"durationMs":{"p50":10,"p99":20}}}}').jobTypes.a).toEqual({
      arrivalsPerSecond: 2,
      durationMs: { p50: 10, p99: 20 },
      payloadBytes: 1024,
      duplicateRate: 0,
      failureRate: 0,
      kind: 'leased',
      limitKeys: 1,
    });
  });

  it('names every problem and the field it is in', () => {
    expect(() => parseWorkload('{"jobTypes":{"a":{"arrivalsPerSecond":-1,"durationMs":{"p50":30,"p99":20},"failureRate":2,"extra":1}}}', 'w.json')).toThrow(
      /w\.json is not a valid workload:[\s\S]*jobTypes\.a\.arrivalsPerSecond[\s\S]*jobTypes\.a\.failureRate[\s\S]*extra/,
    );
    expect(() => parseWorkload('{"jobTypes":{"a":{"arrivalsPerSecond":1,"durationMs":{"p50":30,"p99":20}}}}')).toThrow(/durationMs\.p99 must be at least durationMs\.p50/);
    expect(() => parseWorkload('{', 'w.json')).toThrow(/w\.json is not JSON/);
  });
});

/** erf (Abramowitz & Stegun 7.1.26), written out here so that the test does not lean on the module it checks. */
function erfApprox(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}

describe('limits (shared/limits/)', () => {
  // Batch capacity here is far above the limits: c = 50 invocations of one 100 ms record = 500 records/s.
  const roomy = (limits: PlanSettings['limits']) => settings({ maxConcurrency: 50, limits });
  const fast = (over: Partial<JobTypeWorkload> = {}) => workload({ durationMs: { p50: 100, p99: 100 }, ...over });

  it('a rate limit is the ceiling: perSecond times the keys the jobs spread over', () => {
    const one = planJobType(fast({ arrivalsPerSecond: 30 }), roomy({ rate: { perSecond: 20, burst: 20 } }));
    expect(one.limits).toMatchObject({ keys: 1, ceilingPerSecond: 20, binding: 'rate', utilisation: 1.5 });
    expect(one.capacityPerSecond).toBeCloseTo(20, 6);
    expect(one.keepsUp).toBe(false);
    expect(one.warnings.join('\n')).toMatch(/rate limit of 20.0\/s a key over 1 key\(s\) admits at most 20.0 jobs\/s and 30.0 arrive: the queue grows by 10.0\/s/);
    const four = planJobType(fast({ arrivalsPerSecond: 30, limitKeys: 4 }), roomy({ rate: { perSecond: 20, burst: 20 } }));
    expect(four.limits).toMatchObject({ ceilingPerSecond: 80, utilisation: 0.375 });
    expect(four.keepsUp).toBe(true);
    expect(four.warnings).toEqual([]);
  });

  it('a concurrency limit is the ceiling by Little’s law: places over the mean handler time', () => {
    // 3 places of 100 ms handlers: 30 starts a second at most; 27 arrive, 90% of it.
    const plan = planJobType(fast({ arrivalsPerSecond: 27 }), roomy({ concurrency: 3 }));
    expect(plan.limits?.binding).toBe('concurrency');
    expect(plan.limits?.ceilingPerSecond).toBeCloseTo(30, 6);
    expect(plan.keepsUp).toBe(true);
    expect(plan.warnings.join('\n')).toMatch(/90% of its concurrency limit of 3 a key \(over 1 key\(s\)\) is used/);
  });

  it('duplicates take a slot on the leased path (they are refused at the claim, after admission), not on the transactional one', () => {
    const limits = { rate: { perSecond: 100, burst: 100 } };
    expect(planJobType(fast({ arrivalsPerSecond: 10, duplicateRate: 0.5 }), roomy(limits)).limits?.admissionsPerSecond).toBeCloseTo(15, 6);
    expect(planJobType(fast({ arrivalsPerSecond: 10, duplicateRate: 0.5, kind: 'transactional' }), roomy(limits)).limits?.admissionsPerSecond).toBeCloseTo(10, 6);
  });

  it('a burst drains no faster than the limit lets it', () => {
    const unlimited = planJobType(fast({ arrivalsPerSecond: 10, burst: 1000 }), roomy(undefined));
    const limited = planJobType(fast({ arrivalsPerSecond: 10, burst: 1000 }), roomy({ rate: { perSecond: 20, burst: 20 } }));
    // 1,000 jobs at 20 - 10 = 10 a second to spare.
    expect(limited.burstDrainSeconds).toBeCloseTo(100, 0);
    expect(unlimited.burstDrainSeconds!).toBeLessThan(10);
  });

  it('a hot limit key: its item takes the writes of every admission of the key (two a job for a concurrency place)', () => {
    const plan = planJobType(fast({ arrivalsPerSecond: 450 }), settings({ maxConcurrency: 1000, limits: { concurrency: 1000 } }));
    expect(plan.limits?.writesPerKeyItemPerSecond).toBeCloseTo(900, 6);
    expect(plan.warnings.join('\n')).toMatch(/each limit key's item takes 900 conditional writes\/s .* a hot key/);
    expect(planJobType(fast({ arrivalsPerSecond: 450, limitKeys: 3 }), settings({ maxConcurrency: 1000, limits: { concurrency: 1000 } })).warnings.join('\n')).not.toMatch(
      /hot key/,
    );
  });

  it('limit writes are counted in the DynamoDB bill', () => {
    const without = planJobType(fast({ arrivalsPerSecond: 10 }), roomy(undefined));
    const withRate = planJobType(fast({ arrivalsPerSecond: 10 }), roomy({ rate: { perSecond: 100, burst: 100 } }));
    expect(withRate.requestsPerSecond.dynamoWriteUnits - without.requestsPerSecond.dynamoWriteUnits).toBeCloseTo(10, 6);
  });
});
