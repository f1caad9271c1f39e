/**
 * Cold start: jobline's side is ONE job type's worker (transfer), bundled from the entry a deployment
 * generates for it (infra/function-entries.ts `workerEntry`: that job type's handler module and the worker
 * runtime, nothing else) with the esbuild settings infra/jobline-function.ts gives NodejsFunction (ESM,
 * minified, platform node, the deployed runtime's target, the AWS SDK inside, the `require` banner, fault
 * injection compiled out). Powertools' side is bench/powertools-entry.ts, built the same way, for the same
 * job type. Both are imported by fresh `node` processes, alternating the two, and the median taken.
 *
 * The webhook's worker is bundled too, not timed: the bundles are searched for a string literal found
 * only in each job type's handler, so "each worker bundle holds only its own handler" is measured (a
 * bundle holding another job type's handler, or not its own, throws).
 *
 * Standalone: `npx tsx bench/cold-start.ts` runs this part alone (BENCH_COLD_SAMPLES, default 20). Init
 * calls nothing, so the endpoints it gives the workers need not be listening.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { workerEntry } from '../infra/function-entries';
import { median } from './stats';
import { ratioOf, renderTable, type Row } from './table';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./cold-start-runner.mjs', import.meta.url));

/** The job type whose worker is compared; bench/powertools-entry.ts runs the same one. */
export const COLD_START_JOB_TYPE = 'transfer';

/** Each job type's handler module, and a string literal that appears in that handler's code only. */
const HANDLERS = {
  transfer: { module: path.join(ROOT, 'app/jobs/transfer/handler.ts'), marker: 'ADD balance :delta' },
  webhook: { module: path.join(ROOT, 'app/jobs/webhook/handler.ts'), marker: 'the call was aborted' },
} as const;
type HandlerName = keyof typeof HANDLERS;

export interface ColdStartSide {
  bytes: number;
  /** Medians, in milliseconds. */
  sinceSpawnMs: number;
  importMs: number;
  spawnToExitMs: number;
  /** The fastest import seen: what the bundle costs when nothing else competes for the CPU. */
  minSinceSpawnMs: number;
}

export interface ColdStartResult {
  samples: number;
  /** The job type whose worker bundles were compared. */
  jobType: string;
  /** esbuild's target, the deployed Lambda runtime's (e.g. node24). */
  target: string;
  jobline: ColdStartSide;
  powertools: ColdStartSide;
  /** Bytes of the other job type's (webhook) worker bundle, built only for the handler check. */
  webhookBytes: number;
  /** Which handler's code each bundle holds, one line per bundle (all as required, or this would have thrown). */
  handlerCheck: string[];
}

/** esbuild's target for the deployed runtime, as NodejsFunction derives it (nodejs24.x → node24). */
async function deployedTarget(): Promise<string> {
  // Imported here, not at the top: aws-cdk-lib is loaded only when the cold start is measured.
  const { LAMBDA_RUNTIME } = await import('../infra/jobline-function');
  const match = /nodejs(\d+)/.exec(LAMBDA_RUNTIME.name);
  if (!match) throw new Error(`cannot derive an esbuild target from the Lambda runtime ${LAMBDA_RUNTIME.name}`);
  return `node${match[1]}`;
}

/**
 * Bundles `entry` (absolute) as NodejsFunction bundles a deployed function. `alias` is what jobline's
 * construct adds (infra/jobline-function.ts: the environment-only credential provider); Powertools is
 * bundled as a NodejsFunction does by default, without it.
 */
async function bundle(entry: string, outfile: string, target: string, alias: Record<string, string> = {}): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    sourcemap: false,
    platform: 'node',
    target,
    format: 'esm',
    mainFields: ['module', 'main'],
    external: [],
    banner: { js: "import { createRequire as __jobline_createRequire } from 'node:module'; const require = __jobline_createRequire(import.meta.url);" },
    // As infra/ builds deployed functions: the chaos suite's fault injection is compiled out (no-op for Powertools).
    define: { 'process.env.JOBLINE_BUILD_FAULT_INJECTION': '"false"' },
    alias,
    logLevel: 'error',
  });
  return (await stat(outfile)).size;
}

