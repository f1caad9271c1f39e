// The README's "first hour with jobline dev", walked as written, in a copy of this repository (its tracked
// files under .jobline/, node_modules linked) so that its edits never touch the tree other tests use:
// start with --persist, submit, edit a handler and see the new result without a restart, break it and read
// the mapped stack in .jobline/logs/transfer-worker.log, scaffold a job type, then restart and find the job.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { freePort } from '../../local/emulators/free-port';
import { processesInGroup } from '../support/processes';

let copy: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  mkdirSync(path.join(PACKAGE_ROOT, '.jobline'), { recursive: true });
  copy = mkdtempSync(path.join(PACKAGE_ROOT, '.jobline', 'first-hour-'));
  const files = execFileSync('git', ['ls-files'], { cwd: PACKAGE_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(PACKAGE_ROOT, file))) continue;
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    cpSync(path.join(PACKAGE_ROOT, file), path.join(copy, file));
  }
  symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
}, 60_000);

afterAll(() => {
  for (const child of started) if (child.pid !== undefined && processesInGroup(child.pid).length > 0) process.kill(-child.pid, 'SIGKILL');
  if (copy) rmSync(copy, { recursive: true, force: true });
});

/** `npm start -- <args>` in the copy; resolves once the API answers, with a way to read its output and stop it. */
async function start(args: string[]) {
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: copy,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_SQS: '', JOBLINE_LOG_DIR: '' },
  });
  started.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
  await expect.poll(() => /API: (http:\/\/\S+)|jobline: .*(did not|error)/.exec(output)?.[0], { timeout: 150_000, interval: 250 }).toBeDefined();
  const api = /API: (http:\/\/\S+)/.exec(output)?.[1];
  expect(api, output).toBeDefined();
  const stop = async () => {
    process.kill(-child.pid!, 'SIGINT');
    expect(['SIGINT', 'code 0', 'code 130']).toContain(await exited);
    await expect.poll(() => processesInGroup(child.pid!), { timeout: 15_000, interval: 200 }).toEqual([]);
  };
  return { api: api!, output: () => output, stop };
}

const json = { 'content-type': 'application/json' };

describe('the first hour, as the README walks it', () => {
  it('start, submit, edit and see it, break it and read the stack, scaffold, persist across a restart', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const args = ['--port', String(ports[0]), '--dynamodb-port', String(ports[1]), '--sqs-port', String(ports[2]), '--persist'];
    const run = await start(args);
    const submit = async (payload: unknown) => {
      const response = await fetch(`${run.api}/jobs/transfer`, { method: 'POST', headers: json, body: JSON.stringify(payload) });
      expect(response.status).toBe(202);
      return ((await response.json()) as { jobId: string }).jobId;
    };
    const resultOf = async (jobId: string) => {
      let job: { status?: string; result?: Record<string, unknown> } = {};
      await expect
        .poll(
          async () => {
            job = (await (await fetch(`${run.api}/jobs/${jobId}`)).json()) as typeof job;
            return job.status;
          },
          { timeout: 30_000, interval: 200 },
        )
        .toBe('SUCCEEDED');
      return job.result;
    };

    // 1-2. Start, submit.
    expect(run.output()).toMatch(/state: persisted in /);
    const first = await submit({ from: 'alice', to: 'bob', amount: 100 });
    expect(await resultOf(first)).toEqual({ from: 'alice', to: 'bob', amount: 100 });

    // 3. Edit the handler; watch mode swaps the transfer worker without a restart.
    const handlerFile = path.join(copy, 'app/jobs/transfer/handler.ts');
    const original = readFileSync(handlerFile, 'utf8');
    const edited = original.replace('result: { from: p.from, to: p.to, amount: p.amount },', "result: { from: p.from, to: p.to, amount: p.amount, edited: 'yes' },");
    expect(edited).not.toBe(original);
    writeFileSync(handlerFile, edited);
    await expect.poll(() => /reloaded transfer worker/.test(run.output()), { timeout: 60_000, interval: 200 }).toBe(true);
    expect(await resultOf(await submit({ from: 'alice', to: 'carol', amount: 5 }))).toMatchObject({ edited: 'yes' });

    // 4. Break it: the error's stack in transfer-worker.log points at the handler's TypeScript line.
    const broken = edited.replace('const at = new Date().toISOString();', "const at = new Date().toISOString();\n  if (p.memo === 'boom') throw new Error('boom in the handler');");
    expect(broken).not.toBe(edited);
    writeFileSync(handlerFile, broken);
    await expect.poll(() => (run.output().match(/reloaded transfer worker/g) ?? []).length, { timeout: 60_000, interval: 200 }).toBe(2);
    await submit({ from: 'dave', to: 'erin', amount: 1, memo: 'boom' });
    const log = path.join(copy, '.jobline/logs/transfer-worker.log');
    await expect.poll(() => existsSync(log) && /app\/jobs\/transfer\/handler\.ts:\d+/.test(readFileSync(log, 'utf8')), { timeout: 60_000, interval: 250 }).toBe(true);
    const logText = readFileSync(log, 'utf8');
    expect(logText).toMatch(/^START RequestId: \S+ Version: \$LATEST$/m);
    expect(logText).toMatch(/^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB/m);

    // 5. Scaffold a job type (npm run jobline -- new job ...): its modules are written and registered.
    const scaffolded = execFileSync('npm', ['run', 'jobline', '--', 'new', 'job', 'resize-image', '--kind', 'leased'], { cwd: copy, encoding: 'utf8' });
    // The dev running here reloads with it, so the curl is for its API, on whatever port it listens.
    expect(scaffolded).toContain(`try it (jobline dev reloads with it): curl -X POST ${run.api}/jobs/resize-image `);
    for (const file of ['type.ts', 'handler.ts', 'handler.test.ts']) expect(existsSync(path.join(copy, 'app/jobs/resize-image', file))).toBe(true);
    expect(readFileSync(path.join(copy, 'app/jobs/index.ts'), 'utf8')).toContain('resize-image/handler');

    // 6. Persist: after a restart the first job is still there.
    await run.stop();
    const again = await start(args);
    const job = (await (await fetch(`${again.api}/jobs/${first}`)).json()) as { status?: string };
    expect(job.status).toBe('SUCCEEDED');
    await again.stop();
  }, 420_000);
});
