/**
 * `npm run bench`: jobline against Powertools for AWS Lambda, side by side in one run, on one DynamoDB
 * Local. Worker throughput (transactional and leased jobs, 0% and 30% duplicates), cold start, and API
 * submit throughput. Prints a markdown table and the targets, and writes them to bench/results/latest.md.
 * It is a measurement, not a test: it exits 0 when a target is missed, and says so.
 *
 * Knobs: BENCH_RECORDS (deliveries per design per scenario, default 5000), BENCH_ROUNDS (default 10),
 * BENCH_WARMUP_RECORDS (default 1000), BENCH_COLD_SAMPLES (default 20), BENCH_API_SECONDS (default 10),
 * BENCH_LIST_JOBS (jobs in the table for the list row, default 100000), BENCH_DELAY_JOBS (default 100),
 * JOBLINE_API_URL (measure this API instead of starting the local runtime).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startDynamoDbLocal } from '../local/emulators/dynamodb-local';
import { startSqsEmulator } from '../local/emulators/sqs';
import { BATCH_CLIENTS, BATCH_JOBS, runApiBench, type ApiResult } from './api';
import { delayRows, listRows, measureDelaysOnLocalRuntime, runListBench } from './lifecycle';
import { measurePlannerError, plannerRows } from './planner';
import { fairnessRows, fairnessTargets, measureFairness } from './fairness';
import { measureRateLimit, rateLimitRows, rateLimitTargets } from './limits';
import { benchDynamoClient } from './clients';
import { coldDetails, coldRows, measureColdStart, type ColdStartResult } from './cold-start';
import { joblineDesign, powertoolsDesign } from './designs';
import { startReceiver } from './receiver';
import { median, quantile } from './stats';
import { ratioOf, renderTable, renderTargets, type Row, type Target } from './table';
import type { Check } from './verify';
import { runScenario, type DesignTotals, type Scenario, type ScenarioResult } from './worker-throughput';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const RECORDS = num('BENCH_RECORDS', 5000);
const ROUNDS = num('BENCH_ROUNDS', 10);
const WARMUP_RECORDS = num('BENCH_WARMUP_RECORDS', 1000);
const COLD_SAMPLES = num('BENCH_COLD_SAMPLES', 20);
const API_SECONDS = num('BENCH_API_SECONDS', 10);
const LIST_JOBS = num('BENCH_LIST_JOBS', 100_000);
const DELAY_JOBS = num('BENCH_DELAY_JOBS', 100);

// Progress goes to stderr; stdout carries the report.
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Median of the rounds' records/s: a burst of load from another process moves one round, not the figure. */
const rate = (t: DesignTotals) => median(t.roundRates);

const LABEL = { transfer: 'transactional job (transfer)', webhook: 'leased job (webhook)' } as const;
const scenarioName = (s: Scenario) => `worker, ${LABEL[s.kind]}, ${Math.round(s.duplicateShare * 100)}% dup`;

function workerRows(result: ScenarioResult): Row[] {
  const name = scenarioName(result.scenario);
  const j = result.designs.jobline!;
  const p = result.designs.powertools!;
  const per = (t: DesignTotals, v: number) => v / t.records;
  const row = (metric: string, f: (t: DesignTotals) => number): Row => ({ benchmark: name, metric, jobline: f(j), powertools: f(p), ratio: ratioOf(f(j), f(p)) });
  const ok = (t: DesignTotals) => (t.checks.every((c) => c.ok) && t.unfinished === 0 ? 'OK' : 'WRONG');
  return [
    row(`records/s (median of ${result.scenario.rounds} rounds)`, rate),
    row('DynamoDB round trips/record', (t) => per(t, t.counts.requests)),
    row('write request units/record', (t) => per(t, t.counts.wru)),
    row('read request units/record', (t) => per(t, t.counts.rru)),
    row('worker CPU ms/record', (t) => per(t, t.workerCpuMs)),
    row('DynamoDB Local CPU ms/record', (t) => per(t, t.dynamodbCpuMs)),
    { benchmark: name, metric: 'records redelivered (batch item failures)', jobline: j.redelivered, powertools: p.redelivered },
    { benchmark: name, metric: 'each job applied exactly once', jobline: ok(j), powertools: ok(p) },
  ];
}