/**
 * Checks that each bundle holds the code of the handlers it should, and none of the others': the
 * minified bundle is searched for each handler's marker string. Throws when a bundle is wrong.
 */
async function checkHandlers(bundles: readonly { name: string; file: string; holds: HandlerName }[]): Promise<string[]> {
  const lines: string[] = [];
  const wrong: string[] = [];
  for (const b of bundles) {
    const text = await readFile(b.file, 'utf8');
    const found = (Object.keys(HANDLERS) as HandlerName[]).filter((h) => text.includes(HANDLERS[h].marker));
    const others = found.filter((h) => h !== b.holds);
    const ok = found.includes(b.holds) && others.length === 0;
    const seen = (Object.keys(HANDLERS) as HandlerName[]).map((h) => `${h} ${found.includes(h) ? 'yes' : 'no'}`).join(', ');
    lines.push(`${b.name}: ${ok ? 'OK' : 'WRONG'}, only the ${b.holds} handler expected; handler code found (by marker string): ${seen}`);
    if (!found.includes(b.holds)) wrong.push(`${b.name} does not hold its own (${b.holds}) handler's code ('${HANDLERS[b.holds].marker}' not found)`);
    for (const h of others) wrong.push(`${b.name} holds the ${h} handler's code ('${HANDLERS[h].marker}' found)`);
  }
  if (wrong.length > 0) throw new Error(`worker bundles are not one handler each: ${wrong.join('; ')}`);
  return lines;
}

function importOnce(bundlePath: string, env: NodeJS.ProcessEnv): Promise<{ sinceSpawnMs: number; importMs: number; spawnToExitMs: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [RUNNER, pathToFileURL(bundlePath).href], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const spawnToExitMs = performance.now() - start;
      if (code !== 0) return reject(new Error(`importing ${bundlePath} failed (exit ${code}): ${err}`));
      resolve({ ...(JSON.parse(out) as { sinceSpawnMs: number; importMs: number }), spawnToExitMs });
    });
  });
}

/**
 * `endpoints` are the local emulators the functions would talk to; nothing is called during init.
 * The child gets a clean environment (no NODE_OPTIONS, no tsx loader): only what a Lambda would set.
 */
