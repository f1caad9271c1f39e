/**
 * The lifecycle's two measured claims (no Powertools peer: it has neither a list nor delays):
 *
 * - listing: a page of 100 jobs of one type and state costs the same DynamoDB round trips among 1,000
 *   jobs as among 100,000 (a Query per shard of the list index and one BatchGetItem, never a Scan). The
 *   table is seeded with BatchWriteItem: 99% SUCCEEDED, 1% FAILED, one owner.
 * - delays: how late after its run time a delayed job is released to its worker (its RUNNING entry in the
 *   timeline) and its webhook call arrives, on the local runtime (SQS DelaySeconds in the emulator, the
 *   runtime's poller, the worker), for jobs submitted with ?delay= to a warm worker.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriteItemCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../local/provision';
import { jobTableSchema } from '../shared/store/table-schema';
import { listJobs } from '../shared/store/job-list';
import { toItem, type JobRecord } from '../shared/store/job-record';
import type { JobStatus } from '../shared/store/job-states';
import { mapLimit } from '../shared/worker/map-limit';
import { quantile } from './stats';
import { renderTable, type Row } from './table';

const OWNER = 'bench-owner';

function record(n: number, status: JobStatus, now: number): JobRecord {
  const at = new Date(now - (1_000_000 - n) * 10).toISOString();
  return {
    jobId: randomUUID(),
    type: 'webhook',
    status,
    generation: 1,
    attempts: 1,
    payloadHash: 'h',
    payloadBytes: 60,
    payload: '{"url":"https://example.invalid/hook","body":{}}',
    owner: OWNER,
    createdAt: at,
    updatedAt: at,
    expiresAt: Math.floor(now / 1000) + 86_400,
    history: [{ state: status, at, generation: 1 }],
    ...(status === 'SUCCEEDED' ? { result: { status: 200 }, finishedAt: at } : {}),
    ...(status === 'FAILED' ? { error: 'PermanentError: webhook target answered 422', finishedAt: at } : {}),
  };
}

async function seed(client: DynamoDBClient, table: string, from: number, to: number, now: number): Promise<void> {
  const batches: JobRecord[][] = [];
  for (let n = from; n < to; n += 25) {
    batches.push(Array.from({ length: Math.min(25, to - n) }, (_, i) => record(n + i, (n + i) % 100 === 0 ? 'FAILED' : 'SUCCEEDED', now)));
  }
  await mapLimit(batches, 8, async (batch) => {
    let items = batch.map((job) => ({ PutRequest: { Item: toItem(job) } }));
    while (items.length > 0) {
      const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: items } }));
      items = (UnprocessedItems?.[table] ?? []) as typeof items;
    }
  });
}

export interface ListPoint {
  jobs: number;
  state: JobStatus;
  requests: number;
  returned: number;
  ms: number;
}

export async function runListBench(client: DynamoDBClient, sizes: readonly number[], log: (line: string) => void): Promise<ListPoint[]> {
  const table = `bench-list-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, jobTableSchema(table));
  const now = Date.now();
  const points: ListPoint[] = [];
  let seeded = 0;
  try {
    for (const size of sizes) {
      const started = Date.now();
      await seed(client, table, seeded, size, now);
      seeded = size;
      log(`list bench: ${size} jobs seeded (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      for (const state of ['FAILED', 'SUCCEEDED'] as const) {
        const t0 = performance.now();
        const page = await listJobs(client, table, { owner: OWNER, types: ['webhook'], states: [state], limit: 100 }, Date.now());
        points.push({ jobs: size, state, requests: page.requests, returned: page.jobs.length, ms: performance.now() - t0 });
      }
    }
  } finally {
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  }
  return points;
}

export function listRows(points: readonly ListPoint[]): Row[] {
  return points.map((p) => ({
    benchmark: `GET /jobs: a page of 100 ${p.state} jobs of one type among ${p.jobs.toLocaleString('en-US')}`,
    metric: `DynamoDB round trips (${p.returned} returned, ${p.ms.toFixed(0)} ms)`,
    jobline: p.requests,
  }));
}

export interface DelayResult {
  jobs: number;
  delaySeconds: number;
  /** The job's RUNNING timeline entry (the worker's claim) minus its run time, ms. */
  releaseP50Ms: number;
  releaseP99Ms: number;
  releaseMaxMs: number;
  /** Arrival of the webhook call minus the job's run time, ms. */
  lateP50Ms: number;
  lateP99Ms: number;
  lateMaxMs: number;
  /** Calls that arrived before their run time (must be 0). */
  early: number;
}

