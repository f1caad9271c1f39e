/**
 * Cold start: both workers bundled the way infra/ bundles jobline's functions (esbuild, minified, ESM,
 * platform node, the AWS SDK inside, the same `require` banner), then imported by fresh `node` processes,
 * alternating the two, and the median taken. Node 20 runs them here, so the target is node20.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { median } from './stats';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./cold-start-runner.mjs', import.meta.url));

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
  jobline: ColdStartSide;
  powertools: ColdStartSide;
}

async function bundle(entry: string, outfile: string): Promise<number> {
  await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    mainFields: ['module', 'main'],
    external: [],
    banner: { js: "import { createRequire as __jobline_createRequire } from 'node:module'; const require = __jobline_createRequire(import.meta.url);" },
    // As infra/ builds deployed functions: the chaos suite's fault injection is compiled out (no-op for Powertools).
    define: { 'process.env.JOBLINE_BUILD_FAULT_INJECTION': '"false"' },
    logLevel: 'error',
  });
  return (await stat(outfile)).size;
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
    const files = { jobline: path.join(dir, 'jobline', 'index.mjs'), powertools: path.join(dir, 'powertools', 'index.mjs') };
    const bytes = { jobline: await bundle('functions/worker.ts', files.jobline), powertools: await bundle('bench/powertools-entry.ts', files.powertools) };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_LAMBDA_FUNCTION_NAME: 'bench-worker',
      JOBLINE_JOB_TYPE: 'transfer',
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
    return { samples, jobline: side('jobline'), powertools: side('powertools') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
