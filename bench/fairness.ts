/**
 * The noisy neighbour, on the local runtime (this repository's stack: the webhook type's tenant is its
 * target's host, so each tenant is its own SQS message group, and the SQS emulator serves quiet groups
 * first as SQS fair queues do). Tenant A submits 5,000 webhook jobs at once (batch submits); tenant B
 * submits 50 spread over the same time. B's latency, submit to SUCCEEDED (its record's createdAt to
 * finishedAt), in three runs:
 *   - with tenant keys: A and B call different hosts (two tenants);
 *   - without: B calls A's host, so both are one tenant, one message group, as when no tenant is declared;
 *   - B alone.
 * Targets: B's p95 with tenant keys at least 5x better than without, and within 2x of B alone. The worker's
 * environments are warmed first (not counted), and the log names B's slowest jobs and when they were submitted.
 */
import type { LocalRuntime } from '../local/runtime';
import type { WebhookReceiver } from '../test/support/webhook-receiver';
import { quantile } from './stats';
import { isMainModule, printRowsAlone } from './run-alone';
import type { Row, Target } from './table';

export const NOISY_JOBS = 5000;
export const QUIET_JOBS = 50;
const HANDLER_MS = 2000;
const QUIET_SPREAD_MS = 60_000;

export interface FairnessRun {
  name: 'with tenant keys' | 'without tenant keys' | 'B alone';
  p50Ms: number;
  p95Ms: number;
  /** Seconds until A's last job ended (none for B alone). */
  noisyDrainSeconds?: number;
  /** Seconds until A's last batch submit was answered (none for B alone). */
  noisySubmitsSeconds?: number;
  /** B's p95 over its jobs submitted after that (none for B alone). */
  p95AfterSubmitsMs?: number;
  /** B's five slowest jobs: latency and when each was submitted, for the log. */
  slowest: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs, retrying a 5xx as a client does (every job has its Idempotency-Key, so a retry is the same jobs). */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    if (response.status < 300) return response.json();
    if (response.status < 500 || attempt === 5) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
    await sleep(500 * attempt);
  }
}

interface Finished {
  createdAt: number;
  /** When a worker first claimed it. */
  startedAt: number;
  finishedAt: number;
}

async function finished(apiUrl: string, ids: readonly string[], timeoutMs: number): Promise<Finished[]> {
  const deadline = Date.now() + timeoutMs;
  const views = new Map<string, Finished>();
  while (views.size < ids.length) {
    if (Date.now() > deadline) throw new Error(`${ids.length - views.size} jobs did not finish in ${timeoutMs / 1000} s`);
    for (const id of ids) {
      if (views.has(id)) continue;
      const view = (await (await fetch(`${apiUrl}/jobs/${id}`)).json()) as { status: string; createdAt: string; startedAt?: string; finishedAt?: string };
      if (view.status === 'SUCCEEDED') views.set(id, { createdAt: Date.parse(view.createdAt), startedAt: Date.parse(view.startedAt!), finishedAt: Date.parse(view.finishedAt!) });
      else if (view.status === 'FAILED' || view.status === 'CANCELLED') throw new Error(`job ${id} ended ${view.status}`);
    }
    if (views.size < ids.length) await sleep(250);
  }
  return [...views.values()];
}