/** Submits `jobs` webhook jobs with ?delay= to the local runtime at `apiUrl`, calling `receiverUrl`, and waits for every call. */
export async function runDelayBench(
  apiUrl: string,
  receiver: { url: string; arrivals: Map<string, number> },
  options: { jobs: number; delaySeconds: number },
): Promise<DelayResult> {
  const runAt = new Map<string, number>();
  // A first job without a delay starts the worker's execution environment: what is measured is the delay
  // mechanism on a running stack, not a cold start (which a deployed worker pays once, not per job).
  const warm = await fetch(`${apiUrl}/jobs/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${receiver.url}/warm`, body: {} }),
  });
  const warmId = ((await warm.json()) as { jobId: string }).jobId;
  const warmDeadline = Date.now() + 60_000;
  while (!receiver.arrivals.has(warmId) && Date.now() < warmDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
  // One at a time, 50 ms apart: the jobs come due spread out, so what is measured is how late the delay
  // mechanism lets each one run, not how fast a backlog drains.
  for (let i = 0; i < options.jobs; i++) {
    const response = await fetch(`${apiUrl}/jobs/webhook?delay=${options.delaySeconds}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/delayed/${i}`, body: { i } }),
    });
    const body = (await response.json()) as { jobId: string; runAt: string };
    runAt.set(body.jobId, Date.parse(body.runAt));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const deadline = Date.now() + (options.delaySeconds + 60) * 1000;
  while ([...runAt.keys()].some((id) => !receiver.arrivals.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const late = [...runAt].filter(([id]) => receiver.arrivals.has(id)).map(([id, at]) => receiver.arrivals.get(id)! - at);
  const released: number[] = [];
  for (const [id, at] of runAt) {
    const view = (await (await fetch(`${apiUrl}/jobs/${id}`)).json()) as { history?: { state: string; at: string }[] };
    const running = view.history?.find((entry) => entry.state === 'RUNNING');
    if (running) released.push(Date.parse(running.at) - at);
  }
  return {
    jobs: late.length,
    delaySeconds: options.delaySeconds,
    releaseP50Ms: quantile(released, 0.5),
    releaseP99Ms: quantile(released, 0.99),
    releaseMaxMs: Math.max(...released),
    lateP50Ms: quantile(late, 0.5),
    lateP99Ms: quantile(late, 0.99),
    lateMaxMs: Math.max(...late),
    early: late.filter((ms) => ms < 0).length,
  };
}

export function delayRows(d: DelayResult): Row[] {
  const benchmark = `delayed jobs (?delay=${d.delaySeconds}, ${d.jobs} webhooks 50 ms apart, local runtime)`;
  return [
    { benchmark, metric: 'released after its run time, p50 ms', jobline: d.releaseP50Ms },
    { benchmark, metric: 'released after its run time, p99 ms', jobline: d.releaseP99Ms },
    { benchmark, metric: 'released after its run time, max ms', jobline: d.releaseMaxMs },
    { benchmark, metric: 'call after its run time, p50 ms', jobline: d.lateP50Ms },
    { benchmark, metric: 'call after its run time, p99 ms', jobline: d.lateP99Ms },
    { benchmark, metric: 'call after its run time, max ms', jobline: d.lateMaxMs },
    { benchmark, metric: 'calls before their run time', jobline: d.early },
  ];
}

/** The delay measurement on a local runtime of this repository's app, on the bench's DynamoDB Local. */
export async function measureDelaysOnLocalRuntime(dynamodbEndpoint: string, options: { jobs: number; delaySeconds: number }): Promise<DelayResult | { skipped: string }> {
  const { startLocalRuntime } = await import('../local/runtime');
  const { startWebhookReceiver } = await import('../test/support/webhook-receiver');
  const receiver = await startWebhookReceiver();
  let runtime: Awaited<ReturnType<typeof startLocalRuntime>> | undefined;
  try {
    runtime = await startLocalRuntime({ port: 0, endpoints: { dynamodb: dynamodbEndpoint }, namePrefix: `benchdelay${Date.now().toString(36)}-` });
    const arrivals = new Map<string, number>();
    const seen = receiver.log;
    const view = {
      url: receiver.url,
      get arrivals() {
        for (const call of seen) if (!arrivals.has(call.key)) arrivals.set(call.key, call.at);
        return arrivals;
      },
    };
    return await runDelayBench(runtime.apiUrl, view, options);
  } catch (error) {
    return { skipped: `local runtime not available (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  } finally {
    await runtime?.stop().catch(() => undefined);
    await receiver.close();
  }
}

// `npx tsx bench/lifecycle.ts`: the delay rows alone (BENCH_DELAY_JOBS, default 100), on a DynamoDB Local of their own.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const value = Number(process.env.BENCH_DELAY_JOBS);
  const jobs = Number.isFinite(value) && value > 0 ? value : 100;
  process.env.JOBLINE_LOG_LEVEL ??= 'error';
  const { startDynamoDbLocal } = await import('../local/emulators/dynamodb-local');
  const dynamodb = await startDynamoDbLocal();
  try {
    const delays = await measureDelaysOnLocalRuntime(dynamodb.endpoint, { jobs, delaySeconds: 5 });
    process.stdout.write(`${'skipped' in delays ? delays.skipped : renderTable(delayRows(delays))}\n`);
  } finally {
    await dynamodb.stop();
  }
}
