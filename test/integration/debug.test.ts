// A failing job, debugged from its function's log as `jobline dev` writes it: the stack synthesized with
// source maps (locally only), a webhook job whose target refuses it, and in webhook-worker.log (a readable
// name, in a directory of the test's own) the run's separator, the worker's error line with the stack at the
// TypeScript line that threw (and no payload), inside the START and END of one request id, then its REPORT.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { FunctionLogs, functionLogNames } from '../../local/function-logs';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { ensureAssembly } from '../../local/synth';
import { readStack } from '../../local/template/cloud-assembly';
import { uniqueName } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const HANDLER = path.join(PACKAGE_ROOT, 'app/jobs/webhook/handler.ts');
/** The line of the webhook handler that throws when the target answers 4xx. */
const THROW_LINE =
  readFileSync(HANDLER, 'utf8')
    .split('\n')
    .findIndex((line) => line.includes('throw new PermanentError(`webhook target answered ${status}`)')) + 1;
const MARKER = 'P4YL04D-7c1e';

let receiver: WebhookReceiver;
let runtime: LocalRuntime;
let logs: FunctionLogs;
const dirs: string[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  receiver.respond = () => 400;
  const assemblyDir = (await ensureAssembly({ assemblyDir: mkdtempSync(path.join(tmpdir(), 'jobline-debug-')), force: true })).assemblyDir;
  const logDir = mkdtempSync(path.join(tmpdir(), 'jobline-debug-logs-'));
  dirs.push(assemblyDir, logDir);
  const prefix = `${uniqueName('debug')}-`;
  logs = new FunctionLogs(logDir);
  logs.useNames(functionLogNames(readStack(assemblyDir).template, prefix));
  runtime = await startLocalRuntime({
    assemblyDir,
    port: 0,
    endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! },
    namePrefix: prefix,
    onFunctionLog: logs.write,
  });
});
afterAll(async () => {
  await runtime?.stop();
  await logs?.close();
  await receiver?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a failing job, in its function log', () => {
  it('has the stack at the TypeScript line that threw, inside the START, END and REPORT of one request id', async () => {
    // Synthesized for the local runtime: every bundle has its source map (deployed ones have none: test/infra/source-maps.test.ts).
    for (const pool of runtime.functions.values()) expect(existsSync(`${pool.spec.file}.map`), pool.spec.file).toBe(true);

    const submitted = await fetch(`${runtime.apiUrl}/jobs/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/refuse`, body: { note: MARKER } }),
    });
    expect(submitted.status).toBe(202);
    const { statusUrl } = (await submitted.json()) as { statusUrl: string };
    await expect.poll(async () => ((await (await fetch(statusUrl)).json()) as { status: string }).status, { timeout: 20_000, interval: 100 }).toBe('FAILED');

    const file = path.join(logs.dir, 'webhook-worker.log');
    const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);
    await expect.poll(() => read().some((l) => l.startsWith('REPORT ')) && read().some((l) => l.includes('"job failed permanently')), { timeout: 10_000 }).toBe(true);
    const lines = read();
    expect(lines[0]).toMatch(/^===== jobline dev \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ =====$/);

    const at = lines.findIndex((l) => l.includes('"job failed permanently; parking its message in the DLQ"'));
    const failure = JSON.parse(lines[at]!) as { level: string; reason: string; stack: string };
    expect(failure.level).toBe('error');
    expect(failure.reason).toBe('PermanentError: webhook target answered 400');
    // The frame's file and line come from the source map; its function name is the bundle's (Node 20 does not map names).
    expect(failure.stack.split('\n')[0]).toMatch(new RegExp(`^at \\S+ \\(${HANDLER.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${THROW_LINE}:\\d+\\)$`));
    expect(lines[at]).not.toContain('/refuse');
    expect(lines.filter((l) => l.includes(MARKER))).toEqual([]);

    // The invocation around it: its START before, its END and REPORT after, one request id.
    const start = lines.slice(0, at).findLastIndex((l) => l.startsWith('START RequestId: '));
    const requestId = /^START RequestId: (\S+) Version: \$LATEST$/.exec(lines[start] ?? '')?.[1];
    expect(requestId, lines.join('\n')).toMatch(/^[0-9a-f-]{36}$/);
    const end = lines.indexOf(`END RequestId: ${requestId}`);
    expect(end).toBeGreaterThan(at);
    expect(lines.slice(start + 1, end).some((l) => l.startsWith('START ') || l.startsWith('END '))).toBe(false);
    expect(lines[end + 1]).toMatch(
      new RegExp(
        `^REPORT RequestId: ${requestId}\\tDuration: \\d+\\.\\d{2} ms\\tBilled Duration: \\d+ ms\\tMemory Size: \\d+ MB\\tMax Memory Used: \\d+ MB(\\tInit Duration: \\d+\\.\\d{2} ms)?$`,
      ),
    );

    // Every function's log is named for what it is; the API's has its invocations too.
    const names = readdirSync(logs.dir);
    expect(names).toContain('api.log');
    expect(names.filter((n) => /[0-9A-F]{8}\.log$/.test(n))).toEqual([]);
    expect(readFileSync(path.join(logs.dir, 'api.log'), 'utf8')).toMatch(/^REPORT RequestId: [0-9a-f-]{36}\tDuration: /m);
  });
});
