// POST /jobs/{type}/batch and JobClient.submitMany against DynamoDB Local and the SQS emulator: each job
// gets the answer a single submit would have given it, every accepted job's message is on the queue (sent
// 10 to a SendMessageBatch call), replays are replays, and a FIFO group's jobs keep the order they were given.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobTypes } from '../../app/jobs';
import { transfer } from '../../app/jobs/transfer/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import { ROUTES } from '../../shared/api/routes';
import { dynamoClient, sqsClient } from '../../shared/aws/clients';
import { JobClient, JobRefusedError } from '../../shared/client/job-client';
import { newJobId } from '../../shared/jobs/job-id';
import { decodeMessage } from '../../shared/jobs/message';
import type { JobRecord } from '../../shared/store/job-record';
import { SubmissionStore } from '../../shared/store/submission-store';
import { apiDeps, asCaller, call } from '../support/api';
import { createJobQueues, createJobsTable, type JobQueues } from '../support/resources';

let table: string;
let hooks: JobQueues;
let transfers: JobQueues;
beforeAll(async () => {
  table = await createJobsTable();
  hooks = await createJobQueues(webhook);
  transfers = await createJobQueues(transfer);
});

const deps = () => apiDeps(table, { webhook: hooks, transfer: transfers });
const batch = (type: string, body: unknown, caller?: string) => call(asCaller(caller, 'POST', `/jobs/${type}/batch`, ROUTES.submitBatch, type, body), deps());
const hook = (n: number) => ({ url: `http://127.0.0.1:9/${n}`, body: { n } });