function apiRows(a: ApiResult): Row[] {
  const benchmark = 'API submit (POST /jobs/transfer, 32 keep-alive clients)';
  if ('skipped' in a) return [{ benchmark, metric: 'requests/s', jobline: `skipped: ${a.skipped}` }];
  return [
    { benchmark, metric: 'requests/s', jobline: a.perSecond },
    { benchmark, metric: 'latency p50 ms', jobline: a.p50Ms },
    { benchmark, metric: 'latency p99 ms', jobline: a.p99Ms },
    { benchmark, metric: `non-202 answers (of ${a.requests})`, jobline: a.errors },
    ...batchRows(a),
  ];
}

/** Batch submit against the single-submit figure of the same run: jobs accepted per second. */
function batchRows(a: Exclude<ApiResult, { skipped: string }>): Row[] {
  const benchmark = `API batch submit (POST /jobs/transfer/batch, ${BATCH_JOBS} jobs a request, ${BATCH_CLIENTS} clients)`;
  const ratio = a.batch.jobsPerSecond / a.perSecond;
  return [
    { benchmark, metric: 'jobs/s (ratio: to single submit, same run)', jobline: a.batch.jobsPerSecond, ratio },
    { benchmark, metric: 'request latency p50 ms', jobline: a.batch.p50Ms },
    { benchmark, metric: `jobs not accepted (of ${a.batch.jobs})`, jobline: a.batch.jobs - a.batch.acceptedJobs },
  ];
}

function targets(results: ScenarioResult[], cold: ColdStartResult, api: ApiResult): Target[] {
  const pair = (kind: string, share: number) => {
    const r = results.find((x) => x.scenario.kind === kind && x.scenario.duplicateShare === share)!;
    return { j: r.designs.jobline!, p: r.designs.powertools! };
  };
  const trips = (t: DesignTotals) => t.counts.requests / t.records;
  // A speed or round-trip figure of a run that did not do the work (a job not applied, or applied twice) is
  // not a result: its target is missed, whatever the number (a run that retries every record is "fast").
  const correct = (t: DesignTotals) => t.checks.every((c) => c.ok) && t.unfinished === 0;
  const unless = (j: DesignTotals, p: DesignTotals, pass: boolean, detail: string) =>
    correct(j) && correct(p) ? { pass, detail } : { pass: false, detail: `${detail}; not counted: ${correct(j) ? 'Powertools' : 'jobline'} did not apply every job exactly once` };
  const out: Target[] = [];
  for (const share of [0, 0.3]) {
    const { j, p } = pair('transfer', share);
    const ratio = rate(j) / rate(p);
    out.push({
      name: `transactional job, ${share * 100}% duplicates: jobline ≥ 1.5x Powertools records/s`,
      ...unless(j, p, ratio >= 1.5, `${ratio.toFixed(2)}x (${rate(j).toFixed(0)} vs ${rate(p).toFixed(0)} records/s)`),
    });
  }
  const t0 = trips(pair('transfer', 0).j);
  out.push({
    name: 'transactional job, 0% duplicates: jobline ≤ 1.1 DynamoDB round trips/record',
    ...unless(pair('transfer', 0).j, pair('transfer', 0).p, t0 <= 1.1 + 1e-9, `${t0.toFixed(3)}`),
  });
  for (const share of [0, 0.3]) {
    const { j, p } = pair('webhook', share);
    out.push({
      name: `leased job, ${share * 100}% duplicates: jobline no slower than Powertools`,
      ...unless(j, p, rate(j) >= rate(p), `${(rate(j) / rate(p)).toFixed(2)}x (${rate(j).toFixed(0)} vs ${rate(p).toFixed(0)} records/s)`),
    });
    out.push({
      name: `leased job, ${share * 100}% duplicates: jobline no more round trips/record`,
      ...unless(j, p, trips(j) <= trips(p) + 1e-9, `${trips(j).toFixed(3)} vs ${trips(p).toFixed(3)}`),
    });
  }
  out.push({
    name: `jobline's ${cold.jobType} worker bundle ≤ Powertools' ${cold.jobType} worker bundle`,
    pass: cold.jobline.bytes <= cold.powertools.bytes,
    detail: `${cold.jobline.bytes} vs ${cold.powertools.bytes} bytes (${(cold.jobline.bytes / cold.powertools.bytes).toFixed(3)}x)`,
  });
  out.push({
    name: 'each worker bundle holds only its own handler (transfer: no webhook code; webhook: no transfer code)',
    pass: cold.handlerCheck.every((line) => line.includes(': OK,')),
    detail: `checked by marker strings in ${cold.handlerCheck.length} bundles (see Details)`,
  });
  if (!('skipped' in api)) {
    const ratio = api.batch.jobsPerSecond / api.perSecond;
    out.push({
      name: `batch submit (${BATCH_JOBS} jobs a request) ≥ 5x single submit, jobs/s`,
      pass: ratio >= 5,
      detail: `${ratio.toFixed(2)}x (${api.batch.jobsPerSecond.toFixed(0)} vs ${api.perSecond.toFixed(0)} jobs/s)`,
    });
  }
  const init = cold.jobline.sinceSpawnMs / cold.powertools.sinceSpawnMs;
  out.push({
    name: 'jobline init time ≤ 0.9x Powertools',
    pass: init <= 0.9,
    detail: `${init.toFixed(2)}x (${cold.jobline.sinceSpawnMs.toFixed(1)} vs ${cold.powertools.sinceSpawnMs.toFixed(1)} ms)`,
  });
  const wrong = results.flatMap((r) =>
    Object.entries(r.designs)
      .filter(([, t]) => !correct(t))
      .map(([d]) => `${d} in ${scenarioName(r.scenario)}`),
  );
  out.push({
    name: 'correctness: every design applied every job exactly once',
    pass: wrong.length === 0,
    detail: wrong.length === 0 ? 'all runs checked' : `WRONG: ${wrong.join('; ')}`,
  });
  return out;
}

