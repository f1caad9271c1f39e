// Watch mode, as a user meets it: `jobline dev` runs a small CDK app of its own (a temp dir under .jobline/
// that imports jobline from this repository's sources) and, without a restart, takes a handler edit (new
// results, a job already queued is not lost and runs the new code), a template change (batch size, batching
// window, visibility timeout; a job held by the poller survives it), a file that does not build (the old
// code keeps running), and a new job type. It measures edit-to-effect time for handler edits and prints it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { freePort } from '../../local/emulators/free-port';
import { parseStartArgs, usage } from '../../local/preflight';
import { descendantsOf, processesInGroup } from '../support/processes';

let appDir: string;
let pgid: number | undefined;
let output = '';
let api: string;
let exited: Promise<string>;

const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(appDir, file)), { recursive: true });
  writeFileSync(path.join(appDir, file), text);
};
const jobline = (from: string, module: 'index' | 'cdk') => JSON.stringify(path.relative(path.join(appDir, from), path.join(PACKAGE_ROOT, module)).split(path.sep).join('/'));

const typeModule = (queue: string) => `import * as z from 'zod/mini';
import { defineJobType } from ${jobline('jobs/echo', 'index')};

export const echoType = defineJobType({ name: 'echo', kind: 'leased', schema: z.object({ n: z.number() }), queue: ${queue} });
`;
const handlerModule = (version: number | string) => `import { defineJob } from ${jobline('jobs/echo', 'index')};
import { echoType } from './type';

export const echo = defineJob(echoType, async ({ n }) => ({ n, version: ${version}, concurrency: process.env.JOBLINE_WORKER_CONCURRENCY }));
`;
const appModule = (withShout: boolean) => `import { App, Stack } from 'aws-cdk-lib';
import { Jobline } from ${jobline('bin', 'cdk')};
import { echo } from '../jobs/echo/handler';
${withShout ? "import { shout } from '../jobs/shout/handler';\n" : ''}
const app = new App();
const stack = new Stack(app, 'WatchApp');
const jobs = new Jobline(stack, 'Jobs', { api: { authorization: 'none' }, alarms: false });
jobs.addJobType(echo);
${withShout ? 'jobs.addJobType(shout);\n' : ''}app.synth();
`;

// Every job waits in the poller for the 30 s window (until a batch of 20 fills): time for a reload to happen under it.
const HOLDING = '{ batchSize: 20, batchingWindowSeconds: 30, timeoutSeconds: 10, maxReceiveCount: 3 }';
const HOLDING_BATCH = 20;
const QUICK = '{ batchSize: 5, timeoutSeconds: 10, maxReceiveCount: 3 }';

/** Resolves with the first match of `pattern` in the output written after `from`. */
async function seen(pattern: RegExp, from: number, timeout = 60_000): Promise<RegExpExecArray> {
  // A loop of its own: expect.poll works in tests only, and this waits in beforeAll too.
  for (const deadline = Date.now() + timeout; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const match = pattern.exec(output.slice(from));
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the output after ${timeout} ms:\n${output.slice(from).slice(-3000)}`);
  }
}

async function submit(type: string, payload: unknown): Promise<string> {
  const response = await fetch(`${api}/jobs/${type}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
}

/**
 * Fills the batch the poller holds (HOLDING) with `count` more jobs, so that it goes to the worker now instead
 * of when its 30 s window closes: once what the test waits for under it has happened.
 */
async function fillBatch(count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => submit('echo', { n: 100 + i })));
}

/** Waits until no synthesis of the app runs (watch mode's, in the background after each change). */
async function synthesesDone(): Promise<void> {
  await expect.poll(() => descendantsOf(pgid!).filter((p) => p.includes('bin/app.ts')), { timeout: 120_000, interval: 200 }).toEqual([]);
}

interface Job {
  status?: string;
  result?: { n?: number; version?: number | string; concurrency?: string; shouted?: string };
}

