/**
 * Runs the `jobline` command (cli/bin.ts) as a user does, in its own process, and starts `jobline dev` for
 * the tests that drive a running stack with it.
 */
import { execFile, spawn } from 'node:child_process';
import { buildSync } from 'esbuild';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../infra/paths';
import { PACKAGE_BUNDLE_OPTIONS } from '../../scripts/package-bundle-options';
import { freePort } from '../../local/emulators/free-port';
import { processesInGroup } from './processes';

const run = promisify(execFile);
// tsx by path, so that the bin also runs from directories without node_modules.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const BIN = path.join(PACKAGE_ROOT, 'cli/bin.ts');
/**
 * The command line that runs `jobline <args>` from its sources: node itself with tsx as a loader, not
 * `npx tsx`, so that a signal reaches jobline directly rather than through npm's and tsx's relaying parents.
 */
export const joblineCommand = (args: readonly string[]): [string, string[]] => [process.execPath, ['--import', TSX, BIN, ...args]];

let bundled: string | undefined;
/**
 * cli/bin.ts bundled once per test process, as the package build bundles it (PACKAGE_BUNDLE_OPTIONS): an
 * operator command then starts in half the time it takes through tsx, which loads and transforms every
 * module at each start. It sits one directory below the package root,
 * as dist/cli.js does, so that it finds the package's files the same way: in .jobline/ (ignored by git, like
 * cdk.out), written under a temporary name and renamed, so that a reader never sees half a file.
 */
function bundledBin(): string {
  if (bundled) return bundled;
  const file = path.join(PACKAGE_ROOT, '.jobline', 'test-cli.mjs');
  const partial = `${file}.${process.pid}.tmp`;
  buildSync({ ...PACKAGE_BUNDLE_OPTIONS, entryPoints: [BIN], outfile: partial, logLevel: 'warning' });
  renameSync(partial, file);
  return (bundled = file);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `jobline <args>` (an operator command, or `--help`; `jobline dev` runs from the sources, with
 * startJoblineDev); resolves with its exit code and output (never rejects on a non-zero exit). Standard
 * input is not a terminal.
 */
export async function jobline(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = PACKAGE_ROOT): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bundledBin(), ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number | string; stdout: string; stderr: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface RunningDev {
  apiUrl: string;
  /** The runtime file it writes (JOBLINE_RUNTIME_FILE): give it to `jobline` as the same variable. */
  runtimeFile: string;
  env: NodeJS.ProcessEnv;
  output(): string;
  /** SIGINT to its process group; resolves once every process it started is gone. */
  stop(): Promise<void>;
}

/**
 * `jobline dev` in this repository on free ports, without watch mode, its runtime file and function logs in
 * a temporary directory (so that it never meets another test's stack in the repository's .jobline/).
 */
export async function startJoblineDev(): Promise<RunningDev> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-dev-'));
  const runtimeFile = path.join(dir, 'runtime.json');
  const env = { JOBLINE_RUNTIME_FILE: runtimeFile };
  const ports = [await freePort(), await freePort(), await freePort()];
  const child = spawn(...joblineCommand(['dev', '--port', String(ports[0]), '--dynamodb-port', String(ports[1]), '--sqs-port', String(ports[2]), '--no-watch']), {
    cwd: PACKAGE_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_SQS: '', JOBLINE_LOG_DIR: path.join(dir, 'logs') },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let ended = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      ended = true;
      resolve();
    }),
  );
  const pgid = child.pid!;
  const kill = () => {
    if (processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
  };
  // Polled here, not with expect.poll: this runs in beforeAll.
  const started = await until(() => existsSync(runtimeFile) || ended, 150_000);
  if (!started || !existsSync(runtimeFile)) {
    kill();
    throw new Error(`jobline dev did not start${started ? '' : ' within 150 s'}:\n${output}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    apiUrl: `http://127.0.0.1:${ports[0]}`,
    runtimeFile,
    env,
    output: () => output,
    stop: () =>
      (stopped ??= (async () => {
        try {
          process.kill(-pgid, 'SIGINT');
          await exited;
          if (!(await until(() => processesInGroup(pgid).length === 0, 15_000))) throw new Error(`jobline dev left processes behind: ${processesInGroup(pgid).join('; ')}`);
        } finally {
          kill();
          rmSync(dir, { recursive: true, force: true });
        }
      })()),
  };
}

/** Polls `done` every 200 ms until it holds (true) or `timeoutMs` passes (false). */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) if (done()) return true;
  return done();
}
