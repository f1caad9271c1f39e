// The job state machine (shared/store/job-states.ts) against DynamoDB Local and the SQS emulator, as users
// and operators would push it: a DLQ redrive of a FAILED job, a message put on a queue by hand, an explicit
// retry, two callers with one Idempotency-Key, a submit whose send is lost, a worker that dies on its last
// receive, a result too large to keep, a record past its TTL. Each test names the transition it holds.
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { ROUTES } from '../../shared/api/routes';
import { dynamoClient, sqsClient } from '../../shared/aws/clients';
import { defineJob, type JobType } from '../../shared/jobs/define';
import { encodeMessage } from '../../shared/jobs/message';
import { payloadHash } from '../../shared/jobs/payload-hash';
import { transfer } from '../../app/jobs/transfer/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import { jobKey, toItem } from '../../shared/store/job-record';
import { JobStore } from '../../shared/store/job-store';
import { createMetrics } from '../../shared/metrics';
import { sweep } from '../../shared/sweeper/sweep';
import { processBatch } from '../../shared/worker/process-batch';
import { apiDeps, asCaller, bindingOf, call, retryEvent } from '../support/api';
import { acknowledge, sweepDepsFor, createJobQueues, createJobsTable, invocation, receiveRecords, sendRaw, workerDeps, type JobQueues } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const webhookType = webhook as unknown as JobType;
let table: string;
let queues: JobQueues;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());
beforeEach(async () => {
  table = await createJobsTable();
  queues = await createJobQueues(webhookType);
  receiver.respond = () => 200;
  receiver.calls.clear();
});

const submitAs = (caller: string | undefined, type: string, body: unknown, key?: string) =>
  asCaller(caller, 'POST', `/jobs/${type}`, ROUTES.submit, type, body, key ? { 'idempotency-key': key } : {});
const getAs = (caller: string | undefined, jobId: string) => asCaller(caller, 'GET', `/jobs/${jobId}`, ROUTES.status, jobId);

const deps = () => apiDeps(table, { webhook: queues });
const hook = (path: string, body: unknown = { n: 1 }) => ({ url: `${receiver.url}${path}`, body });
const callsTo = (jobId: string) => receiver.calls.get(jobId) ?? 0;

async function submit(payload: unknown, key?: string, caller?: string) {
  const response = await call(submitAs(caller, 'webhook', payload, key), deps());
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.jobId as string;
}

async function status(jobId: string, caller?: string) {
  return (await call(getAs(caller, jobId), deps())).body;
}

/** Everything on the job queue, run once through the worker as Lambda would (acknowledged per the answer). */
async function work(type: JobType = webhookType, q: JobQueues = queues) {
  const records = await receiveRecords(q.queue);
  const response = await processBatch(records, invocation(), workerDeps(type, table, q));
  await acknowledge(q.queue, records, response);
  return { records, response };
}

async function drainDeadLetters(q: JobQueues = queues) {
  const sqs = await sqsClient();
  const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlq.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
  return (Messages ?? []).map((m) => ({
    body: m.Body!,
    reason: m.MessageAttributes?.['jobline-reason']?.StringValue,
    jobId: m.MessageAttributes?.['jobline-job-id']?.StringValue,
  }));
}

const sweepDeps = (now: number) => sweepDepsFor(table, webhookType, queues, now);

/** A sweep's deps that keep its EMF lines, and the counts they carry for the webhook type. */
function sweepDepsCounting(now: number) {
  const lines: Record<string, unknown>[] = [];
  const deps = { ...sweepDeps(now), metrics: createMetrics({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }) };
  const counted = (name: string) => lines.filter((l) => l.JobType === 'webhook').reduce((n, l) => n + ((l[name] as number | undefined) ?? 0), 0);
  return { deps, counted };
}