async function finished(jobId: string, timeout = 60_000): Promise<Job> {
  let job: Job = {};
  await expect
    .poll(
      async () => {
        job = (await (await fetch(`${api}/jobs/${jobId}`)).json()) as Job;
        return job.status;
      },
      { timeout, interval: 50 },
    )
    .toMatch(/^(SUCCEEDED|FAILED)$/);
  return job;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
/** "640 ms" or "1.2 s" (the reload line's format) in milliseconds. */
const millis = (text: string) => (text.endsWith(' ms') ? Number(text.slice(0, -3)) : Number(text.slice(0, -2)) * 1000);

beforeAll(async () => {
  mkdirSync(path.join(PACKAGE_ROOT, '.jobline'), { recursive: true });
  appDir = mkdtempSync(path.join(PACKAGE_ROOT, '.jobline', 'watch-app-'));
  // Node finds tsx, aws-cdk-lib and zod in this repository's node_modules, above the app.
  write('cdk.json', JSON.stringify({ app: 'node --import tsx bin/app.ts' }));
  write('package.json', JSON.stringify({ name: 'watch-app', private: true, type: 'module' }));
  write('bin/app.ts', appModule(false));
  write('jobs/echo/type.ts', typeModule(HOLDING));
  write('jobs/echo/handler.ts', handlerModule(1));

  const [apiPort, dynamodbPort, sqsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PACKAGE_ROOT, 'cli/bin.ts'), 'dev', '--port', String(apiPort), '--dynamodb-port', String(dynamodbPort), '--sqs-port', String(sqsPort)],
    {
      cwd: appDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // CDK_VALIDATION=false: CloudFormation's template validation (CDK's built-in, `cdk synth --no-validation`
      // turns it off) only ever warns, and costs about 6 s of CPU in each of the app's syntheses here.
      env: { ...process.env, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_SQS: '', AWS_ENDPOINT_URL_S3: '', CDK_VALIDATION: 'false' },
    },
  );
  pgid = child.pid!;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
  await seen(/Ctrl-C stops everything|jobline: .*(did not|error)/, 0, 170_000);
  api = /API: (http:\/\/\S+)/.exec(output)?.[1] ?? '';
  expect(api, output).toBe(`http://127.0.0.1:${apiPort}`);
  expect(output).toContain('  watching . (without node_modules, dist, cdk.out, dot directories): a change reloads what it touches (--no-watch: off)');
}, 180_000);