function details(results: ScenarioResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(
      `- ${scenarioName(r.scenario)}: ${r.scenario.records} deliveries per design in ${r.scenario.rounds} rounds (duplicates: ${r.inBatchDuplicates} in the original's batch, ${r.laterDuplicates} in later batches)`,
    );
    for (const [name, t] of Object.entries(r.designs)) {
      const commands = Object.entries(t.counts.byCommand)
        .map(([c, n]) => `${c.replace(/Command$/, '')} ${n} (mean ${((t.counts.msByCommand[c] ?? 0) / n).toFixed(1)} ms)`)
        .join(', ');
      const at = (q: number) => quantile(t.batchMs, q).toFixed(1);
      const rounds = t.roundRates.map((r) => r.toFixed(0)).join(' ');
      lines.push(
        `  - ${name}: ${t.seconds.toFixed(1)} s (${(t.records / t.seconds).toFixed(0)} records/s overall; by round: ${rounds}); invocation ms p50 ${at(0.5)}, p90 ${at(0.9)}; requests: ${commands}; SQS calls (backoff/DLQ): ${t.queueCalls}; redelivered ${t.redelivered}, unfinished ${t.unfinished}`,
      );
      const sum = (f: (c: Check) => number) => t.checks.reduce((n, c) => n + f(c), 0);
      const what = r.scenario.kind === 'transfer' ? 'transfers applied (balances)' : 'receiver calls per Idempotency-Key';
      lines.push(`    - check, ${what}: once ${sum((c) => c.once)}/${sum((c) => c.jobs)}, more than once ${sum((c) => c.more)}, never ${sum((c) => c.never)}`);
      for (const c of t.checks.filter((x) => !x.ok)) lines.push(`    - WRONG: ${c.summary}`);
    }
  }
  return lines.join('\n');
}

/**
 * Runs a part on a DynamoDB Local of its own, as `npx tsx bench/<part>.ts` does: on the JVM that has served
 * the scenarios above (their tables and a heap grown by them), the noisy neighbour of 2026-12-06 measured a
 * p95 of 196 s where the same code alone measured 8.9 s, so a part would measure what came before it.
 */
async function onFreshDynamoDb<T>(part: (endpoint: string) => Promise<T>): Promise<T> {
  const dynamodb = await startDynamoDbLocal();
  try {
    return await part(dynamodb.endpoint);
  } finally {
    await dynamodb.stop();
  }
}