describe('terminal states stay terminal', () => {
  it("drops a FAILED job's message when an operator redrives it from the DLQ: the target is not called again", async () => {
    receiver.respond = () => 422;
    const jobId = await submit(hook('/reject'));
    await work();
    expect(await status(jobId)).toMatchObject({ status: 'FAILED', error: expect.stringContaining('422') });
    const [parked] = await drainDeadLetters();
    expect(parked).toMatchObject({ jobId, reason: expect.stringContaining('422') });

    // The redrive: the DLQ copy goes back to its source queue (what StartMessageMoveTask does).
    await sendRaw(queues.queue, parked!.body);
    receiver.respond = () => 200;
    const { response } = await work();
    expect(response.batchItemFailures).toEqual([]);
    expect(callsTo(jobId)).toBe(1);
    expect(await status(jobId)).toMatchObject({ status: 'FAILED' });
    expect(await drainDeadLetters()).toEqual([]);
  });

  it('acknowledges a message of a SUCCEEDED job without running it (a duplicate)', async () => {
    const jobId = await submit(hook('/ok'));
    const [first] = await receiveRecords(queues.queue);
    await sendRaw(queues.queue, first!.body);
    await processBatch([first!], invocation(), workerDeps(webhookType, table, queues));
    await work();
    expect(callsTo(jobId)).toBe(1);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });
});

