// The README's HTTP API walk (the block after <!-- e2e:api-walk -->), run as written with bash and curl
// against the target: only its API address is replaced by the target's, and its callback receiver's
// (http://127.0.0.1:4000) by one this test runs. Each command's answer must carry every field its comment
// names, with the values the comment spells out; the job submitted with a Callback-Url must then be POSTed
// there, SUCCEEDED and signed. Locally only: curl does not sign requests for an API that requires IAM.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { target } from './client';

const README_CALLBACK_URL = 'http://127.0.0.1:4000';
let receiver: CallbackReceiver;
beforeAll(async () => {
  receiver = await startCallbackReceiver();
});
afterAll(() => receiver?.close());

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const block = /<!-- e2e:api-walk -->\n```sh\n([\s\S]*?)\n```/.exec(readme)?.[1];

/** The commands of a shell block: continuation lines joined, comment-only lines dropped; with each command's expectation. */
function commands(script: string): { command: string; expect?: string }[] {
  const joined = script.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .map((line) => {
      const hash = line.indexOf('  # ');
      return hash < 0 ? { command: line } : { command: line.slice(0, hash), expect: line.slice(hash + 4) };
    });
}

describe('the README HTTP API walk', () => {
  it('is in the README', () => {
    expect(block).toBeDefined();
  });

  it.runIf(target.local)('runs as written, each answer is what its comment says, and the callback comes', async () => {
    expect(block).toContain(README_CALLBACK_URL);
    const steps = commands(block!.replaceAll('http://127.0.0.1:3000', target.apiUrl).replaceAll(README_CALLBACK_URL, receiver.url));
    // One shell, so that the variables one command sets reach the next; a marker line after each answer.
    const script = steps.map((s) => `${s.command}; echo; echo '--end--'`).join('\n');
    const output = execFileSync('bash', ['-e', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    const answers = output.split('--end--\n').map((a) => a.trim());
    steps.forEach((step, i) => {
      if (!step.expect) return;
      const answer = answers[i]!;
      for (const [, key] of step.expect.matchAll(/"(\w+)":/g)) expect(answer, `${step.command} → ${answer}`).toContain(`"${key}":`);
      for (const [pair] of step.expect.matchAll(/"\w+":"[^"…]+"/g)) expect(answer, `${step.command} → ${answer}`).toContain(pair);
    });

    const withCallback = steps.findIndex((s) => s.command.includes(receiver.url));
    const jobId = (JSON.parse(answers[withCallback]!) as { jobId: string }).jobId;
    await expect.poll(() => receiver.on('/done').length, { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
    const [call] = receiver.on('/done');
    expect(JSON.parse(call!.body)).toMatchObject({ jobId, status: 'SUCCEEDED' });
    expect(call!.headers['jobline-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(call!.headers['idempotency-key']).toBe(`${jobId}.1`);
  });
});
