// The functions' CloudWatch metrics, as the local runtime runs them: the API and the workers write EMF
// lines (shared/metrics.ts) that count what happened to each job type (submitted, duplicates absorbed,
// succeeded, failed, cancelled) and time the queue wait (after a job's delay, not including it) and the run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { uniqueName } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

type EmfLine = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }; JobType: string };
const emf: EmfLine[] = [];
let runtime: LocalRuntime;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  receiver.respond = (request) => (request.url?.startsWith('/ok') ? 200 : 400); // 400: a permanent failure, FAILED at once
  runtime = await startLocalRuntime({
    assemblyDir: mkdtempSync(path.join(tmpdir(), 'jobline-metrics-')),
    port: 0,
    endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! },
    namePrefix: `${uniqueName('metrics')}-`,
    onFunctionLog: (_fn, line) => {
      if (process.env.DEBUG_METRICS) console.log(_fn, line);
      if (line.includes('"_aws"')) emf.push(JSON.parse(line.slice(line.indexOf('{'))) as EmfLine);
    },
  });
});
afterAll(async () => {
  await runtime?.stop();
  await receiver?.close();
});

async function submit(type: string, body: unknown, headers: Record<string, string> = {}, query = '') {
  const response = await fetch(`${runtime.apiUrl}/jobs/${type}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { jobId: string; statusUrl: string };
  expect(response.status, JSON.stringify(answer)).toBe(202);
  return answer;
}

async function settled(statusUrl: string, deadlineMs = 20_000) {
  const until = Date.now() + deadlineMs;
  let job: { status: string } | undefined;
  while (Date.now() < until) {
    job = (await (await fetch(statusUrl)).json()) as { status: string };
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return job.status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${statusUrl} did not finish within ${deadlineMs} ms: ${JSON.stringify(job)}`);
}

const sum = (type: string, name: string) => emf.filter((l) => l.JobType === type && typeof l[name] === 'number').reduce((n, l) => n + (l[name] as number), 0);
const values = (type: string, name: string) => emf.filter((l) => l.JobType === type).flatMap((l) => (Array.isArray(l[name]) ? (l[name] as number[]) : []));

/** Polls until the metric lines of the finished jobs are in: a worker writes them after its batch. */
async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no metrics for ${what} within 30 s: ${JSON.stringify(emf)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('metrics', () => {
  it('counts submits, replays, successes and failures per job type, and times queue waits and runs', async () => {
    const key = { 'idempotency-key': uniqueName('k') };
    const first = await submit('transfer', { from: 'alice', to: 'bob', amount: 5 }, key);
    await submit('transfer', { from: 'alice', to: 'bob', amount: 5 }, key); // the same job: a replay
    // Five seconds' delay (SQS's DelaySeconds, on the webhook's standard queue): its queue wait starts when
    // the delay ends, so it is far below five seconds.
    const delayed = await submit('webhook', { url: `${receiver.url}/ok`, body: {} }, {}, '?delay=5');
    const hook = await submit('webhook', { url: `${receiver.url}/rejects`, body: {} });
    expect(await settled(first.statusUrl)).toBe('SUCCEEDED');
    expect(await settled(hook.statusUrl)).toBe('FAILED');
    expect(await settled(delayed.statusUrl)).toBe('SUCCEEDED');

    await until(() => sum('transfer', 'JobsSucceeded') >= 1 && sum('webhook', 'JobsSucceeded') >= 1 && sum('webhook', 'JobsFailed') >= 1, 'the finished jobs');
    expect(sum('transfer', 'JobsSubmitted')).toBe(1);
    expect(sum('transfer', 'DuplicatesAbsorbed')).toBe(1);
    expect(sum('transfer', 'JobsSucceeded')).toBe(1);
    expect(sum('webhook', 'JobsSubmitted')).toBe(2);
    expect(sum('webhook', 'JobsFailed')).toBe(1);
    expect(sum('webhook', 'JobsSucceeded')).toBe(1);
    expect(values('transfer', 'QueueWait')).toHaveLength(1);
    const webhookWaits = values('webhook', 'QueueWait');
    expect(webhookWaits).toHaveLength(2);
    for (const wait of webhookWaits) expect(wait).toBeLessThan(5000);
    expect(values('transfer', 'RunDuration')).toHaveLength(1);
    expect(values('webhook', 'RunDuration')).toHaveLength(2);
    for (const line of emf) expect(line._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Jobline', Dimensions: [['JobType']] });
  });

  it('counts a cancel of a waiting job where it happens, in the API', async () => {
    const waiting = await submit('webhook', { url: `${receiver.url}/ok`, body: {} }, {}, '?delay=600');
    const response = await fetch(`${runtime.apiUrl}/jobs/${waiting.jobId}/cancel`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe('CANCELLED');
    await until(() => sum('webhook', 'JobsCancelled') >= 1, 'the cancel');
    expect(sum('webhook', 'JobsCancelled')).toBe(1);
  });
});