/** Every message on a queue, in the order received (deleted as they are read). */
async function drain(queueUrl: string): Promise<{ jobId: string; body: unknown }[]> {
  const sqs = await sqsClient();
  const out: { jobId: string; body: unknown }[] = [];
  for (let empty = 0; empty < 2;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
    if (Messages.length === 0) {
      empty++;
      continue;
    }
    for (const m of Messages) {
      const decoded = decodeMessage(m.Body!);
      out.push({ jobId: decoded.jobId, body: decoded.payload });
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return out;
}

describe('batch submit over HTTP', () => {
  it('answers each of 100 jobs as a single submit would, and sends every accepted one', async () => {
    const single = await call(asCaller(undefined, 'POST', '/jobs/webhook', ROUTES.submit, 'webhook', hook(1000), { 'idempotency-key': 'taken' }), deps());
    expect(single.status).toBe(202);
    await drain(hooks.queue.url);
    const jobs = [
      ...Array.from({ length: 95 }, (_, n) => ({ payload: hook(n), idempotencyKey: `batch-${n}` })),
      { payload: { url: 'not a url', body: {} } },
      { payload: hook(96), delay: 'soon' },
      { payload: hook(97), idempotencyKey: 'taken' },
      { payload: hook(98), delay: 60 },
      { payload: hook(99), delay: 3600 },
    ];
    const answer = await batch('webhook', { jobs });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 97, refused: 3 });
    const results = answer.body.results as { httpStatus: number; jobId?: string; status?: string; runAt?: string; error?: { code: string; details?: { jobId?: string } } }[];
    expect(results).toHaveLength(100);
    expect(results.slice(0, 95).every((r) => r.httpStatus === 202 && r.status === 'PENDING')).toBe(true);
    expect(results[95]).toMatchObject({ httpStatus: 400, error: { code: 'invalid_payload' } });
    expect(results[96]).toMatchObject({ httpStatus: 400, error: { code: 'invalid_delay' } });
    expect(results[97]).toMatchObject({ httpStatus: 422, error: { code: 'idempotency_key_reused', details: { jobId: single.body.jobId } } });
    expect(results[98]).toMatchObject({ httpStatus: 202, status: 'PENDING' });
    expect(results[98]!.runAt).toBeDefined();
    expect(results[99]).toMatchObject({ httpStatus: 202, status: 'SCHEDULED' });

    // The 95 and the one delayed by 60 s (its message rides DelaySeconds); the SCHEDULED one has no message yet.
    const sent = await drain(hooks.queue.url);
    expect(new Set(sent.map((m) => m.jobId))).toEqual(new Set(results.slice(0, 95).map((r) => r.jobId)));
    for (const r of results.filter((x) => x.jobId)) expect((await call(asCaller(undefined, 'GET', `/jobs/${r.jobId}`, ROUTES.status, r.jobId!), deps())).status).toBe(200);

    // The same batch again: each keyed job is the same job, replayed (keyless ones are new jobs, as a
    // keyless single submit would make), and the reused key is still refused.
    const again = await batch('webhook', { jobs });
    const replayed = again.body.results as typeof results;
    expect(replayed.slice(0, 95).map((r) => r.jobId)).toEqual(results.slice(0, 95).map((r) => r.jobId));
    expect(replayed[97]).toMatchObject({ httpStatus: 422 });
    expect(replayed[98]!.jobId).not.toBe(results[98]!.jobId);
    // Another caller's batch with the same keys: jobs of its own.
    const other = await batch('webhook', { jobs: jobs.slice(0, 3) }, 'CALLERB');
    expect((other.body.results as typeof results).map((r) => r.jobId)).not.toContain(results[0]!.jobId);
  });

  it('makes a key given twice in one batch one job, and refuses it for another payload', async () => {
    const answer = await batch('webhook', {
      jobs: [
        { payload: hook(1), idempotencyKey: 'twice' },
        { payload: hook(2), idempotencyKey: 'fresh' },
        { payload: hook(1), idempotencyKey: 'twice' },
        { payload: hook(3), idempotencyKey: 'twice' },
      ],
    });
    const results = answer.body.results as { httpStatus: number; jobId?: string; error?: { code: string; details?: { jobId?: string } } }[];
    expect(results.map((r) => r.httpStatus)).toEqual([202, 202, 202, 422]);
    expect(results[2]!.jobId).toBe(results[0]!.jobId);
    expect(results[3]!.error).toMatchObject({ code: 'idempotency_key_reused', details: { jobId: results[0]!.jobId } });
    expect((await drain(hooks.queue.url)).filter((m) => m.jobId === results[0]!.jobId).length).toBeGreaterThanOrEqual(1);
  });

  it('refuses what is not a batch as a whole, with the reason', async () => {
    const tooMany = await batch('webhook', { jobs: Array.from({ length: 101 }, (_, n) => ({ payload: hook(n) })) });
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: 'invalid_batch' } } });
    expect(tooMany.body.error.message).toContain('1-100 jobs');
    expect((await batch('webhook', { jobs: [] })).status).toBe(400);
    expect((await batch('webhook', [{ payload: hook(1) }])).status).toBe(400);
    expect((await batch('nosuchtype', { jobs: [{ payload: {} }] })).status).toBe(404);
    const stray = await batch('webhook', { jobs: [{ payload: hook(1), priority: 1 }] });
    expect(stray.body.results[0]).toMatchObject({ httpStatus: 400, error: { code: 'invalid_batch' } });
    expect(stray.body.results[0].error.message).toContain('priority');
  });

  it("refuses a single submit's query parameters, headers and fields given for the whole batch (they would be ignored)", async () => {
    const one = { jobs: [{ payload: hook(1) }] };
    const delayed = await call(asCaller(undefined, 'POST', '/jobs/webhook/batch?delay=60', ROUTES.submitBatch, 'webhook', one), deps());
    expect(delayed).toMatchObject({ status: 400, body: { error: { code: 'invalid_query', message: expect.stringContaining('delay') } } });
    for (const name of ['idempotency-key', 'callback-url']) {
      const withHeader = await call(asCaller(undefined, 'POST', '/jobs/webhook/batch', ROUTES.submitBatch, 'webhook', one, { [name]: 'http://127.0.0.1:9/x' }), deps());
      expect(withHeader, name).toMatchObject({ status: 400, body: { error: { code: 'invalid_batch', message: expect.stringContaining(`no ${name} header`) } } });
    }
    const withField = await batch('webhook', { ...one, delay: 60, callbackUrl: 'http://127.0.0.1:9/x' });
    expect(withField).toMatchObject({ status: 400, body: { error: { code: 'invalid_batch', message: expect.stringContaining('unknown field delay, callbackUrl') } } });
  });

  it("keeps a FIFO group's jobs in the order of the request", async () => {
    await drain(transfers.queue.url);
    const jobs = Array.from({ length: 30 }, (_, n) => ({ payload: { from: 'alice', to: 'bob', amount: n + 1 } }));
    const answer = await batch('transfer', { jobs });
    expect(answer.body.accepted).toBe(30);
    const sent = await drain(transfers.queue.url);
    expect(sent.map((m) => (m.body as { amount: number }).amount)).toEqual(jobs.map((j) => j.payload.amount));
  });
});

