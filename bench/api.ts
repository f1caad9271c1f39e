/**
 * API submit throughput and latency over HTTP: 32 clients with keep-alive connections, each sending
 * POST /jobs/transfer (with its own Idempotency-Key) back to back for a fixed time; then the same clients
 * sending POST /jobs/transfer/batch with 100 jobs each (4 at a time) for as long. The batch row is a ratio to the
 * single-submit row of the same run. There is no Powertools peer for these rows.
 *
 * Where the API is: JOBLINE_API_URL if set; otherwise the local runtime, started here when
 * local/runtime.ts exists and exports a starter (`startLocalStack`, or `startLocalRuntime`), pointed at
 * the benchmark's DynamoDB Local. Otherwise the row is skipped, and says so.
 */
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { quantile } from './stats';

export type ApiResult =
  | { skipped: string }
  | {
      baseUrl: string;
      clients: number;
      seconds: number;
      requests: number;
      accepted: number;
      errors: number;
      perSecond: number;
      p50Ms: number;
      p99Ms: number;
      /** BATCH_CLIENTS clients sending POST /jobs/transfer/batch with BATCH_JOBS jobs each, right after. */
      batch: { seconds: number; requests: number; jobs: number; acceptedJobs: number; jobsPerSecond: number; p50Ms: number };
    };

const CLIENTS = 32;
export const BATCH_JOBS = 100;
/**
 * Batch requests in flight at once: 4 x 100 jobs keeps the machine as busy as 32 single submits do, where
 * 32 x 100 jobs would only queue requests behind each other until the gateway's 30 s timeout.
 */
export const BATCH_CLIENTS = 4;

type Starter = (options: Record<string, unknown>) => Promise<{ apiUrl?: string; url?: string; baseUrl?: string; stop?: () => Promise<void> }>;

async function findStarter(): Promise<Starter | string> {
  const file = fileURLToPath(new URL('../local/runtime.ts', import.meta.url));
  if (!existsSync(file)) return 'local/runtime.ts does not exist';
  // A computed specifier: the module may not exist yet, and must not break the type check when it doesn't.
  const specifier = new URL('../local/runtime.ts', import.meta.url).href;
  const mod = (await import(specifier)) as Record<string, unknown>;
  const starter = mod.startLocalStack ?? mod.startLocalRuntime;
  return typeof starter === 'function' ? (starter as Starter) : 'local/runtime.ts exports neither startLocalStack nor startLocalRuntime';
}

function post(agent: Agent, url: URL, body: string, key?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(key ? { 'idempotency-key': key } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `clients` lanes calling `once(i)` back to back until `until`; each call's latency in ms. */
async function drive(until: number, once: (i: number) => Promise<void>, clients = CLIENTS): Promise<number[]> {
  const latencies: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const start = performance.now();
        await once(n++);
        latencies.push(performance.now() - start);
      }
    }),
  );
  return latencies;
}

const transferOf = (i: number) => ({ from: `api-a-${i}`, to: `api-b-${i}`, amount: 1 + (i % 100) });

