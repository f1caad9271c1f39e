/**
 * API submit throughput and latency over HTTP: 32 clients with keep-alive connections, each sending
 * POST /jobs/transfer (with its own Idempotency-Key) back to back for a fixed time. There is no
 * Powertools peer for this row.
 *
 * Where the API is: JOBLINE_API_URL if set; otherwise the local runtime, started here when
 * local/runtime.ts exists and exports a starter (`startLocalStack`, or `startLocalRuntime`), pointed at
 * the benchmark's DynamoDB Local. Otherwise the row is skipped, and says so.
 */
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { quantile } from './stats';

export type ApiResult =
  { skipped: string } | { baseUrl: string; clients: number; seconds: number; requests: number; accepted: number; errors: number; perSecond: number; p50Ms: number; p99Ms: number };

const CLIENTS = 32;

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

function post(agent: Agent, url: URL, body: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': key } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function measureSubmit(baseUrl: string, seconds: number): Promise<ApiResult> {
  const url = new URL('/jobs/transfer', baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  let accepted = 0;
  let errors = 0;
  let n = 0;
  const run = async (until: number, record: boolean) => {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) {
          const i = n++;
          const body = JSON.stringify({ from: `api-a-${i}`, to: `api-b-${i}`, amount: 1 + (i % 100) });
          const start = performance.now();
          let status: number;
          try {
            status = await post(agent, url, body, `bench-${process.pid}-${i}`);
          } catch {
            status = 0;
          }
          if (!record) continue;
          latencies.push(performance.now() - start);
          if (status === 202) accepted++;
          else errors++;
        }
      }),
    );
  };
  try {
    // A short unrecorded warm-up opens the connections and warms the functions.
    await run(performance.now() + 2000, false);
    const start = performance.now();
    await run(start + seconds * 1000, true);
    const elapsed = (performance.now() - start) / 1000;
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