export async function measureColdStart(endpoints: { dynamodb: string; sqs: string }, samples = 20): Promise<ColdStartResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'jobline-bench-'));
  try {
    const target = await deployedTarget();
    const { RUNTIME_MODULES } = await import('../infra/function-entries');
    const joblineAlias = { '@aws-sdk/credential-provider-node': RUNTIME_MODULES.credentials };
    // The entries a deployment generates (infra/jobline.ts addJobType), written to this temporary directory.
    const entries = {
      transfer: workerEntry('transfer', HANDLERS.transfer.module, path.join(dir, 'entries')),
      webhook: workerEntry('webhook', HANDLERS.webhook.module, path.join(dir, 'entries')),
    };
    const files = {
      jobline: path.join(dir, 'jobline-transfer', 'index.mjs'),
      webhook: path.join(dir, 'jobline-webhook', 'index.mjs'),
      powertools: path.join(dir, 'powertools', 'index.mjs'),
    };
    const bytes = {
      jobline: await bundle(entries.transfer, files.jobline, target, joblineAlias),
      webhook: await bundle(entries.webhook, files.webhook, target, joblineAlias),
      powertools: await bundle(path.join(ROOT, 'bench/powertools-entry.ts'), files.powertools, target),
    };
    const handlerCheck = await checkHandlers([
      { name: 'jobline transfer worker bundle', file: files.jobline, holds: 'transfer' },
      { name: 'jobline webhook worker bundle', file: files.webhook, holds: 'webhook' },
      { name: 'Powertools transfer worker bundle', file: files.powertools, holds: 'transfer' },
    ]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_LAMBDA_FUNCTION_NAME: 'bench-worker',
      JOBLINE_JOB_TYPE: COLD_START_JOB_TYPE,
      JOBLINE_TABLE_NAME: 'bench-jobs',
      JOBLINE_QUEUE_URL: `${endpoints.sqs}/000000000000/bench-transfer.fifo`,
      JOBLINE_DLQ_URL: `${endpoints.sqs}/000000000000/bench-transfer-dlq.fifo`,
      JOBLINE_LOG_LEVEL: 'error',
      IDEMPOTENCY_TABLE_NAME: 'bench-idempotency',
    };
    const runs = { jobline: [] as Awaited<ReturnType<typeof importOnce>>[], powertools: [] as Awaited<ReturnType<typeof importOnce>>[] };
    // One unmeasured import each warms the file cache; then the two alternate.
    await importOnce(files.jobline, env);
    await importOnce(files.powertools, env);
    for (let i = 0; i < samples; i++) {
      const order = i % 2 === 0 ? (['jobline', 'powertools'] as const) : (['powertools', 'jobline'] as const);
      for (const side of order) runs[side].push(await importOnce(files[side], env));
    }
    const side = (name: 'jobline' | 'powertools'): ColdStartSide => ({
      bytes: bytes[name],
      sinceSpawnMs: median(runs[name].map((r) => r.sinceSpawnMs)),
      importMs: median(runs[name].map((r) => r.importMs)),
      spawnToExitMs: median(runs[name].map((r) => r.spawnToExitMs)),
      minSinceSpawnMs: Math.min(...runs[name].map((r) => r.sinceSpawnMs)),
    });
    return { samples, jobType: COLD_START_JOB_TYPE, target, jobline: side('jobline'), powertools: side('powertools'), webhookBytes: bytes.webhook, handlerCheck };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The report's cold-start rows. */
export function coldRows(c: ColdStartResult): Row[] {
  const benchmark = `cold start, ${c.jobType} worker (esbuild, minified, ESM, ${c.target})`;
  const row = (metric: string, f: (s: ColdStartSide) => number): Row => ({
    benchmark,
    metric,
    jobline: f(c.jobline),
    powertools: f(c.powertools),
    ratio: ratioOf(f(c.jobline), f(c.powertools)),
  });
  return [
    row(`worker bundle bytes (${c.jobType})`, (s) => s.bytes),
    // checkHandlers threw otherwise.
    { benchmark, metric: 'bundle holds its own handler only (marker strings searched)', jobline: 'OK', powertools: 'OK' },
    row(`init ms, spawn to import resolved (median of ${c.samples})`, (s) => s.sinceSpawnMs),
    row(`import alone ms (median of ${c.samples})`, (s) => s.importMs),
    row(`spawn to exit ms (median of ${c.samples})`, (s) => s.spawnToExitMs),
  ];
}

/** The report's details lines for the cold start. */
export function coldDetails(c: ColdStartResult): string[] {
  return [
    `- cold start: fastest spawn to import resolved of ${c.samples}: jobline ${c.jobline.minSinceSpawnMs.toFixed(1)} ms, Powertools ${c.powertools.minSinceSpawnMs.toFixed(1)} ms`,
    `- cold start: the webhook worker's bundle (not timed) is ${c.webhookBytes} bytes; handler code per bundle:`,
    ...c.handlerCheck.map((line) => `  - ${line}`),
  ];
}

// `npx tsx bench/cold-start.ts`: this part of the bench alone.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const value = Number(process.env.BENCH_COLD_SAMPLES);
  const samples = Number.isFinite(value) && value > 0 ? value : 20;
  // Nothing listens there: init creates the clients and calls nothing.
  measureColdStart({ dynamodb: 'http://127.0.0.1:8000', sqs: 'http://127.0.0.1:9324' }, samples).then(
    (c) => {
      const bytes = c.jobline.bytes / c.powertools.bytes;
      const init = c.jobline.sinceSpawnMs / c.powertools.sinceSpawnMs;
      process.stdout.write(
        [
          renderTable(coldRows(c)),
          '',
          ...coldDetails(c),
          `- bundle ratio ${bytes.toFixed(3)}x (target ≤ 1.0x: ${bytes <= 1 ? 'met' : 'not met'}); init ratio ${init.toFixed(3)}x (target ≤ 0.9x: ${init <= 0.9 ? 'met' : 'not met'})`,
          '',
        ].join('\n'),
      );
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