export async function measureSubmit(baseUrl: string, seconds: number): Promise<ApiResult> {
  const url = new URL('/jobs/transfer', baseUrl);
  const batchUrl = new URL('/jobs/transfer/batch', baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  let accepted = 0;
  let errors = 0;
  const single = (record: boolean) => async (i: number) => {
    const status = await post(agent, url, JSON.stringify(transferOf(i)), `bench-${process.pid}-${record ? 'r' : 'w'}-${i}`).then(
      (r) => r.status,
      () => 0,
    );
    if (!record) return;
    if (status === 202) accepted++;
    else errors++;
  };
  let batchJobs = 0;
  let batchAccepted = 0;
  const batch = async (i: number) => {
    const jobs = Array.from({ length: BATCH_JOBS }, (_, j) => ({ payload: transferOf(1_000_000 + i * BATCH_JOBS + j), idempotencyKey: `bench-${process.pid}-b-${i}-${j}` }));
    batchJobs += jobs.length;
    const answer = await post(agent, batchUrl, JSON.stringify({ jobs })).catch(() => ({ status: 0, body: '' }));
    if (answer.status === 200) batchAccepted += (JSON.parse(answer.body) as { accepted: number }).accepted;
  };
  try {
    // A short unrecorded warm-up opens the connections and warms the functions.
    await drive(performance.now() + 2000, single(false));
    const start = performance.now();
    const latencies = await drive(start + seconds * 1000, single(true));
    const elapsed = (performance.now() - start) / 1000;
    const batchStart = performance.now();
    const batchLatencies = await drive(batchStart + seconds * 1000, batch, BATCH_CLIENTS);
    const batchElapsed = (performance.now() - batchStart) / 1000;
    return {
      baseUrl,
      clients: CLIENTS,
      seconds: elapsed,
      requests: latencies.length,
      accepted,
      errors,
      perSecond: latencies.length / elapsed,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      batch: {
        seconds: batchElapsed,
        requests: batchLatencies.length,
        jobs: batchJobs,
        acceptedJobs: batchAccepted,
        jobsPerSecond: batchAccepted / batchElapsed,
        p50Ms: quantile(batchLatencies, 0.5),
      },
    };
  } finally {
    agent.destroy();
  }
}

/** Runs the API row against JOBLINE_API_URL or a local runtime started here; never throws. */
export async function runApiBench(options: { dynamodbEndpoint: string; seconds: number; log: (line: string) => void }): Promise<ApiResult> {
  const given = process.env.JOBLINE_API_URL;
  if (given) return measureSubmit(given, options.seconds).catch((error: unknown) => ({ skipped: `failed against ${given}: ${String(error)}` }));
  let starter: Starter | string;
  try {
    starter = await findStarter();
  } catch (error) {
    starter = `local/runtime.ts could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (typeof starter === 'string') return { skipped: `local runtime not available (${starter})` };
  let stack: Awaited<ReturnType<Starter>> | undefined;
  try {
    options.log('  starting the local runtime...');
    stack = await starter({ port: 0, endpoints: { dynamodb: options.dynamodbEndpoint }, namePrefix: `bench${Date.now().toString(36)}-` });
    const baseUrl = stack.apiUrl ?? stack.url ?? stack.baseUrl;
    if (!baseUrl) return { skipped: 'local runtime not available (its starter returned no API URL)' };
    return await measureSubmit(baseUrl, options.seconds);
  } catch (error) {
    return { skipped: `local runtime not available (it failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  } finally {
    await stack?.stop?.().catch(() => {});
  }
}

// `npx tsx bench/api.ts`: the API rows alone (BENCH_API_SECONDS, default 10), on a DynamoDB Local of their own.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const value = Number(process.env.BENCH_API_SECONDS);
  const seconds = Number.isFinite(value) && value > 0 ? value : 10;
  process.env.JOBLINE_LOG_LEVEL ??= 'error';
  const { startDynamoDbLocal } = await import('../local/emulators/dynamodb-local');
  const dynamodb = await startDynamoDbLocal();
  try {
    const a = await runApiBench({ dynamodbEndpoint: dynamodb.endpoint, seconds, log: (line) => process.stderr.write(`${line}\n`) });
    if ('skipped' in a) process.stdout.write(`skipped: ${a.skipped}\n`);
    else
      process.stdout.write(
        `single: ${a.perSecond.toFixed(1)} jobs/s (p50 ${a.p50Ms.toFixed(0)} ms, ${a.errors} non-202 of ${a.requests}); ` +
          `batch of ${BATCH_JOBS}: ${a.batch.jobsPerSecond.toFixed(1)} jobs/s (p50 ${a.batch.p50Ms.toFixed(0)} ms a request, ${a.batch.jobs - a.batch.acceptedJobs} of ${a.batch.jobs} not accepted); ` +
          `ratio ${(a.batch.jobsPerSecond / a.perSecond).toFixed(2)}x\n`,
      );
  } finally {
    await dynamodb.stop();
  }
}