afterAll(() => {
  // What jobline dev said, for a failure's diagnosis.
  if (output) writeFileSync(path.join(PACKAGE_ROOT, '.jobline', 'watch-test-output.log'), output);
  if (pgid !== undefined && processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

describe('jobline dev --watch, --no-watch', () => {
  it('watches by default; --no-watch turns it off (the last of the two wins)', () => {
    const watchOf = (argv: string[]) => {
      const parsed = parseStartArgs(argv, {});
      if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed));
      return parsed.options.watch ?? true;
    };
    expect(watchOf([])).toBe(true);
    expect(watchOf(['--watch'])).toBe(true);
    expect(watchOf(['--no-watch'])).toBe(false);
    expect(watchOf(['--no-watch', '--watch'])).toBe(true);
    expect(parseStartArgs(['--no-watch=1'], {})).toEqual({ kind: 'error', message: 'option --no-watch takes no value' });
    expect(usage()).toMatch(/--no-watch +run the app as it was at the start: no reload on changes/);
  });
});

describe('jobline dev, watch mode', () => {
  let heldJob: string;

  it('a handler edit reloads the worker alone; a job already queued is not lost and runs the new code', async () => {
    const before = await submit('echo', { n: 0 });
    await fillBatch(HOLDING_BATCH - 1);
    expect(await finished(before, 60_000)).toMatchObject({ status: 'SUCCEEDED', result: { n: 0, version: 1 } });

    // Held in the poller by the batching window while the handler changes under it.
    heldJob = await submit('echo', { n: 1 });
    const from = output.length;
    write('jobs/echo/handler.ts', handlerModule(2));
    await seen(/ {2}reloaded echo worker \(jobs\/echo\/handler\.ts changed\) in \d+(\.\d)? m?s/, from, 30_000);
    await fillBatch(HOLDING_BATCH - 1);
    expect(await finished(heldJob, 60_000)).toMatchObject({ status: 'SUCCEEDED', result: { n: 1, version: 2 } });
    // The state from before the edit is still there: nothing restarted.
    expect(await finished(before)).toMatchObject({ status: 'SUCCEEDED', result: { version: 1 } });
    expect(output.match(/jobline is running/g)).toHaveLength(1);
  }, 120_000);

  it('a template change (batch size, batching window) re-provisions the queue and the event source in place, keeping a held job', async () => {
    // The synthesis that followed the handler edit has run (or this change would be reported with it).
    await synthesesDone();
    const held = await submit('echo', { n: 2 });
    const from = output.length;
    write('jobs/echo/type.ts', typeModule(QUICK));
    const line = (await seen(/ {2}reloaded (.*echo queue: .+) \(jobs\/echo\/type\.ts changed\) in (\d+(\.\d)? m?s)\n/, from, 120_000))[1]!;
    // The old poller still holds the job (its batch of 20, its 30 s window): filled, it goes to the new worker.
    await fillBatch(HOLDING_BATCH - 1);
    expect(line).toContain('echo queue: VisibilityTimeout 90 → 60');
    expect(line).toContain('echo event source: batch size 20 → 5, batching window 30 s → 0 s');
    expect(line).toMatch(/echo worker: environment JOBLINE_WORKER_CONCURRENCY/);
    // The job the old poller held runs on the new worker; a new one goes through without the window.
    expect(await finished(held, 60_000)).toMatchObject({ status: 'SUCCEEDED', result: { n: 2, version: 2 } });
    const started = performance.now();
    expect(await finished(await submit('echo', { n: 3 }), 20_000)).toMatchObject({ status: 'SUCCEEDED', result: { n: 3, concurrency: '5' } });
    expect(performance.now() - started).toBeLessThan(20_000);

    const sqsEndpoint = /SQS +(http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1];
    const queueUrl = /echo: queue (\S+)/.exec(output)![1];
    const sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }));
      expect(Attributes?.VisibilityTimeout).toBe('60');
    } finally {
      sqs.destroy();
    }
    // Held jobs are in DynamoDB as before.
    expect(await finished(heldJob)).toMatchObject({ status: 'SUCCEEDED', result: { version: 2 } });
  }, 180_000);

  it('handler edits take effect within seconds (edit to a job returning the new result)', async () => {
    const observed: number[] = [];
    const reported: number[] = [];
    for (let version = 3; version <= 7; version++) {
      const from = output.length;
      const edited = performance.now();
      write('jobs/echo/handler.ts', handlerModule(version));
      for (;;) {
        const job = await finished(await submit('echo', { n: version }), 20_000);
        expect(job.status).toBe('SUCCEEDED');
        if (job.result?.version === version) break;
        expect(performance.now() - edited, 'the edit never took effect').toBeLessThan(30_000);
      }
      observed.push(performance.now() - edited);
      reported.push(millis((await seen(/ {2}reloaded echo worker \(jobs\/echo\/handler\.ts changed\) in (\d+ ms|\d+\.\d s)/, from, 10_000))[1]!));
    }
    const summary = `edit-to-effect over ${observed.length} handler edits: reload line (file change to new environments ready) median ${Math.round(median(reported))} ms [${reported.map(Math.round).join(', ')}]; edit to the first job returning the new result median ${Math.round(median(observed))} ms [${observed.map(Math.round).join(', ')}]`;
    console.log(summary);
    writeFileSync(path.join(PACKAGE_ROOT, '.jobline', 'watch-timings.txt'), `${new Date().toISOString()} ${summary}\n`, { flag: 'a' });
    expect(median(observed)).toBeLessThan(10_000);
  }, 240_000);

  it('a handler that does not build is one message; the previous code keeps running', async () => {
    const from = output.length;
    write('jobs/echo/handler.ts', handlerModule('7 +'));
    await seen(/ {2}not reloaded \(jobs\/echo\/handler\.ts changed\): echo worker: .*handler\.ts:\d+:\d+: .+; the previous code keeps running/, from, 20_000);
    expect(await finished(await submit('echo', { n: 8 }), 20_000)).toMatchObject({ status: 'SUCCEEDED', result: { version: 7 } });
    write('jobs/echo/handler.ts', handlerModule(8));
    await seen(/ {2}reloaded echo worker \(jobs\/echo\/handler\.ts changed\)/, from, 20_000);
  }, 60_000);

  it('a new job type gets its queue, its worker and its route', async () => {
    const from = output.length;
    write(
      'jobs/shout/handler.ts',
      `import * as z from 'zod/mini';
import { defineJob } from ${jobline('jobs/shout', 'index')};

export const shout = defineJob({ name: 'shout', kind: 'leased', schema: z.object({ text: z.string() }), handler: async ({ text }) => ({ shouted: text.toUpperCase() }) });
`,
    );
    write('bin/app.ts', appModule(true));
    const line = (await seen(/ {2}reloaded (.*shout worker added.*) \(.+ changed\) in /, from, 120_000))[1]!;
    expect(line).toContain('shout queue created');
    expect(line).toContain('shout worker added');
    expect(line).toContain('shout event source started');
    expect(line).toMatch(/API: code, environment JOBLINE_QUEUE_URL_SHOUT/);
    expect(await finished(await submit('shout', { text: 'hey' }), 30_000)).toMatchObject({ status: 'SUCCEEDED', result: { shouted: 'HEY' } });
    // The other job type is untouched and still answers.
    expect(await finished(await submit('echo', { n: 9 }), 20_000)).toMatchObject({ status: 'SUCCEEDED', result: { version: 8 } });
  }, 180_000);

  it('removing a job type (its files and its line in the app) removes its worker, with no failed rebuild said first', async () => {
    const from = output.length;
    rmSync(path.join(appDir, 'jobs/shout'), { recursive: true, force: true });
    write('bin/app.ts', appModule(false));
    const line = (await seen(/ {2}reloaded (.*shout worker removed.*) \(.+ changed\) in /, from, 120_000))[1]!;
    expect(line).toMatch(/shout.*queue.* removed/);
    expect(output.slice(from)).not.toContain('not reloaded');
    expect(await finished(await submit('echo', { n: 10 }), 20_000)).toMatchObject({ status: 'SUCCEEDED', result: { version: 8 } });
  }, 180_000);

  it('Ctrl-C stops everything, the watcher included', async () => {
    process.kill(-pgid!, 'SIGINT');
    expect(['SIGINT', 'code 0', 'code 130']).toContain(await exited);
    await expect.poll(() => processesInGroup(pgid!), { timeout: 10_000, interval: 200 }).toEqual([]);
    expect(output).toContain('jobline: stopped.');
  }, 30_000);
});
