// `npm start` as a user runs it: it serves the API on the embedded emulators, a submitted transfer
// succeeds, and Ctrl-C (SIGINT to the terminal's process group) leaves no process behind.
import { spawn, execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/paths';

function processesInGroup(pgid: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pgid=,pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.split(/\s+/)[0] === String(pgid));
}

let pgid: number | undefined;
afterAll(() => {
  // Never leave a stray stack behind a failed test.
  if (pgid !== undefined && processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
});

describe('npm start', () => {
  it('runs the pipeline, and SIGINT stops every process it started', async () => {
    const child = spawn('npm', ['start', '--', '--port', '0'], { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_SQS: '' } });
    pgid = child.pid!;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));

    await expect.poll(() => /API: (http:\/\/\S+)/.exec(output)?.[1], { timeout: 120_000, interval: 250 }).toBeDefined();
    const api = /API: (http:\/\/\S+)/.exec(output)![1]!;

    const submitted = await fetch(`${api}/jobs/transfer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: 'alice', to: 'bob', amount: 100 }) });
    expect(submitted.status).toBe(202);
    const { statusUrl } = (await submitted.json()) as { statusUrl: string };
    await expect.poll(async () => ((await (await fetch(statusUrl)).json()) as { status: string }).status, { timeout: 10_000, interval: 100 }).toBe('SUCCEEDED');

    const running = processesInGroup(pgid);
    expect(running.some((p) => p.includes('DynamoDBLocal.jar'))).toBe(true);
    expect(running.some((p) => p.includes('bootstrap.mjs'))).toBe(true);

    process.kill(-pgid, 'SIGINT');
    // npm itself ends by the signal, as it does in a terminal; jobline ends cleanly behind it.
    expect(['SIGINT', 'code 0', 'code 130']).toContain(await exited);
    await expect.poll(() => processesInGroup(pgid!), { timeout: 10_000, interval: 200 }).toEqual([]);
    expect(output).toContain('jobline: stopped.');
  });
});
