// `npm start` with --persist and --env-file as a developer runs it: it says where the state is kept (or that
// jobs live in memory), names the variables it passes to the functions without their values, and a job
// submitted before a restart is still there after it. Every port is given (free ones) and the state lives
// in a temporary directory, so that nothing lands in the repository's .jobline/.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { freePort } from '../../local/emulators/free-port';
import { DYNAMODB_STATE_FILE, SQS_STATE_FILE } from '../../local/persist';
import { joblineCommand } from '../support/jobline-cli';
import { processesInGroup } from '../support/processes';

const dirs: string[] = [];
const groups: number[] = [];
afterAll(() => {
  // Never leave a stray stack behind a failed test.
  for (const pgid of groups) if (processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
const logDir = tempDir('jobline-persist-cli-logs-');

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, JOBLINE_LOG_DIR: logDir, NO_COLOR: '1' };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'PORT']) delete e[name];
  return e;
}

interface Running {
  child: ChildProcess;
  api: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** `npm start -- <args>` on free ports; resolves once the API is up. */
async function start(args: string[]): Promise<Running> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const child = spawn(...joblineCommand(['dev', '--port', String(ports[0]), '--dynamodb-port', String(ports[1]), '--sqs-port', String(ports[2]), ...args]), {
    cwd: PACKAGE_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env(),
  });
  const pgid = child.pid!;
  groups.push(pgid);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // 'close', not 'exit': it comes once the output pipes are drained too, so output() then holds every line.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await expect
    .poll(() => /API: (http:\/\/\S+)/.exec(output)?.[1] ?? (child.exitCode !== null ? `exited: ${output}` : undefined), { timeout: 120_000, interval: 250 })
    .toMatch(/^http:/);
  return {
    child,
    api: /API: (http:\/\/\S+)/.exec(output)![1]!,
    output: () => output,
    stop: async () => {
      // To the whole process group, as Ctrl-C in a terminal does.
      process.kill(-pgid, 'SIGINT');
      await closed;
      await expect.poll(() => processesInGroup(pgid), { timeout: 10_000, interval: 200 }).toEqual([]);
    },
  };
}

const status = async (api: string, jobId: string) => (await (await fetch(`${api}/jobs/${jobId}`)).json()) as { status: string; attempts?: number };

describe('npm start --persist, --env-file', () => {
  it('a malformed env file is one line of cause and one of fix, before anything starts (exit 1), and shows no value', async () => {
    // (A missing --env-file never reaches jobline: Node checks any --env-file argument itself, even one after the
    // script, and ends with "node: <file>: not found", exit 9: nodejs/node#54232. loadEnvFile's own message for it
    // is unit-tested.)
    const envFile = path.join(tempDir('jobline-persist-cli-bad-'), 'bad.env');
    writeFileSync(envFile, 'GOOD=1\nTOKEN "s3cr3t-value"\n');
    const child = spawn(...joblineCommand(['dev', '--port', '0', '--dynamodb-port', '0', '--sqs-port', '0', '--env-file', envFile]), {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, `${stdout}${stderr}`).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `jobline: ${envFile}: line 2 is not NAME=value`,
      `  fix: write each variable as NAME=value (quote a value with spaces, # or line breaks) in ${envFile}`,
    ]);
    expect(`${stdout}${stderr}`).not.toContain('s3cr3t');
    expect(stdout).not.toContain('starting the local stack');
  }, 60_000);

  it('in memory by default; with --persist a job submitted before a restart is there after it', async () => {
    const envFile = path.join(tempDir('jobline-persist-cli-env-'), 'local.env');
    writeFileSync(envFile, '# a secret for the handlers\nTHIRD_PARTY_API_KEY="sk-test-not-printed"\nFEATURE_FLAG=on\nAWS_REGION=eu-west-1\n');

    const inMemory = await start(['--env-file', envFile]);
    try {
      expect(inMemory.output()).toContain('  state: jobs live in memory: a restart starts empty (--persist keeps them)');
      expect(inMemory.output()).toContain(`  environment: 2 variables from ${envFile} for every function (values not shown): FEATURE_FLAG, THIRD_PARTY_API_KEY`);
      expect(inMemory.output()).toContain('    not passed on: AWS_REGION (reserved by Lambda or set by the local runtime)');
      expect(inMemory.output()).not.toContain('sk-test-not-printed');
    } finally {
      await inMemory.stop();
    }

    const persistDir = tempDir('jobline-persist-cli-data-');
    const first = await start(['--persist', persistDir]);
    let jobId: string;
    try {
      expect(first.output()).toContain(`  state: persisted in ${persistDir}: jobs, tables and queued messages survive a restart`);
      const submitted = await fetch(`${first.api}/jobs/transfer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: 'cli-a', to: 'cli-b', amount: 3 }),
      });
      expect(submitted.status).toBe(202);
      jobId = ((await submitted.json()) as { jobId: string }).jobId;
      await expect.poll(async () => (await status(first.api, jobId)).status, { timeout: 15_000, interval: 100 }).toBe('SUCCEEDED');
    } finally {
      await first.stop();
    }
    expect(first.output()).toContain('jobline: stopped.');
    expect(existsSync(path.join(persistDir, DYNAMODB_STATE_FILE))).toBe(true);
    expect(existsSync(path.join(persistDir, SQS_STATE_FILE))).toBe(true);

    const second = await start(['--persist', persistDir]);
    try {
      expect(second.output()).toMatch(/restored \d+ queues with 0 messages from sqs\.json/);
      expect(await status(second.api, jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    } finally {
      await second.stop();
    }
  }, 400_000);
});