async function runOnce(name: FairnessRun['name'], apiUrl: string, a: WebhookReceiver, b: WebhookReceiver, round: number): Promise<FairnessRun> {
  const noisy = name !== 'B alone';
  const quietTarget = name === 'without tenant keys' ? a : b;
  const noisyIds: string[] = [];
  const started = Date.now();
  let noisyDone: number | undefined;
  // A: 5,000 jobs at once, 100 to a batch submit, four requests at a time.
  const flood = noisy
    ? (async () => {
        const batches = Array.from({ length: NOISY_JOBS / 100 }, (_, i) => i);
        const lanes = Array.from({ length: 4 }, async (_, lane) => {
          for (let i = lane; i < batches.length; i += 4) {
            const answer = (await post(`${apiUrl}/jobs/webhook/batch`, {
              jobs: Array.from({ length: 100 }, (_, j) => ({ payload: { url: `${a.url}/a/${i}/${j}`, body: {} }, idempotencyKey: `a-${round}-${i}-${j}` })),
            })) as {
              results: { jobId?: string }[];
            };
            noisyIds.push(...answer.results.map((r) => r.jobId!));
          }
        });
        await Promise.all(lanes);
        noisyDone = Date.now();
      })()
    : Promise.resolve();
  // Awaited after B's submits; until then a failure must not go unhandled.
  flood.catch(() => undefined);
  // B: 50 jobs spread over the flood, one at a time.
  const quietIds: string[] = [];
  for (let i = 0; i < QUIET_JOBS; i++) {
    await sleep(QUIET_SPREAD_MS / QUIET_JOBS);
    quietIds.push(((await post(`${apiUrl}/jobs/webhook`, { url: `${quietTarget.url}/b/${i}`, body: {} }, { 'idempotency-key': `b-${round}-${i}` })) as { jobId: string }).jobId);
  }
  await flood;
  const floodEnded = noisyDone ?? Date.now();
  const quiet = await finished(apiUrl, quietIds, 600_000);
  const latencies = quiet.map((q) => q.finishedAt - q.createdAt);
  // B's jobs submitted once A's submits were all answered: on this machine A's submits (the local API and
  // DynamoDB Local on the workers' two cores) slow every job while they last, which fair queues cannot help.
  const afterSubmits = quiet.filter((q) => q.createdAt > floodEnded).map((q) => q.finishedAt - q.createdAt);
  // Where B's tail is: its slowest jobs, by when they were submitted (during A's submits, or after).
  const slowest = [...quiet].sort((x, y) => y.finishedAt - y.createdAt - (x.finishedAt - x.createdAt)).slice(0, 5);
  const at = (ms: number) => `+${((ms - started) / 1000).toFixed(1)} s`;
  const run: FairnessRun = {
    name,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    slowest: slowest.map((q) => `${q.finishedAt - q.createdAt} ms (submitted ${at(q.createdAt)}, started ${q.startedAt - q.createdAt} ms after)`).join(', '),
    ...(noisy ? { noisySubmitsSeconds: (floodEnded - started) / 1000, p95AfterSubmitsMs: quantile(afterSubmits, 0.95) } : {}),
  };
  if (noisy) run.noisyDrainSeconds = (Math.max(...(await finished(apiUrl, noisyIds, 900_000)).map((j) => j.finishedAt)) - started) / 1000;
  return run;
}