describe('JobClient.submitMany', () => {
  it('gives each job its SubmittedJob or the error submit would have thrown, in order', async () => {
    const client = new JobClient({ jobTypes, dynamodb: dynamoClient(), tableName: table, queueUrls: { webhook: hooks.queue.url, transfer: transfers.queue.url } });
    const results = await client.submitMany('webhook', [
      { payload: hook(1), options: { idempotencyKey: 'client-1' } },
      { payload: { url: 'nope', body: {} } },
      { payload: hook(3), options: { delaySeconds: 7200 } },
    ]);
    expect(results[0]).toMatchObject({ type: 'webhook', status: 'PENDING', replayed: false, queued: true });
    expect(results[1]).toBeInstanceOf(JobRefusedError);
    expect((results[1] as JobRefusedError).code).toBe('invalid_payload');
    expect(results[2]).toMatchObject({ status: 'SCHEDULED' });
    const again = await client.submitMany('webhook', [{ payload: hook(1), options: { idempotencyKey: 'client-1' } }]);
    expect(again[0]).toMatchObject({ jobId: (results[0] as { jobId: string }).jobId, replayed: true });
  });
});

describe('SubmissionStore.createMany', () => {
  /** A store whose client counts the DynamoDB calls it makes, by operation. */
  function countingStore(): { store: SubmissionStore; calls: string[] } {
    const calls: string[] = [];
    const client = new DynamoDBClient({});
    client.middlewareStack.add((next, context) => (args) => (calls.push(context.commandName as string), next(args)), { step: 'initialize' });
    return { store: new SubmissionStore(client, table), calls };
  }
  const record = (jobId: string, payload = '{}'): JobRecord => {
    const at = new Date().toISOString();
    return {
      jobId,
      type: 'webhook',
      status: 'PENDING',
      generation: 1,
      attempts: 0,
      payloadHash: payload,
      payloadBytes: payload.length,
      payload,
      owner: 'CALLERA',
      createdAt: at,
      updatedAt: at,
      history: [{ state: 'PENDING', at, generation: 1 }],
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    };
  };

  it('writes 100 new jobs in one transaction, and with some of them there already, in two', async () => {
    const { store, calls } = countingStore();
    const jobs = Array.from({ length: 100 }, () => record(newJobId()));
    expect((await store.createMany(jobs)).every((r) => 'created' in r && r.created)).toBe(true);
    expect(calls).toEqual(['TransactWriteItemsCommand']);

    // Five of these exist (with another payload): DynamoDB cancels the first transaction, names them with
    // their records, and the other 95 go in the second.
    calls.length = 0;
    const mixed = Array.from({ length: 100 }, (_, i) => (i % 20 === 7 ? record(jobs[i]!.jobId, '{"other":1}') : record(newJobId(), '{"new":1}')));
    const results = await store.createMany(mixed);
    expect(calls).toEqual(['TransactWriteItemsCommand', 'TransactWriteItemsCommand']);
    results.forEach((result, i) => {
      if (i % 20 === 7) expect(result).toMatchObject({ created: false, existing: { jobId: jobs[i]!.jobId, payload: '{}' } });
      else expect(result).toEqual({ created: true });
    });
    // The records that were there are as they were; the new ones are written.
    for (const i of [0, 7, 99]) expect((await store.get(mixed[i]!.jobId))?.payload).toBe(i === 7 ? '{}' : '{"new":1}');
  });
});