describe('messages are bound to their record (type, payload hash, generation)', () => {
  it('parks a message put on the queue by hand with a real job id and another payload: nothing runs, the job is untouched', async () => {
    const jobId = await submit(hook('/real'));
    const [real] = await receiveRecords(queues.queue, 1, 60);
    await sendRaw(queues.queue, encodeMessage(jobId, 'webhook', hook('/forged', { steal: true })));
    await work();
    expect(callsTo(jobId)).toBe(0);
    expect(await status(jobId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    const parked = await drainDeadLetters();
    expect(parked).toEqual([expect.objectContaining({ jobId, reason: expect.stringContaining('does not match its job record') })]);
    // The job's own message still runs it.
    const response = await processBatch([real!], invocation(), workerDeps(webhookType, table, queues));
    expect(response.batchItemFailures).toEqual([]);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('parks a forged message of a generation that was never started', async () => {
    const jobId = await submit(hook('/real'));
    await receiveRecords(queues.queue, 1, 60);
    await sendRaw(queues.queue, encodeMessage(jobId, 'webhook', hook('/real'), 7));
    await work();
    expect(callsTo(jobId)).toBe(0);
    expect(await drainDeadLetters()).toEqual([expect.objectContaining({ jobId })]);
  });

  it('a forged transfer cannot move money, and cannot fail the job it names', async () => {
    const transferType = transfer as unknown as JobType;
    const tq = await createJobQueues(transferType);
    const api = apiDeps(table, { transfer: tq });
    const submitted = await call(submitAs(undefined, 'transfer', { from: 'alice', to: 'bob', amount: 5 }), api);
    const jobId = submitted.body.jobId as string;
    await receiveRecords(tq.queue, 1, 60);
    await sendRaw(tq.queue, encodeMessage(jobId, 'transfer', { from: 'bob', to: 'mallory', amount: 1_000 }), { groupId: 'bob', deduplicationId: 'forged' });
    await sendRaw(tq.queue, encodeMessage(jobId, 'transfer', { from: 'bob', amount: 'lots' }), { groupId: 'bob', deduplicationId: 'forged-bad-schema' });
    const { response } = await work(transferType, tq);
    expect(response.batchItemFailures).toEqual([]);
    expect((await call(getAs(undefined, jobId), api)).body).toMatchObject({ status: 'PENDING' });
    expect((await drainDeadLetters(tq)).map((m) => m.reason)).toEqual([expect.stringContaining('does not match'), expect.stringContaining('does not match')]);
  });
});

describe('retry: the explicit transition out of FAILED', () => {
  it("runs a FAILED job again as generation 2, keeps the last error until then, and drops the earlier generation's messages", async () => {
    let calls = 0;
    receiver.respond = () => (++calls === 1 ? 422 : 200);
    const jobId = await submit(hook('/fixed-later'));
    await work();
    const [parked] = await drainDeadLetters();
    expect(await status(jobId)).toMatchObject({ status: 'FAILED', generation: 1 });

    const retried = await call(retryEvent(jobId), deps());
    expect(retried.status).toBe(202);
    expect(await status(jobId)).toMatchObject({ status: 'PENDING', generation: 2, error: expect.stringContaining('422') });
    // A redrive of the generation-1 message arrives before the new one: dropped.
    await sendRaw(queues.queue, parked!.body);
    await work();
    await work();
    expect(callsTo(jobId)).toBe(2);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED', generation: 2 });
    expect(await drainDeadLetters()).toEqual([]);
  });

  it("answers 409 with the state for a job that is not FAILED, and 404 for another caller's job", async () => {
    const jobId = await submit(hook('/ok'), undefined, 'ALICE');
    const notFailed = await call(asCaller('ALICE', 'POST', `/jobs/${jobId}/retry`, ROUTES.retry, jobId), deps());
    expect(notFailed).toMatchObject({ status: 409, body: { error: { code: 'not_retryable', details: { status: 'PENDING' } } } });
    const other = await call(asCaller('MALLORY', 'POST', `/jobs/${jobId}/retry`, ROUTES.retry, jobId), deps());
    expect(other.status).toBe(404);
  });
});

describe('keys belong to their callers', () => {
  it('gives two callers with the same Idempotency-Key two jobs, and each sees only their own', async () => {
    const a = await submit(hook('/a'), 'order-1', 'ALICE');
    const b = await submit(hook('/b'), 'order-1', 'BOB');
    expect(b).not.toBe(a);
    expect(await status(a, 'ALICE')).toMatchObject({ jobId: a });
    expect((await call(getAs('BOB', a), deps())).status).toBe(404);
    expect((await call(getAs('ALICE', b), deps())).status).toBe(404);
    // Within one caller the key still means one job: a replay, or 422 for another payload.
    expect((await call(submitAs('ALICE', 'webhook', hook('/a'), 'order-1'), deps())).body.jobId).toBe(a);
    expect((await call(submitAs('ALICE', 'webhook', hook('/other'), 'order-1'), deps())).status).toBe(422);
  });
});

describe('submit never lies', () => {
  it('accepts a job whose send failed (queued: false); the sweeper sends it, and it runs', async () => {
    const failing = { ...deps(), send: async () => Promise.reject(Object.assign(new Error('SQS unavailable'), { $metadata: { httpStatusCode: 503 } })) };
    const response = await call(submitAs(undefined, 'webhook', hook('/later'), 'k-1'), failing);
    expect(response).toMatchObject({ status: 202, body: { status: 'PENDING', queued: false } });
    const jobId = response.body.jobId as string;
    expect(await receiveRecords(queues.queue)).toEqual([]);

    const report = await sweep(sweepDeps(Date.now() + 10 * 60_000));
    expect(report).toMatchObject({ resent: 1, gaveUp: 0 });
    await work();
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it("answers a same-key resubmit with the job's real status, and sends nothing once it is past PENDING", async () => {
    const jobId = await submit(hook('/ok'), 'k-2');
    await work();
    const again = await call(submitAs(undefined, 'webhook', hook('/ok'), 'k-2'), deps());
    expect(again).toMatchObject({ status: 202, body: { jobId, status: 'SUCCEEDED' }, headers: { 'idempotent-replayed': 'true' } });
    expect(await receiveRecords(queues.queue)).toEqual([]);
  });

  it("sends a PENDING job's message again on a same-key resubmit (the first submit may have stopped before its send)", async () => {
    const jobId = await submit(hook('/ok'), 'k-3');
    await call(submitAs(undefined, 'webhook', hook('/ok'), 'k-3'), deps());
    const records = await receiveRecords(queues.queue);
    expect(records.map((r) => JSON.parse(r.body).jobId)).toEqual([jobId, jobId]);
    await processBatch(records, invocation(), workerDeps(webhookType, table, queues));
    expect(callsTo(jobId)).toBe(1);
  });
});

describe('no job is left RUNNING or PENDING', () => {
  it('gives up a job whose worker died on its last receive: FAILED, with its message in the DLQ', async () => {
    const jobId = await submit(hook('/slow'));
    const binding = await bindingOf(table, jobId);
    const store = new JobStore(dynamoClient(), table);
    // Every allowed receive claimed it and died (its lease ran out); SQS moved the message to the DLQ.
    for (let i = 0; i < webhookType.queue.maxReceiveCount; i++) expect((await store.claim(binding, `dead-${i}`, Date.now() - 1)).outcome).toBe('claimed');
    await receiveRecords(queues.queue, 10, 3600);
    expect(await status(jobId)).toMatchObject({ status: 'RUNNING' });

    const { deps: counting, counted } = sweepDepsCounting(Date.now() + 24 * 3_600_000);
    const report = await sweep(counting);
    expect(report).toMatchObject({ gaveUp: 1 });
    // Its metrics: a job FAILED (the construct's JobsFailed alarms and graphs see the sweeper's too).
    expect(counted('JobsFailed')).toBe(1);
    expect(await status(jobId)).toMatchObject({ status: 'FAILED', error: expect.stringContaining(`gave up after ${webhookType.queue.maxReceiveCount} attempts`) });
    expect(await drainDeadLetters()).toEqual([expect.objectContaining({ jobId, reason: expect.stringContaining('gave up') })]);
    // The sweeper's cursor has passed it: each index entry is looked at once.
    expect(await sweep(sweepDeps(Date.now() + 48 * 3_600_000))).toMatchObject({ looked: 0 });
  });

  it('time out: a leased handler past its budget leaves its reason on the record and keeps its lease until it runs out', async () => {
    const jobId = await submit(hook('/slow'));
    const binding = await bindingOf(table, jobId);
    const store = new JobStore(dynamoClient(), table);
    expect((await store.claim(binding, 'w1', Date.now() + 60_000, 1)).outcome).toBe('claimed');
    // Only the lease's holder writes it.
    expect(await store.recordTimeout(binding, 'TransientError: handler timed out after 24000 ms', 'w2', 1)).toBe(false);
    expect(await store.recordTimeout(binding, 'TransientError: handler timed out after 24000 ms', 'w1', 1)).toBe(true);
    const job = await status(jobId);
    expect(job).toMatchObject({ status: 'RUNNING', error: 'TransientError: handler timed out after 24000 ms' });
    expect(job.history.at(-1)).toMatchObject({ state: 'RUNNING', attempt: 1, reason: 'TransientError: handler timed out after 24000 ms' });
    // The lease is kept: the handler may still be running, so no other worker takes the job before it runs out.
    expect((await store.claim(binding, 'w2', Date.now() + 60_000, 2)).outcome).toBe('leased');
  });

  it("sends a stale PENDING job's message again; the duplicate costs no second effect", async () => {
    const jobId = await submit(hook('/ok'));
    const { deps: counting, counted } = sweepDepsCounting(Date.now() + 6 * 60_000);
    const report = await sweep(counting);
    expect(report).toMatchObject({ looked: 1, postponed: 0, resent: 1 });
    expect(counted('JobsResent')).toBe(1);
    // Sent again: two messages, one job, one call.
    await work();
    expect(callsTo(jobId)).toBe(1);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED' });
  });
});

describe('the sweeper never loses sight of a job', () => {
  it('reads a job that moved on between its read and its write again, and decides again', async () => {
    const jobId = await submit(hook('/ok'));
    const deps = sweepDeps(Date.now() + 6 * 60_000);
    // The job makes progress just as the sweeper writes: its first conditional write loses the race.
    let raced = false;
    const store = deps.store;
    const markResent = store.markResent.bind(store);
    store.markResent = async (job, next) => {
      if (!raced) {
        raced = true;
        await dynamoClient().send(
          new UpdateItemCommand({
            TableName: table,
            Key: jobKey(jobId),
            UpdateExpression: 'SET updatedAt = :t',
            ExpressionAttributeValues: { ':t': { S: new Date(Date.now() - 5 * 60_000).toISOString() } },
          }),
        );
      }
      return markResent(job, next);
    };
    expect(await sweep(deps)).toMatchObject({ resent: 1, errors: 0 });
    expect(raced).toBe(true);
  });

  it('keeps its cursor before a job it could not settle, so the next sweep reads it again', async () => {
    const jobId = await submit(hook('/ok'));
    const later = Date.now() + 6 * 60_000;
    const busy = sweepDeps(later);
    busy.store.markResent = async () => false; // the job moves on every time
    expect(await sweep(busy)).toMatchObject({ looked: 1, resent: 0 });
    // The next sweep sees it again and settles it.
    expect(await sweep(sweepDeps(later + 1000))).toMatchObject({ looked: 1, resent: 1 });
    await work();
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED' });
  });
});

describe('results too large to keep', () => {
  const echo = defineJob({
    name: 'echo',
    kind: 'transactional',
    schema: z.strictObject({ size: z.number() }),
    handler: async (p) => ({ result: 'x'.repeat(p.size), writes: [] }),
  }) as unknown as JobType;

  it('complete their job with a note instead of the result, and do not take their group commit down', async () => {
    const q = await createJobQueues(echo);
    const store = new (await import('../../shared/store/submission-store')).SubmissionStore(dynamoClient(), table);
    const ids: string[] = [];
    for (const size of [10, 70_000, 20]) {
      const jobId = `00000000-0000-4000-8000-${String(size).padStart(12, '0')}`;
      const payload = { size };
      const at = new Date().toISOString();
      await store.create({
        jobId,
        type: 'echo',
        status: 'PENDING',
        generation: 1,
        attempts: 0,
        payloadHash: payloadHash(payload),
        payloadBytes: 10,
        payload: JSON.stringify(payload),
        owner: 'public',
        createdAt: at,
        updatedAt: at,
        expiresAt: Math.floor(Date.now() / 1000) + 86_400,
        history: [],
      });
      await sendRaw(q.queue, encodeMessage(jobId, 'echo', payload));
      ids.push(jobId);
    }
    const { response } = await work(echo, q);
    expect(response.batchItemFailures).toEqual([]);
    const views = await Promise.all(ids.map(async (id) => (await store.get(id))!));
    expect(views.map((v) => v.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(views[1]!.result).toEqual({ resultNotStored: expect.stringContaining('70002 bytes') });
    expect(views[0]!.result).toBe('x'.repeat(10));
  });
});

describe('records past their TTL', () => {
  it('read as gone (DynamoDB deletes them days late), and their key makes a new job', async () => {
    const jobId = await submit(hook('/ok'), 'k-expired');
    await dynamoClient().send(
      new UpdateItemCommand({
        TableName: table,
        Key: jobKey(jobId),
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: String(Math.floor(Date.now() / 1000) - 60) } },
      }),
    );
    expect((await call(getAs(undefined, jobId), deps())).status).toBe(404);
    const again = await call(submitAs(undefined, 'webhook', hook('/other-payload'), 'k-expired'), deps());
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await status(jobId)).toMatchObject({ status: 'PENDING' });
  });

  it('does not let a DLQ redrive after a key was reused run the old payload under the new job', async () => {
    const jobId = await submit(hook('/old'), 'k-reused');
    const [old] = await receiveRecords(queues.queue, 1, 3600);
    // The old record expired and the key was used again, for another payload.
    await dynamoClient().send(new PutItemCommand({ TableName: table, Item: toItem({ ...(await bindingRecord(jobId)), expiresAt: 1 }) }));
    await submit(hook('/new'), 'k-reused');
    await sendRaw(queues.queue, old!.body);
    await work();
    expect([...receiver.calls.entries()]).toEqual([[jobId, 1]]);
    expect(await drainDeadLetters()).toEqual([expect.objectContaining({ reason: expect.stringContaining('does not match') })]);
  });
});

async function bindingRecord(jobId: string) {
  const store = new (await import('../../shared/store/submission-store')).SubmissionStore(dynamoClient(), table);
  return (await store.get(jobId))!;
}
