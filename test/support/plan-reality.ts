/**
 * The capacity planner checked against the running system: the local runtime (the stack as synthesized, its
 * real poller, function environments and DynamoDB Local) takes webhook jobs at a planned Poisson rate,
 * and the webhook target answers after a log-normal time with the workload's p50 and p99, drawn from a
 * seeded PRNG. What the plan said (planner/plan.ts, from the same template) is set beside what happened:
 *
 * - throughput: handler starts per second while jobs arrive (the plan: the arrival rate, when it keeps up);
 * - handlers running at once: the time average (Little's law) and the time-weighted 99th percentile, from
 *   the target's record of each call's start and end;
 * - queue wait: the median of a job's RUNNING time (its timeline) minus its creation.
 *
 * Used by test/integration/plan-reality.test.ts (asserts the tolerance) and `npm run bench` (reports the error).
 */
import { planJobType, type JobTypePlan } from '../../planner/plan';
import { normalQuantile } from '../../planner/queueing';
import { planSettingsOf } from '../../planner/template-settings';
import type { JobTypeWorkload } from '../../planner/workload';
import type { LocalRuntime } from '../../local/runtime';
import { Prng } from './prng';
import { startWebhookReceiver } from './webhook-receiver';

export interface RealityScenario {
  arrivalsPerSecond: number;
  durationMs: { p50: number; p99: number };
  /** Seconds of arrivals. */
  seconds: number;
  seed: number;
}

export const DEFAULT_REALITY_SCENARIO: RealityScenario = { arrivalsPerSecond: 12, durationMs: { p50: 400, p99: 1200 }, seconds: 30, seed: 20261204 };

export interface Measured {
  jobs: number;
  throughputPerSecond: number;
  handlersRunningMean: number;
  handlersRunningP99: number;
  queueWaitMedianSeconds: number;
  /** The handler durations as the target took them (timers overshoot on a busy machine): median, seconds. */
  handlerMedianSeconds: number;
}