/** Which code was measured: the commit, and any uncommitted change to the code under test. */
function codeState(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    const changed = git('status', '--porcelain', '--', 'shared', 'functions', 'local', 'app', 'infra', 'bench', ':!bench/results')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    return `commit ${git('rev-parse', '--short', 'HEAD')}${changed.length > 0 ? ` + uncommitted changes to ${changed.join(', ')}` : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

/** The label of the code measured; a change during the run is said, since its parts may have measured different code. */
function codeMeasured(atStart: string, atEnd: string): string {
  return atStart === atEnd ? atStart : `${atStart} at the start, ${atEnd} at the end (the code changed during the run: its later parts measured other code)`;
}

async function main() {
  const started = performance.now();
  // Parts bundle or import the code when they start, so the label is taken at the start and checked at the end.
  const codeAtStart = codeState();
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.JOBLINE_LOG_LEVEL = 'error';
  // The benchmark's webhook receiver listens on loopback, which the webhook guard refuses unless allowed.
  process.env.JOBLINE_WEBHOOK_ALLOW ??= 'loopback';

  progress('starting DynamoDB Local and the SQS emulator...');
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  // Every client below, both designs', is created after this: one endpoint for all.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.endpoint;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
  const receiver = await startReceiver();
  try {
    const shared = { admin: benchDynamoClient(), receiver };
    const designs = [joblineDesign(shared), powertoolsDesign(shared)] as const;

    // DynamoDB Local's JVM (and this process's JIT) is far slower on its first thousands of requests.
    progress(`warming up (${WARMUP_RECORDS} records per design and job kind, not counted)...`);
    for (const kind of ['transfer', 'webhook'] as const)
      await runScenario({ kind, duplicateShare: 0.3, records: WARMUP_RECORDS, rounds: 2 }, designs, { receiverUrl: receiver.url, seedBase: 1 });

    const results: ScenarioResult[] = [];
    let seed = 1000;
    for (const kind of ['transfer', 'webhook'] as const) {
      for (const duplicateShare of [0, 0.3]) {
        const scenario = { kind, duplicateShare, records: RECORDS, rounds: ROUNDS };
        progress(`${scenarioName(scenario)}:`);
        results.push(await runScenario(scenario, designs, { receiverUrl: receiver.url, seedBase: (seed += 100), dynamodbPid: dynamodb.process.pid, onProgress: progress }));
      }
    }

    progress(`cold start (${COLD_SAMPLES} fresh processes per worker; \`npx tsx bench/cold-start.ts\` runs this part alone)...`);
    const cold = await measureColdStart({ dynamodb: dynamodb.endpoint, sqs: sqs.endpoint }, COLD_SAMPLES);

    progress('API submit...');
    const api = await onFreshDynamoDb((endpoint) => runApiBench({ dynamodbEndpoint: endpoint, seconds: API_SECONDS, log: progress }));

    progress(`lifecycle: a page of the list among 1,000 and ${LIST_JOBS.toLocaleString('en-US')} jobs...`);
    const list = await runListBench(benchDynamoClient(), [1000, LIST_JOBS], progress);
    progress('lifecycle: delayed jobs on the local runtime...');
    const delays = await onFreshDynamoDb((endpoint) => measureDelaysOnLocalRuntime(endpoint, { jobs: DELAY_JOBS, delaySeconds: 5 }));
    progress('capacity planner: a planned workload on the local runtime (`npx tsx bench/planner.ts` runs this part alone)...');
    const planner = await onFreshDynamoDb((endpoint) => measurePlannerError(endpoint));
    progress('fairness: the noisy neighbour on the local runtime (`npx tsx bench/fairness.ts` runs this part alone)...');
    const fairness = await onFreshDynamoDb((endpoint) => measureFairness(endpoint, progress));
    progress('rate limit: 20 workers compete for one key for a minute (`npx tsx bench/limits.ts` runs this part alone)...');
    const rateLimit = await onFreshDynamoDb((endpoint) => measureRateLimit(endpoint));

    const rows = [
      ...results.flatMap(workerRows),
      ...coldRows(cold),
      ...apiRows(api),
      ...listRows(list),
      ...('skipped' in delays ? [{ benchmark: 'delayed jobs', metric: 'call after its run time', jobline: `skipped: ${delays.skipped}` }] : delayRows(delays)),
      ...plannerRows(planner),
      ...fairnessRows(fairness),
      ...rateLimitRows(rateLimit),
    ];
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    const machine = `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}`;
    const report = [
      `# jobline vs Powertools for AWS Lambda`,
      '',
      `${new Date().toISOString()} · ${machine} · DynamoDB Local (one JVM for both designs) · run took ${minutes} min`,
      '',
      `Code measured: ${codeMeasured(codeAtStart, codeState())}.`,
      '',
      'ratio = jobline / Powertools: higher is better for records/s, lower is better for everything else.',
      '',
      renderTable(rows),
      '',
      '## Targets',
      '',
      renderTargets([...targets(results, cold, api), ...fairnessTargets(fairness), ...rateLimitTargets(rateLimit)]),
      '',
      '## Details',
      '',
      details(results),
      ...coldDetails(cold),
      ...('skipped' in api ? [] : [`- API: ${api.requests} requests in ${api.seconds.toFixed(1)} s against ${api.baseUrl}, ${api.accepted} answered 202`]),
      '',
    ].join('\n');
    process.stdout.write(`${report}\n`);
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}latest.md`, report);
    progress(`written to bench/results/latest.md`);
  } finally {
    await receiver.close();
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
