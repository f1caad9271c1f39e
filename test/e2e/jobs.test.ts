// The acceptance suite: what a client of the API sees, on any target (local runtime, LocalStack, AWS).
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { api, target, waitForJob, type ApiResponse } from './client';

let receiver: WebhookReceiver | undefined;
// A deployed worker cannot reach this machine: give it public targets (one answering 2xx, one 4xx). Read
// here, at collection, because it.runIf decides before beforeAll runs.
let okUrl: string | undefined = process.env.JOBLINE_E2E_WEBHOOK_URL;
let rejectUrl: string | undefined = process.env.JOBLINE_E2E_WEBHOOK_REJECT_URL;
const hasOkTarget = target.local || okUrl !== undefined;
const hasRejectTarget = target.local || rejectUrl !== undefined;
/** Locally, a target that rejects the first call of each path and accepts every later one (a fix deployed). */
let rejectOnceUrl: (() => string) | undefined;

beforeAll(async () => {
  if (!target.local) return;
  receiver = await startWebhookReceiver();
  const seen = new Set<string>();
  receiver.respond = (request) => {
    if (request.url?.startsWith('/reject-once/')) {
      const first = !seen.has(request.url);
      seen.add(request.url);
      return first ? 422 : 200;
    }
    return request.url?.startsWith('/reject') ? 404 : 200;
  };
  okUrl = `${receiver.url}/ok`;
  rejectUrl = `${receiver.url}/reject`;
  rejectOnceUrl = () => `${receiver!.url}/reject-once/${randomUUID()}`;
});
afterAll(() => receiver?.close());

const run = Math.random().toString(36).slice(2, 8);
const account = (name: string) => `${name}-${run}`;

describe('each example job type succeeds', () => {
  it('transfer', async () => {
    const submitted = await api('POST', '/jobs/transfer', { body: { from: account('alice'), to: account('bob'), amount: 125 } });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ type: 'transfer', status: 'PENDING' });
    expect(submitted.body.statusUrl).toBe(`${target.apiUrl}/jobs/${submitted.body.jobId}`);
    const job = await waitForJob(submitted.body.jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { from: account('alice'), to: account('bob'), amount: 125 } });
  });

  it.runIf(hasOkTarget)('webhook', async () => {
    const submitted = await api('POST', '/jobs/webhook', { body: { url: okUrl, body: { event: 'order.paid', id: 42 } } });
    expect(submitted.status).toBe(202);
    const job = await waitForJob(submitted.body.jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { status: 200 } });
    if (receiver) expect(receiver.calls.get(submitted.body.jobId)).toBe(1);
  });
});