export interface RealityCheck {
  scenario: RealityScenario;
  plan: JobTypePlan;
  measured: Measured;
  /** (measured - planned) / planned for each figure. */
  errors: { throughput: number; handlersRunningMean: number; handlersRunningP99: number; queueWaitMedian: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the scenario on the local runtime `start` starts, stops it, and compares. */
export async function checkPlanAgainstRuntime(start: () => Promise<LocalRuntime>, scenario: RealityScenario = DEFAULT_REALITY_SCENARIO): Promise<RealityCheck> {
  const receiver = await startWebhookReceiver();
  const sigma = Math.log(scenario.durationMs.p99 / scenario.durationMs.p50) / 2.3263478740408408;
  const durations = new Prng(scenario.seed ^ 0x5eed);
  receiver.respond = async () => {
    const u = Math.min(1 - 1e-12, Math.max(1e-12, durations.next()));
    await sleep(scenario.durationMs.p50 * Math.exp(sigma * normalQuantile(u)));
    return 200;
  };
  let runtime: LocalRuntime | undefined;
  try {
    runtime = await start();
    const settings = planSettingsOf(runtime.model).find((s) => s.type === 'webhook');
    if (!settings) throw new Error('the stack has no webhook job type');
    const workload: JobTypeWorkload = {
      arrivalsPerSecond: scenario.arrivalsPerSecond,
      durationMs: scenario.durationMs,
      payloadBytes: 100,
      duplicateRate: 0,
      failureRate: 0,
      limitKeys: 1,
      kind: 'leased',
    };
    const plan = planJobType(workload, settings);
    const apiUrl = runtime.apiUrl;
    const submit = async (path: string) => {
      const response = await fetch(`${apiUrl}/jobs/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${receiver.url}${path}`, body: {} }),
      });
      if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { jobId: string }).jobId;
    };

    // Warm environments first (a deployed worker pays its cold starts once, not per job): as many jobs at
    // once as the plan's p99 runs at once, each held as long as a slow handler.
    const warmCalls = receiver.log.length;
    const warm = Math.max(1, plan.handlersRunning.p99);
    await Promise.all(Array.from({ length: warm }, (_, i) => submit(`/warm/${i}`)));
    await until(() => receiver.log.length >= warmCalls + warm, 60_000, 'the warm-up jobs');

    // Poisson arrivals at their planned times (exponential gaps from the seeded PRNG), each submit on its own.
    const arrivals = new Prng(scenario.seed);
    const begin = performance.now() + 200;
    const submits: Promise<string>[] = [];
    for (let at = 0; at < scenario.seconds * 1000; at += -Math.log(1 - arrivals.next()) * (1000 / scenario.arrivalsPerSecond)) {
      const wait = begin + at - performance.now();
      if (wait > 0) await sleep(wait);
      submits.push(submit(`/job/${submits.length}`));
    }
    const end = begin + scenario.seconds * 1000;
    const jobIds = await Promise.all(submits);
    await until(() => jobIds.every((id) => receiver.intervals.has(id)), 120_000, 'every job to be called');

    const intervals = jobIds.flatMap((id) => receiver.intervals.get(id) ?? []);
    const waits: number[] = [];
    for (const id of jobIds) {
      const view = (await (await fetch(`${apiUrl}/jobs/${id}`)).json()) as { createdAt: string; history: { state: string; at: string }[] };
      const running = view.history.find((h) => h.state === 'RUNNING');
      if (running) waits.push((Date.parse(running.at) - Date.parse(view.createdAt)) / 1000);
    }
    const inWindow = intervals.filter(([s]) => s >= begin && s < end).length;
    const { mean, p99 } = concurrency(intervals, begin, end);
    const measured: Measured = {
      jobs: jobIds.length,
      throughputPerSecond: inWindow / scenario.seconds,
      handlersRunningMean: mean,
      handlersRunningP99: p99,
      queueWaitMedianSeconds: median(waits),
      handlerMedianSeconds: median(intervals.map(([s, e]) => (e - s) / 1000)),
    };
    const error = (m: number, p: number) => (p === 0 ? m : (m - p) / p);
    return {
      scenario,
      plan,
      measured,
      errors: {
        throughput: error(measured.throughputPerSecond, scenario.arrivalsPerSecond),
        handlersRunningMean: error(measured.handlersRunningMean, plan.handlersRunning.mean),
        handlersRunningP99: error(measured.handlersRunningP99, plan.handlersRunning.p99),
        queueWaitMedian: error(measured.queueWaitMedianSeconds, plan.queueWaitSeconds.median),
      },
    };
  } finally {
    await runtime?.stop();
    await receiver.close();
  }
}

/** The time average and the time-weighted 99th percentile of how many intervals are open, over [from, to). */
export function concurrency(intervals: readonly (readonly [number, number])[], from: number, to: number): { mean: number; p99: number } {
  const events: [number, number][] = [];
  for (const [s, e] of intervals) {
    const a = Math.max(s, from);
    const b = Math.min(e, to);
    if (b > a) events.push([a, 1], [b, -1]);
  }
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const timeAt = new Map<number, number>();
  let open = 0;
  let last = from;
  let area = 0;
  for (const [t, step] of events) {
    timeAt.set(open, (timeAt.get(open) ?? 0) + (t - last));
    area += open * (t - last);
    open += step;
    last = t;
  }
  timeAt.set(open, (timeAt.get(open) ?? 0) + (to - last));
  const total = to - from;
  let cumulative = 0;
  let p99 = 0;
  for (const level of [...timeAt.keys()].sort((x, y) => x - y)) {
    cumulative += timeAt.get(level)!;
    if (cumulative >= 0.99 * total) {
      p99 = level;
      break;
    }
  }
  return { mean: area / total, p99 };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};

async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