/** The three runs, each on a fresh local runtime (its own queues) of the given DynamoDB Local. */
export async function measureFairness(dynamodbEndpoint: string, log: (line: string) => void = () => {}): Promise<FairnessRun[] | { skipped: string }> {
  const { startLocalRuntime } = await import('../local/runtime');
  const { startWebhookReceiver } = await import('../test/support/webhook-receiver');
  const a = await startWebhookReceiver();
  const b = await startWebhookReceiver();
  for (const receiver of [a, b]) receiver.respond = () => sleep(HANDLER_MS).then(() => 200);
  const runs: FairnessRun[] = [];
  // One runtime for the three runs (each waits until A's jobs are done, so the queue is empty between them,
  // and every run finds warm environments). Two runtimes one after the other in one process answered 500s
  // to the second's batch submits (not investigated; see the closing note of 2026-12-04).
  let runtime: LocalRuntime | undefined;
  try {
    runtime = await startLocalRuntime({
      port: 0,
      endpoints: { dynamodb: dynamodbEndpoint },
      namePrefix: `benchfair${Date.now().toString(36)}-`,
      // What a failing function says, for the report of a failed run.
      onFunctionLog: (fn, line) => {
        if (/"level":"ERROR"|Task timed out|Runtime\./.test(line)) log(`  ${fn}: ${line.slice(0, 300)}`);
      },
    });
    // Every worker environment warm before the runs, as B alone finds them: A's flood would otherwise start
    // eight environments cold on a machine its submits saturate (one run: B's slowest job, 14 s, was
    // submitted 1.6 s in). One batch of 100 fills the webhook worker's 10 x 10.
    const warmup = (await post(`${runtime.apiUrl}/jobs/webhook/batch`, {
      jobs: Array.from({ length: 100 }, (_, j) => ({ payload: { url: `${a.url}/warm/${j}`, body: {} }, idempotencyKey: `warm-${j}` })),
    })) as { results: { jobId?: string }[] };
    await finished(
      runtime.apiUrl,
      warmup.results.map((r) => r.jobId!),
      120_000,
    );
    for (const name of (process.env.BENCH_FAIRNESS_RUNS?.split(',') ?? ['B alone', 'with tenant keys', 'without tenant keys']) as FairnessRun['name'][]) {
      const run = await runOnce(name, runtime.apiUrl, a, b, runs.length);
      log(
        `fairness: ${name}: B's p50 ${run.p50Ms} ms, p95 ${run.p95Ms} ms; slowest ${run.slowest}` +
          (run.noisyDrainSeconds ? `; A's submits answered by +${run.noisySubmitsSeconds!.toFixed(1)} s, its jobs drained by +${run.noisyDrainSeconds.toFixed(1)} s` : ''),
      );
      runs.push(run);
    }
    return runs;
  } catch (error) {
    return { skipped: `local runtime run failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  } finally {
    await runtime?.stop().catch(() => undefined);
    await a.close();
    await b.close();
  }
}

export function fairnessRows(result: FairnessRun[] | { skipped: string }): Row[] {
  const benchmark = `noisy neighbour (local runtime): tenant A ${NOISY_JOBS.toLocaleString('en-US')} webhooks at once, tenant B ${QUIET_JOBS} over ${QUIET_SPREAD_MS / 1000} s, ${HANDLER_MS} ms target`;
  if ('skipped' in result) return [{ benchmark, metric: "B's p95 latency", jobline: `skipped: ${result.skipped}` }];
  const by = (name: FairnessRun['name']) => result.find((r) => r.name === name);
  const withKeys = by('with tenant keys');
  const without = by('without tenant keys');
  const alone = by('B alone');
  // BENCH_FAIRNESS_RUNS may choose some of the runs: a comparison is shown only when both its runs were made.
  const rows: Row[] = [];
  if (withKeys && without)
    rows.push({
      benchmark,
      metric: "B's p95 submit to SUCCEEDED, ms: with tenant keys vs without",
      jobline: withKeys.p95Ms,
      powertools: without.p95Ms,
      ratio: without.p95Ms / withKeys.p95Ms,
    });
  if (withKeys && alone)
    rows.push({
      benchmark,
      metric: "B's p95 submit to SUCCEEDED, ms: with tenant keys vs B alone",
      jobline: withKeys.p95Ms,
      powertools: alone.p95Ms,
      ratio: withKeys.p95Ms / alone.p95Ms,
    });
  const each = (pick: (run: FairnessRun) => string) => result.map((run) => `${run.name}: ${pick(run)}`).join(' / ');
  rows.push({ benchmark, metric: "B's p95 and p50, ms", jobline: each((run) => `${Math.round(run.p95Ms)} and ${Math.round(run.p50Ms)}`) });
  const noisyRuns = result.filter((run) => run.p95AfterSubmitsMs !== undefined);
  if (noisyRuns.length > 0)
    rows.push({
      benchmark,
      metric: "B's p95 over its jobs submitted after A's submits were answered, ms",
      jobline: noisyRuns.map((run) => `${run.name}: ${Math.round(run.p95AfterSubmitsMs!)} (A's submits took ${run.noisySubmitsSeconds!.toFixed(1)} s)`).join(' / '),
    });
  rows.push({
    benchmark,
    metric: `A's ${NOISY_JOBS.toLocaleString('en-US')} drained, s`,
    jobline: each((run) => (run.noisyDrainSeconds === undefined ? '–' : run.noisyDrainSeconds.toFixed(1))),
  });
  return rows;
}

// `npx tsx bench/fairness.ts`: the noisy-neighbour rows alone, on a DynamoDB Local of their own.
if (isMainModule(import.meta.url)) await printRowsAlone(async (endpoint) => fairnessRows(await measureFairness(endpoint, (line) => process.stderr.write(`${line}\n`))));

/** The targets for the noisy neighbour: B's p95 with tenant keys ≥ 5x better than without, and within 2x of B alone. */
export function fairnessTargets(result: FairnessRun[] | { skipped: string }): Target[] {
  if ('skipped' in result) return [];
  const p95 = (name: FairnessRun['name']) => result.find((r) => r.name === name)?.p95Ms;
  const [withKeys, without, alone] = [p95('with tenant keys'), p95('without tenant keys'), p95('B alone')];
  const out: Target[] = [];
  if (withKeys !== undefined && without !== undefined) {
    const better = without / withKeys;
    out.push({ name: "noisy neighbour: B's p95 with tenant keys ≥ 5x better than without", pass: better >= 5, detail: `${better.toFixed(1)}x` });
  }
  if (withKeys !== undefined && alone !== undefined) {
    const overAlone = withKeys / alone;
    out.push({ name: "noisy neighbour: B's p95 with tenant keys within 2x of B alone", pass: overAlone <= 2, detail: `${overAlone.toFixed(1)}x` });
  }
  return out;
}