describe('Idempotency-Key', () => {
  it('a retried submit returns the same job and runs it once', async () => {
    const key = `e2e-${randomUUID()}`;
    const payload = { from: account('idem-a'), to: account('idem-b'), amount: 7 };
    const first = await api('POST', '/jobs/transfer', { body: payload, headers: { 'idempotency-key': key } });
    const second = await api('POST', '/jobs/transfer', { body: payload, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.jobId).toBe(first.body.jobId);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    // Two messages (a PENDING job's message is sent again on a resubmit), one run: attempts 1.
    expect(await waitForJob(first.body.jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    const third = await api('POST', '/jobs/transfer', { body: payload, headers: { 'idempotency-key': key } });
    expect(third.body).toMatchObject({ jobId: first.body.jobId, status: 'SUCCEEDED' });
  });

  it('the same key with another payload is refused', async () => {
    const key = `e2e-${randomUUID()}`;
    await api('POST', '/jobs/transfer', { body: { from: account('k1'), to: account('k2'), amount: 1 }, headers: { 'idempotency-key': key } });
    const other = await api('POST', '/jobs/transfer', { body: { from: account('k1'), to: account('k2'), amount: 2 }, headers: { 'idempotency-key': key } });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });
});

describe('bad input gets a 4xx with the reason', () => {
  const cases: [string, () => Promise<ApiResponse>, number, string][] = [
    ['an unknown job type', () => api('POST', '/jobs/no-such-type', { body: {} }), 404, 'unknown_job_type'],
    ['a body that is not JSON', () => api('POST', '/jobs/transfer', { raw: '{"from": "a",', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json'],
    ['a payload that fails the schema', () => api('POST', '/jobs/transfer', { body: { from: 'a', to: 'a', amount: -5 } }), 400, 'invalid_payload'],
    ['a body that is not JSON at all', () => api('POST', '/jobs/transfer', { raw: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
    ['an empty body', () => api('POST', '/jobs/transfer', { raw: '', headers: { 'content-type': 'application/json' } }), 400, 'invalid_body'],
    [
      'a payload larger than a message may be',
      () => api('POST', '/jobs/webhook', { body: { url: 'https://example.com/', body: 'x'.repeat(1_100_000) } }),
      413,
      'payload_too_large',
    ],
    ['an unknown job id', () => api('GET', `/jobs/${randomUUID()}`), 404, 'unknown_job'],
    ['a malformed job id', () => api('GET', '/jobs/not-a-job-id'), 404, 'unknown_job'],
  ];
  it.each(cases)('%s', async (_name, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message.length).toBeGreaterThan(10);
  });

  it('names each field that fails the schema', async () => {
    const response = await api('POST', '/jobs/transfer', { body: { from: 'a', amount: 1.5 } });
    expect(response.status).toBe(400);
    const paths = response.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['to', 'amount']));
  });
});

describe('poison jobs', () => {
  it.runIf(hasRejectTarget)('a job its target rejects ends FAILED with the reason, and its message is in the DLQ', async () => {
    const submitted = await api('POST', '/jobs/webhook', { body: { url: rejectUrl, body: { poison: true } } });
    const job = await waitForJob(submitted.body.jobId);
    expect(job).toMatchObject({ status: 'FAILED', error: 'PermanentError: webhook target answered 404' });
    if (!target.webhookDlqUrl) return console.warn('JOBLINE_WEBHOOK_DLQ_URL not set: the DLQ half of this check was skipped');
    const sqs = new SQSClient({
      region: target.region,
      ...(target.sqsEndpoint ? { endpoint: target.sqsEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    });
    const parked: { jobId?: string; reason?: string }[] = [];
    for (let i = 0; i < 10 && !parked.some((p) => p.jobId === submitted.body.jobId); i++) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: target.webhookDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], VisibilityTimeout: 1 }),
      );
      parked.push(...(Messages ?? []).map((m) => ({ jobId: m.MessageAttributes?.['jobline-job-id']?.StringValue, reason: m.MessageAttributes?.['jobline-reason']?.StringValue })));
    }
    expect(parked).toContainEqual({ jobId: submitted.body.jobId, reason: 'PermanentError: webhook target answered 404' });
  });
});

describe('retry', () => {
  it.runIf(target.local)('a FAILED job, retried once its target is fixed, runs again as generation 2 and succeeds', async () => {
    const submitted = await api('POST', '/jobs/webhook', { body: { url: rejectOnceUrl!(), body: { order: 7 } } });
    const jobId = submitted.body.jobId as string;
    expect(await waitForJob(jobId)).toMatchObject({ status: 'FAILED', generation: 1, error: 'PermanentError: webhook target answered 422' });
    const retried = await api('POST', `/jobs/${jobId}/retry`);
    expect(retried).toMatchObject({ status: 202, body: { jobId, status: 'PENDING' } });
    expect(await waitForJob(jobId)).toMatchObject({ status: 'SUCCEEDED', generation: 2, result: { status: 200 } });
    expect(receiver!.calls.get(jobId)).toBe(2);
  });

  it('refuses to retry a job that did not fail, saying its state', async () => {
    const submitted = await api('POST', '/jobs/transfer', { body: { from: account('r-a'), to: account('r-b'), amount: 1 } });
    await waitForJob(submitted.body.jobId);
    const retried = await api('POST', `/jobs/${submitted.body.jobId}/retry`);
    expect(retried).toMatchObject({ status: 409, body: { error: { code: 'not_retryable', details: { status: 'SUCCEEDED' } } } });
  });
});

describe('callers', () => {
  // Locally the gateway takes the caller from the SigV4 Credential of the Authorization header (it checks
  // no signature); remotely this needs a second identity, so it runs locally only.
  const as = (keyId: string) => ({
    authorization: `AWS4-HMAC-SHA256 Credential=${keyId}/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
  });

  it.runIf(target.local)("two callers with one Idempotency-Key get two jobs, and neither sees the other's", async () => {
    const key = `shared-${randomUUID()}`;
    const a = await api('POST', '/jobs/transfer', { body: { from: account('ca'), to: account('cb'), amount: 1 }, headers: { 'idempotency-key': key, ...as('CALLERA') } });
    const b = await api('POST', '/jobs/transfer', { body: { from: account('cc'), to: account('cd'), amount: 2 }, headers: { 'idempotency-key': key, ...as('CALLERB') } });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.jobId).not.toBe(a.body.jobId);
    expect((await api('GET', `/jobs/${a.body.jobId}`, { headers: as('CALLERB') })).status).toBe(404);
    expect((await api('GET', `/jobs/${a.body.jobId}`, { headers: as('CALLERA') })).status).toBe(200);
  });
});

describe('load', () => {
  it('500 concurrent submissions all reach SUCCEEDED', async () => {
    const accounts = Array.from({ length: 40 }, (_, i) => account(`load${i}`));
    const submitted = await Promise.all(
      Array.from({ length: 500 }, (_, i) => api('POST', '/jobs/transfer', { body: { from: accounts[i % 40], to: accounts[(i * 7 + 1) % 40], amount: 1 + (i % 9) } })),
    );
    expect(submitted.map((r) => r.status)).toEqual(Array(500).fill(202));
    const ids = submitted.map((r) => r.body.jobId as string);
    expect(new Set(ids).size).toBe(500);
    const jobs = await Promise.all(ids.map((id) => waitForJob(id, 120_000)));
    expect(jobs.filter((j) => j.status !== 'SUCCEEDED')).toEqual([]);
  });
});
