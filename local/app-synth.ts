/**
 * Synthesizes any CDK app the way the CDK CLI does: runs the `app` command of its cdk.json in its
 * directory with CDK_OUTDIR and CDK_CONTEXT_JSON set (cdk.json's context, cdk.context.json, and the asset
 * metadata the local runtime finds each function's bundle by, and jobline:localDebug: source maps in jobline's
 * bundles). Nothing is deployed and no AWS call is made.
 */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_DEBUG_CONTEXT } from '../infra/local-debug';

export interface AppSynthesis {
  assemblyDir: string;
  command: string;
}

interface CdkJson {
  app?: string;
  output?: string;
  context?: Record<string, unknown>;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The app command and output directory of the CDK app in `projectDir`; an error that says what to do when there is none. */
export function cdkApp(projectDir: string): { command: string; assemblyDir: string; context: Record<string, unknown> } {
  const file = path.join(projectDir, 'cdk.json');
  if (!existsSync(file)) throw new Error(`there is no cdk.json in ${projectDir}: run jobline dev in the directory of a CDK app (where cdk synth works)`);
  const cdkJson = readJson(file) as CdkJson;
  if (typeof cdkJson.app !== 'string' || cdkJson.app.trim() === '') throw new Error(`${file} has no "app" command (e.g. "app": "npx tsx bin/app.ts")`);
  const contextFile = path.join(projectDir, 'cdk.context.json');
  const saved = existsSync(contextFile) ? (readJson(contextFile) as Record<string, unknown>) : {};
  return { command: cdkJson.app, assemblyDir: path.resolve(projectDir, cdkJson.output ?? 'cdk.out'), context: { ...saved, ...cdkJson.context } };
}

/**
 * Runs the app's synthesis; resolves with the assembly directory. `context` adds CDK context (as
 * `cdk synth -c key=value`). The app's output goes to `onOutput`; a failure rejects with its last lines.
 * `signal` (watch mode) ends it early.
 */
export async function synthesizeApp(
  projectDir: string,
  options: { context?: Record<string, unknown>; onOutput?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<AppSynthesis> {
  const app = cdkApp(projectDir);
  // Source maps in the bundles, for the local runtime only (infra/local-debug.ts); `options.context` may turn them off.
  const context = { ...app.context, [LOCAL_DEBUG_CONTEXT]: true, ...options.context, 'aws:cdk:enable-asset-metadata': true };
  const { code, tail } = await runSynthCommand(app.command, {
    cwd: projectDir,
    env: { ...process.env, CDK_OUTDIR: app.assemblyDir, CDK_CONTEXT_JSON: JSON.stringify(context) },
    onOutput: options.onOutput,
    signal: options.signal,
  });
  if (code !== 0) throw new Error(`the CDK app did not synthesize (${app.command} exited with ${code}):\n${tail.join('\n')}`);
  if (!existsSync(path.join(app.assemblyDir, 'manifest.json'))) throw new Error(`${app.command} wrote no cloud assembly to ${app.assemblyDir}`);
  return { assemblyDir: app.assemblyDir, command: app.command };
}

/**
 * Runs a synthesis command in a shell; resolves with its exit code and its last 30 lines of output. With a
 * `signal` (watch mode's synthesis in the background) it runs at a lower CPU priority, in a process group
 * of its own that an abort ends, whatever the command started.
 */
export async function runSynthCommand(
  command: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; onOutput?: (line: string) => void; signal?: AbortSignal },
): Promise<{ code: number | null; tail: string[] }> {
  const { signal } = options;
  const child = spawn(command, { cwd: options.cwd, shell: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env, detached: signal !== undefined });
  const end = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  if (signal && child.pid !== undefined) {
    try {
      setPriority(child.pid, 10);
    } catch {
      // Best effort: the synthesis only runs slower beside the functions.
    }
    if (signal.aborted) end();
    else signal.addEventListener('abort', end, { once: true });
  }
  const tail: string[] = [];
  const take = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      options.onOutput?.(line);
      tail.push(line);
      if (tail.length > 30) tail.shift();
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    return { code, tail };
  } finally {
    signal?.removeEventListener('abort', end);
  }
}
