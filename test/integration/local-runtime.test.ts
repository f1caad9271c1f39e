// The local runtime runs what the template declares: change a job type's settings in the app, synthesize,
// restart, and the local behaviour changes with no other edit.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { webhook } from '../../app/jobs/webhook/handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../shared/jobs/message';
import { newJobId } from '../../shared/jobs/job-id';
import { jobTypesOf } from '../../local/live-view';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { ensureAssembly } from '../../local/synth';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { uniqueName } from '../support/resources';

const shared = () => ({ dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! });
let receiver: WebhookReceiver;
let runtime: LocalRuntime | undefined;
let defaultAssembly: string;
let tunedAssembly: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  defaultAssembly = (await ensureAssembly({ assemblyDir: mkdtempSync(path.join(tmpdir(), 'jobline-default-')), force: true })).assemblyDir;
  tunedAssembly = (
    await ensureAssembly({
      assemblyDir: mkdtempSync(path.join(tmpdir(), 'jobline-tuned-')),
      appOptions: { queueOverrides: { webhook: { batchSize: 2, maxReceiveCount: 2, backoff: { baseSeconds: 0, maxSeconds: 0 } } } },
    })
  ).assemblyDir;
});
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});
afterAll(() => receiver.close());

async function start(assemblyDir: string) {
  runtime = await startLocalRuntime({ assemblyDir, port: 0, endpoints: shared(), namePrefix: `${uniqueName('rt')}-` });
  return runtime;
}

const webhookOf = (rt: LocalRuntime) => jobTypesOf(rt).find((t) => t.type === 'webhook')!;
const webhookPoller = (rt: LocalRuntime) => [...rt.pollers.entries()].find(([id]) => id.includes('webhook'))![1];

async function sendTen(rt: LocalRuntime) {
  // Ten messages at once, so a single receive could take them all: the batch size decides.
  await rt.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: webhookOf(rt).queueUrl,
      Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: encodeMessage(newJobId(), 'webhook', { url: receiver.url, body: {} }) })),
    }),
  );
  const poller = webhookPoller(rt);
  await expect.poll(() => poller.stats.records, { timeout: 15_000 }).toBe(10);
  return poller.stats;
}

async function submit(rt: LocalRuntime, body: unknown) {
  const response = await fetch(`${rt.apiUrl}/jobs/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
  return (await response.json()) as { jobId: string; statusUrl: string };
}

describe('local runtime, driven by the template', () => {
  it('creates queues, their redrive policy and the functions as declared, and batches up to the declared size', async () => {
    const rt = await start(defaultAssembly);
    const { Attributes } = await rt.sqs.send(new GetQueueAttributesCommand({ QueueUrl: webhookOf(rt).queueUrl, AttributeNames: ['All'] }));
    expect(JSON.parse(Attributes!.RedrivePolicy!).maxReceiveCount).toBe(webhook.queue.maxReceiveCount);
    expect(Attributes!.VisibilityTimeout).toBe('180');
    expect(Attributes!.MessageRetentionPeriod).toBe(String(14 * 86_400));
    expect(Attributes!.MaximumMessageSize).toBe('1048576');
    expect((await sendTen(rt)).largestBatch).toBe(10);
  });

  it('after a change of batch size and maxReceiveCount and a restart, batches and gives up as the new template says', async () => {
    const rt = await start(tunedAssembly);
    const { Attributes } = await rt.sqs.send(new GetQueueAttributesCommand({ QueueUrl: webhookOf(rt).queueUrl, AttributeNames: ['RedrivePolicy'] }));
    expect(JSON.parse(Attributes!.RedrivePolicy!).maxReceiveCount).toBe(2);
    expect((await sendTen(rt)).largestBatch).toBe(2);

    // A target that keeps failing: the job is given up on its 2nd receive, not its 5th.
    receiver.respond = () => 503;
    const job = await submit(rt, { url: `${receiver.url}/down`, body: { n: 1 } });
    await expect.poll(async () => ((await (await fetch(job.statusUrl)).json()) as { status: string }).status, { timeout: 20_000, interval: 200 }).toBe('FAILED');
    const status = (await (await fetch(job.statusUrl)).json()) as { attempts: number; error: string };
    expect(status.attempts).toBe(2);
    expect(status.error).toBe('gave up after 2 attempts: TransientError: webhook target answered 503');
    expect(receiver.calls.get(job.jobId)).toBe(2);
  });

  it('answers like API Gateway for routes it does not have', async () => {
    const rt = await start(defaultAssembly);
    expect((await fetch(`${rt.apiUrl}/nowhere`)).status).toBe(404);
    expect((await fetch(`${rt.apiUrl}/jobs/x`, { method: 'DELETE' })).status).toBe(404);
    const big = await fetch(`${rt.apiUrl}/jobs/webhook`, { method: 'POST', body: Buffer.alloc(11 * 1024 * 1024, 'a') });
    expect(big.status).toBe(413);
  });
});
