// Logs hold ids, sizes and reasons, never payload contents: a marker value sent through every path a
// payload can take (success, schema failure at the API, permanent failure in the worker, poison message
// on the queue) appears in no log line of any function or of the local runtime.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobTypesOf } from '../../local/live-view';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { uniqueName } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const MARKER = 'M4RK3R-d1b5e0c2';
const lines: string[] = [];
let runtime: LocalRuntime;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  receiver.respond = (request) => (request.url?.includes('reject') ? 400 : 200);
  runtime = await startLocalRuntime({
    assemblyDir: mkdtempSync(path.join(tmpdir(), 'jobline-logs-')),
    // Debug logging: the most a function ever writes.
    appOptions: { logLevel: 'debug' },
    port: 0,
    endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! },
    namePrefix: `${uniqueName('logs')}-`,
    onFunctionLog: (_fn, line) => lines.push(line),
    onEvent: (message) => lines.push(message),
  });
});
afterAll(async () => {
  await runtime?.stop();
  await receiver?.close();
});

async function submit(type: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${runtime.apiUrl}/jobs/${type}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { jobId: string; statusUrl: string } };
}

async function settled(statusUrl: string) {
  for (;;) {
    const job = (await (await fetch(statusUrl)).json()) as { status: string };
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return job.status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('logs', () => {
  it('never contain payload contents', async () => {
    const ok = await submit('transfer', { from: 'alice', to: 'bob', amount: 5, memo: MARKER });
    const hook = await submit('webhook', { url: `${receiver.url}/ok`, body: { secret: MARKER }, headers: { 'x-token': MARKER } });
    const rejected = await submit('webhook', { url: `${receiver.url}/reject?${MARKER}`, body: MARKER });
    const invalid = await submit('transfer', { from: MARKER, to: `${MARKER}!`, amount: MARKER });
    expect([ok.status, hook.status, rejected.status, invalid.status]).toEqual([202, 202, 202, 400]);
    const webhookQueue = jobTypesOf(runtime).find((t) => t.type === 'webhook')!.queueUrl;
    await runtime.sqs.send(new SendMessageCommand({ QueueUrl: webhookQueue, MessageBody: `{"v":1,"jobId":"${MARKER}","payload":"${MARKER}"` }));

    expect(await settled(ok.body.statusUrl)).toBe('SUCCEEDED');
    expect(await settled(hook.body.statusUrl)).toBe('SUCCEEDED');
    expect(await settled(rejected.body.statusUrl)).toBe('FAILED');
    await expect.poll(() => lines.some((l) => l.includes('parking its message in the DLQ') && l.includes('malformed message')), { timeout: 10_000 }).toBe(true);

    // The paths ran and logged (ids, sizes, reasons)...
    expect(lines.some((l) => l.includes('"job submitted"') && l.includes('payloadBytes'))).toBe(true);
    expect(lines.some((l) => l.includes(ok.body.jobId))).toBe(true);
    // ...and the marker is in none of it.
    expect(lines.filter((l) => l.includes(MARKER))).toEqual([]);
  });
});
