// Completion callbacks and events on the local stack, over real wire protocols: a stack with the webhook job
// type and, as a subscriber would add one, a rule on jobline's bus with an SQS target. The jobs table's
// stream reaches the notifier through its FilterCriteria (DynamoDB Local's stream, read by the local
// runtime); the notifier puts events on the embedded EventBridge and queues callbacks; the callback worker
// reads its secret from the embedded Secrets Manager and POSTs to a loopback receiver.
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { App, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhook } from '../../app/jobs/webhook/handler';
import { Jobline } from '../../infra/jobline';
import { jobTypesOf } from '../../local/live-view';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { JobClient, JobRefusedError } from '../../shared/client/job-client';
import { NOTIFY_ENV } from '../../shared/notify/config';
import { verifySignature } from '../../shared/notify/signature';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { uniqueName } from '../support/resources';

const STACK = 'NotifyTestStack';
let outdir: string;
let eventsFile: string;
let receiver: CallbackReceiver;
let runtime: LocalRuntime;
let subscriberQueueId: string;
let secret: string;

function synthesize(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-notify-'));
  const app = new App({ outdir: dir, context: { 'aws:cdk:enable-asset-metadata': true }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, STACK);
  const jobs = new Jobline(stack, 'Jobs', {
    alarms: false,
    notifications: { callbacks: { backoffBase: Duration.seconds(1), backoffMax: Duration.seconds(1), maxAttempts: 5 } },
  });
  jobs.addJobType(webhook);
  // A subscriber: every jobline event on the bus goes to its queue.
  const subscriber = new Queue(stack, 'Subscriber');
  new Rule(stack, 'FinishedJobs', { eventBus: jobs.eventBus, eventPattern: { source: ['jobline'] }, targets: [new SqsQueue(subscriber)] });
  subscriberQueueId = stack.getLogicalId(subscriber.node.defaultChild as CfnElement);
  app.synth();
  return dir;
}

interface LoggedEvent {
  bus: string;
  event: { source: string; 'detail-type': string; detail: { jobId: string; status: string; generation: number } };
}
const loggedEvents = (): LoggedEvent[] =>
  existsSync(eventsFile)
    ? readFileSync(eventsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LoggedEvent)
    : [];
const eventsOf = (jobId: string) => loggedEvents().filter((e) => e.event.detail.jobId === jobId);

async function submit(target: string, callbackPath?: string): Promise<string> {
  const response = await fetch(`${runtime.apiUrl}/jobs/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(callbackPath ? { 'callback-url': `${receiver.url}${callbackPath}` } : {}) },
    body: JSON.stringify({ url: `${receiver.url}${target}`, body: { hello: 'world' } }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
}

const view = async (jobId: string) => (await (await fetch(`${runtime.apiUrl}/jobs/${jobId}`)).json()) as Record<string, unknown>;
const notifierPoller = () => [...runtime.notifications.streamPollers.values()][0]!;

beforeAll(async () => {
  outdir = synthesize();
  eventsFile = path.join(outdir, 'events.jsonl');
  receiver = await startCallbackReceiver();
  receiver.statusFor = (p, nth) => {
    if (p === '/target/bad') return 400;
    if (p === '/target/busy') return 503;
    if (p === '/cb/flaky') return nth <= 2 ? 503 : 200;
    return 200;
  };
  runtime = await startLocalRuntime({
    assemblyDir: outdir,
    assemblyChecked: true,
    stackName: STACK,
    port: 0,
    endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! },
    namePrefix: `${uniqueName('nt')}-`,
    eventsFile,
  });
  const callbackFn = [...runtime.environments.values()].find((env) => env[NOTIFY_ENV.callbackSecret])!;
  const client = new SecretsManagerClient({
    region: runtime.region,
    endpoint: runtime.notifications.endpoints.secretsManager,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  secret = (await client.send(new GetSecretValueCommand({ SecretId: callbackFn[NOTIFY_ENV.callbackSecret] }))).SecretString!;
  client.destroy();
}, 180_000);

afterAll(async () => {
  await runtime?.stop();
  await receiver?.close();
  rmSync(outdir, { recursive: true, force: true });
});

describe('completion callbacks and events, locally', () => {
  let succeeded: string;
  let failed: string;
  let flaky: string;
  let busy: string;

  beforeAll(async () => {
    [succeeded, failed, flaky, busy] = await Promise.all([
      submit('/target/ok', '/cb/ok'),
      submit('/target/bad', '/cb/bad'),
      submit('/target/ok', '/cb/flaky'),
      submit('/target/busy', '/cb/busy'),
    ]);
  });

  it('POSTs a SUCCEEDED job its terminal view once, signed with the stack secret', async () => {
    await expect.poll(() => receiver.on('/cb/ok').length, { timeout: 30_000, interval: 100 }).toBe(1);
    const [call] = receiver.on('/cb/ok');
    const final = await view(succeeded);
    expect(final.status).toBe('SUCCEEDED');
    expect(JSON.parse(call!.body)).toEqual(final);
    expect(call!.headers['idempotency-key']).toBe(`${succeeded}.1`);
    expect(call!.headers['jobline-event']).toBe('Job Succeeded');
    expect(verifySignature(secret, call!.headers['jobline-signature'] as string, call!.body)).toBe(true);
    expect(verifySignature('another secret', call!.headers['jobline-signature'] as string, call!.body)).toBe(false);
    expect(verifySignature(secret, call!.headers['jobline-signature'] as string, call!.body.replace('SUCCEEDED', 'FAILED'))).toBe(false);
  });

  it("POSTs a FAILED job's view too", async () => {
    await expect.poll(() => receiver.on('/cb/bad').length, { timeout: 30_000, interval: 100 }).toBe(1);
    const [call] = receiver.on('/cb/bad');
    const final = await view(failed);
    expect(final.status).toBe('FAILED');
    expect(JSON.parse(call!.body)).toEqual(final);
    expect(call!.headers['jobline-event']).toBe('Job Failed');
    expect(verifySignature(secret, call!.headers['jobline-signature'] as string, call!.body)).toBe(true);
  });

  it('retries a receiver that answers 503 twice, with the same key, and delivers on the third try', async () => {
    await expect.poll(() => receiver.on('/cb/flaky').map((r) => r.status), { timeout: 30_000, interval: 100 }).toEqual([503, 503, 200]);
    const calls = receiver.on('/cb/flaky');
    expect(new Set(calls.map((c) => c.headers['idempotency-key']))).toEqual(new Set([`${flaky}.1`]));
    for (const call of calls) expect(verifySignature(secret, call.headers['jobline-signature'] as string, call.body)).toBe(true);
  });

  it('writes one event per terminal state to the events file and delivers it through the rule to the subscriber queue', async () => {
    await expect.poll(() => [succeeded, failed, flaky].map((id) => eventsOf(id).length), { timeout: 30_000, interval: 100 }).toEqual([1, 1, 1]);
    expect(eventsOf(succeeded)[0]!.event).toMatchObject({ source: 'jobline', 'detail-type': 'Job Succeeded', detail: { jobId: succeeded, status: 'SUCCEEDED', generation: 1 } });
    expect(eventsOf(failed)[0]!.event).toMatchObject({ source: 'jobline', 'detail-type': 'Job Failed', detail: { jobId: failed, status: 'FAILED' } });

    const queueUrl = runtime.queues.get(subscriberQueueId)!.url;
    const received = new Map<string, string>();
    const deadline = Date.now() + 30_000;
    while (received.size < 3 && Date.now() < deadline) {
      const { Messages } = await runtime.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of Messages ?? []) {
        const event = JSON.parse(m.Body!) as LoggedEvent['event'];
        received.set(event.detail.jobId, event['detail-type']);
        await runtime.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
    expect(Object.fromEntries(received)).toEqual({ [succeeded]: 'Job Succeeded', [failed]: 'Job Failed', [flaky]: 'Job Succeeded' });
  });

  it('sends nothing for non-terminal transitions, nor for a write to a finished job that does not change its state', async () => {
    // The busy job was claimed and released (PENDING → RUNNING → PENDING): no callback, no event.
    await expect.poll(async () => (await view(busy)).attempts, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    // An operator's touch of a SUCCEEDED record: its stream record must be filtered out.
    await expect.poll(() => eventsOf(succeeded).length, { timeout: 30_000, interval: 100 }).toBe(1);
    let touched: boolean | undefined;
    notifierPoller().onRecord = (record, passed) => {
      const image = record.dynamodb.NewImage as Record<string, { S?: string }> | undefined;
      if (image?.pk?.S === `JOB#${succeeded}` && image.touchedBy) touched = passed;
    };
    const table = [...runtime.tables.values()][0]!;
    await runtime.dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: `JOB#${succeeded}` } },
        UpdateExpression: 'SET touchedBy = :who',
        ExpressionAttributeValues: { ':who': { S: 'operator' } },
      }),
    );
    // Its stream record is read, and the FilterCriteria drop it: the notifier is not even invoked.
    await expect.poll(() => touched, { timeout: 15_000, interval: 100 }).toBe(false);
    await runtime.notifications.router!.settled();
    expect(eventsOf(succeeded)).toHaveLength(1);
    expect(receiver.on('/cb/ok')).toHaveLength(1);
    expect(eventsOf(busy)).toEqual([]);
    expect(receiver.on('/cb/busy')).toEqual([]);
    expect((await view(busy)).status).not.toMatch(/SUCCEEDED|FAILED|CANCELLED/);
  });

  it('announces a CANCELLED job too: a delayed job cancelled before it ran', async () => {
    const response = await fetch(`${runtime.apiUrl}/jobs/webhook?delay=3600`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'callback-url': `${receiver.url}/cb/cancelled` },
      body: JSON.stringify({ url: `${receiver.url}/target/ok`, body: {} }),
    });
    expect(response.status).toBe(202);
    const { jobId, status } = (await response.json()) as { jobId: string; status: string };
    expect(['SCHEDULED', 'PENDING']).toContain(status);
    expect((await fetch(`${runtime.apiUrl}/jobs/${jobId}/cancel`, { method: 'POST' })).status).toBe(200);
    await expect.poll(() => receiver.on('/cb/cancelled').length, { timeout: 30_000, interval: 100 }).toBe(1);
    const [call] = receiver.on('/cb/cancelled');
    expect(call!.headers['jobline-event']).toBe('Job Cancelled');
    expect(JSON.parse(call!.body)).toEqual(await view(jobId));
    expect(verifySignature(secret, call!.headers['jobline-signature'] as string, call!.body)).toBe(true);
    await expect.poll(() => eventsOf(jobId).map((e) => e.event['detail-type']), { timeout: 30_000, interval: 100 }).toEqual(['Job Cancelled']);
  });

  it('refuses a Callback-Url that is not an absolute https (or local loopback http) URL with 400 and the reason', async () => {
    for (const url of ['not a url', 'http://example.com/cb', `https://example.com/${'a'.repeat(2048)}`]) {
      const response = await fetch(`${runtime.apiUrl}/jobs/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'callback-url': url },
        body: JSON.stringify({ url: `${receiver.url}/target/ok`, body: {} }),
      });
      expect(response.status, url).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_callback_url' } });
    }
  });

  it('takes the callback URL from JobClient.submit too', async () => {
    const client = new JobClient({
      jobTypes: [webhook],
      tableName: [...runtime.tables.values()][0]!,
      queueUrls: { webhook: jobTypesOf(runtime).find((t) => t.type === 'webhook')!.queueUrl },
      dynamodb: runtime.dynamodb,
      sqs: runtime.sqs,
    });
    await expect(client.submit('webhook', { url: `${receiver.url}/target/ok`, body: {} }, { callbackUrl: 'ftp://x' })).rejects.toBeInstanceOf(JobRefusedError);
    const { jobId } = await client.submit('webhook', { url: `${receiver.url}/target/ok`, body: {} }, { callbackUrl: `${receiver.url}/cb/client` });
    await expect.poll(() => receiver.on('/cb/client').length, { timeout: 30_000, interval: 100 }).toBe(1);
    expect(JSON.parse(receiver.on('/cb/client')[0]!.body)).toMatchObject({ jobId, status: 'SUCCEEDED' });
  });
});
