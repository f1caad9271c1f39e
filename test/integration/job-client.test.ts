// JobClient against DynamoDB Local and the SQS emulator: a submit records the job and enqueues its message
// as the API does, with the API's validation and idempotency rules, and the client and the HTTP path
// (createApiHandler with API Gateway 2.0 events) are one system: same job ids, same records, same views.
import { ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobTypes as appJobTypes } from '../../app/jobs';
import { transfer } from '../../app/jobs/transfer/handler';
import { transferType } from '../../app/jobs/transfer/type';
import { webhook } from '../../app/jobs/webhook/handler';
import { webhookType, type WebhookPayload } from '../../app/jobs/webhook/type';
import { iamIdentity, LOCAL_ACCOUNT_ID } from '../../local/lambda/http-event';
import { PUBLIC_CALLER } from '../../shared/api/caller';
import { createApiHandler } from '../../shared/api/handler';
import { dynamoClient } from '../../shared/aws/clients';
import { JobClient, JobRefusedError, JobServiceUnavailableError, type JobClientOptions } from '../../shared/client/job-client';
import { ENV, queueUrlVariable } from '../../shared/config';
import type { JobType } from '../../shared/jobs/define';
import { jobIdForKey } from '../../shared/jobs/job-id';
import { MAX_SUBMIT_MESSAGE_BYTES } from '../../shared/jobs/message';
import type { Logger } from '../../shared/log';
import { jobKey } from '../../shared/store/job-record';
import { SubmissionStore } from '../../shared/store/submission-store';
import { apiDeps, call, statusEvent, submitEvent } from '../support/api';
import { createJobQueues, createJobsTable, receiveRecords, type JobQueues } from '../support/resources';

// The declarations with their names as literal types, so that submit checks type names and payloads.
const declarations = [transferType, webhookType];

let table: string;
let queues: { transfer: JobQueues; webhook: JobQueues };
// The client's own logs are not what these tests look at (one of them makes it log an error on purpose).
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

beforeEach(async () => {
  const [t, tq, wq] = await Promise.all([createJobsTable(), createJobQueues(transfer as unknown as JobType), createJobQueues(webhook as unknown as JobType)]);
  table = t;
  queues = { transfer: tq, webhook: wq };
});

function client(options: Partial<JobClientOptions<typeof declarations>> = {}) {
  return new JobClient({
    jobTypes: declarations,
    tableName: table,
    queueUrls: { transfer: queues.transfer.queue.url, webhook: queues.webhook.queue.url },
    log: quiet,
    ...options,
  });
}

const hook = (path = '/hook', body: WebhookPayload['body'] = { n: 1 }) => ({ url: `http://127.0.0.1:9${path}`, body });

async function records(): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamoClient().send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Items.map((i) => ({ jobId: i.jobId?.S, type: i.type?.S, status: i.status?.S, owner: i.owner?.S }));
}

async function messages(q: JobQueues) {
  const received = await receiveRecords(q.queue);
  return received.map((r) => ({ body: JSON.parse(r.body) as { v: number; jobId: string; type: string; gen: number; payload: any }, groupId: r.attributes.MessageGroupId }));
}

async function refusal(promise: Promise<unknown>): Promise<JobRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobRefusedError);
  return error as JobRefusedError;
}

function asCaller(caller: string | undefined, event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  if (!caller) return event;
  return { ...event, requestContext: { ...event.requestContext, authorizer: { iam: iamIdentity(caller) } } } as APIGatewayProxyEventV2;
}

describe('JobClient.submit', () => {
  it("records the job PENDING, owned by its caller, and puts its message on the type's queue", async () => {
    const jobs = client();
    const submitted = await jobs.submit('webhook', hook(), { idempotencyKey: 'first' });
    expect(submitted).toEqual({ jobId: submitted.jobId, type: 'webhook', status: 'PENDING', replayed: false, queued: true });
    expect(submitted.jobId).toBe(jobIdForKey(PUBLIC_CALLER, 'webhook', 'first'));

    const job = await new SubmissionStore(dynamoClient(), table).get(submitted.jobId);
    expect(job).toMatchObject({ jobId: submitted.jobId, type: 'webhook', status: 'PENDING', generation: 1, attempts: 0, owner: PUBLIC_CALLER, idempotencyKey: 'first' });
    // The payload travels as its schema's output: the default timeout is filled in.
    expect(JSON.parse(job!.payload)).toEqual({ ...hook(), timeoutSeconds: 10 });

    const sent = await messages(queues.webhook);
    expect(sent.map((m) => m.body)).toEqual([{ v: 1, jobId: submitted.jobId, type: 'webhook', gen: 1, payload: { ...hook(), timeoutSeconds: 10 } }]);
    expect(await messages(queues.transfer)).toEqual([]);
  });

  it("sends a FIFO type's message in the group of its group key, and without a key gives every submit its own job", async () => {
    const jobs = client();
    const a = await jobs.submit('transfer', { from: 'alice', to: 'bob', amount: 5 });
    const b = await jobs.submit('transfer', { from: 'alice', to: 'bob', amount: 5 });
    expect(a.jobId).not.toBe(b.jobId);
    const sent = await messages(queues.transfer);
    expect(sent.map((m) => [m.body.jobId, m.groupId])).toEqual([
      [a.jobId, 'alice'],
      [b.jobId, 'alice'],
    ]);
    expect((await records()).map((r) => r.jobId).sort()).toEqual([a.jobId, b.jobId].sort());
  });

  it('same key and same payload: the same job, replayed, and no second job', async () => {
    const jobs = client();
    const first = await jobs.submit('transfer', { from: 'alice', to: 'bob', amount: 100, memo: 'rent' }, { idempotencyKey: 'order-1' });
    // The same payload with its keys in another order is the same payload.
    const again = await jobs.submit('transfer', { memo: 'rent', amount: 100, to: 'bob', from: 'alice' }, { idempotencyKey: 'order-1' });
    expect(again).toEqual({ jobId: first.jobId, type: 'transfer', status: 'PENDING', replayed: true, queued: true });
    expect(await records()).toEqual([{ jobId: first.jobId, type: 'transfer', status: 'PENDING', owner: PUBLIC_CALLER }]);
    // A job still PENDING has its message sent again (the first submit may have stopped before sending);
    // FIFO deduplication by job and generation absorbs it here, processing absorbs it anywhere.
    expect((await messages(queues.transfer)).map((m) => m.body.jobId)).toEqual([first.jobId]);

    // A finished job is reported with its real status, and not sent again.
    await dynamoClient().send(
      new UpdateItemCommand({
        TableName: table,
        Key: jobKey(first.jobId),
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'SUCCEEDED' } },
      }),
    );
    const later = await jobs.submit('transfer', { from: 'alice', to: 'bob', amount: 100, memo: 'rent' }, { idempotencyKey: 'order-1' });
    expect(later).toEqual({ jobId: first.jobId, type: 'transfer', status: 'SUCCEEDED', replayed: true, queued: true });
    expect(await records()).toHaveLength(1);
  });

  it("same key, other payload: JobRefusedError idempotency_key_reused with the key's job", async () => {
    const jobs = client();
    const first = await jobs.submit('webhook', hook('/a'), { idempotencyKey: 'k' });
    await messages(queues.webhook);
    const error = await refusal(jobs.submit('webhook', hook('/b'), { idempotencyKey: 'k' }));
    expect(error).toMatchObject({ name: 'JobRefusedError', code: 'idempotency_key_reused', jobId: first.jobId, issues: [] });
    expect(await records()).toHaveLength(1);
    expect(await messages(queues.webhook)).toEqual([]);
  });

  it('invalid payload: JobRefusedError invalid_payload with every failing field, and nothing recorded or sent', async () => {
    const jobs = client();
    // @ts-expect-error amount is a number, and `extra` is no field of a transfer
    const error = await refusal(jobs.submit('transfer', { from: 'alice', to: 'bob', amount: '100', extra: true }));
    expect(error.code).toBe('invalid_payload');
    expect(error.jobId).toBeUndefined();
    expect(error.issues.map((i) => i.path).sort()).toEqual(['', 'amount']);
    expect(error.issues.every((i) => typeof i.message === 'string' && i.message.length > 0)).toBe(true);
    expect(error.message).toMatch(/does not match the transfer schema/);

    // What JSON cannot carry is refused as the API refuses it, whatever the schema says.
    const big = await refusal(jobs.submit('webhook', hook('/big', { n: 2 ** 53 })));
    expect(big).toMatchObject({ code: 'invalid_payload', issues: [{ path: '', message: expect.stringMatching(/2\^53/) }] });
    // @ts-expect-error a BigInt has no JSON form
    const bigint = await refusal(jobs.submit('webhook', hook('/bigint', { n: 1n })));
    expect(bigint).toMatchObject({ code: 'invalid_payload', issues: [{ path: '', message: expect.stringMatching(/JSON/) }] });
    const tooLarge = await refusal(jobs.submit('webhook', hook('/large', 'x'.repeat(MAX_SUBMIT_MESSAGE_BYTES))));
    expect(tooLarge.code).toBe('payload_too_large');
    const key = await refusal(jobs.submit('webhook', hook(), { idempotencyKey: 'a,b' }));
    expect(key.code).toBe('invalid_idempotency_key');

    expect(await records()).toEqual([]);
    expect(await messages(queues.transfer)).toEqual([]);
    expect(await messages(queues.webhook)).toEqual([]);
  });

  it('unknown type: JobRefusedError unknown_job_type, also for a declared type without a queue', async () => {
    const error = await refusal(
      // @ts-expect-error there is no such job type
      client().submit('nope', {}),
    );
    expect(error).toMatchObject({ code: 'unknown_job_type', message: expect.stringContaining('"nope"') });
    const noQueue = await refusal(client({ queueUrls: { webhook: queues.webhook.queue.url } }).submit('transfer', { from: 'a', to: 'b', amount: 1 }));
    expect(noQueue).toMatchObject({ code: 'unknown_job_type', message: expect.stringContaining(queueUrlVariable('transfer')) });
    expect(await records()).toEqual([]);
  });

  it('a record that cannot be written: JobServiceUnavailableError with the id the job would have had', async () => {
    const jobs = client({ tableName: 'no-such-table' });
    const error = await jobs.submit('webhook', hook(), { idempotencyKey: 'k-503' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobServiceUnavailableError);
    expect(error).toMatchObject({ jobId: jobIdForKey(PUBLIC_CALLER, 'webhook', 'k-503'), message: expect.stringContaining('retry with the same idempotency key') });
    expect((error as Error).cause).toBeDefined();
    expect(await messages(queues.webhook)).toEqual([]);
  });

  it('a message that cannot be sent: the job is recorded and answered queued: false, for the sweeper to send', async () => {
    const jobs = client({ queueUrls: { webhook: `${queues.webhook.queue.url}-gone` } });
    const submitted = await jobs.submit('webhook', hook());
    expect(submitted).toMatchObject({ status: 'PENDING', replayed: false, queued: false });
    expect(await records()).toEqual([{ jobId: submitted.jobId, type: 'webhook', status: 'PENDING', owner: PUBLIC_CALLER }]);
  });
});

describe('JobClient.get', () => {
  it("is the view GET /jobs/{id} answers, and undefined for another caller's job, an unknown id or no id at all", async () => {
    const alice = client({ caller: 'alice' });
    const bob = client({ caller: 'bob' });
    const { jobId } = await alice.submit('webhook', hook());
    const view = await alice.get(jobId);
    expect(view).toMatchObject({ jobId, type: 'webhook', status: 'PENDING', generation: 1, attempts: 0 });
    expect(view).not.toHaveProperty('owner');
    expect(view).not.toHaveProperty('payloadHash');

    expect(await bob.get(jobId)).toBeUndefined();
    expect(await client().get(jobId)).toBeUndefined();
    expect(await alice.get(jobIdForKey('alice', 'webhook', 'never-used'))).toBeUndefined();
    expect(await alice.get('not-a-job-id')).toBeUndefined();

    // A public job reads the same through the client and through the API without authorization.
    const open = await client().submit('webhook', hook('/open'));
    expect(await client().get(open.jobId)).toEqual((await call(statusEvent(open.jobId), apiDeps(table, queues))).body);
  });
});

describe('JobClient and the HTTP API', () => {
  const handler = () => createApiHandler(declarations, apiDeps(table, queues));
  const post = async (event: APIGatewayProxyEventV2) => {
    const response = await handler()(event);
    return { status: response.statusCode, body: JSON.parse(response.body!), headers: response.headers };
  };

  it("agree on the job id of a caller's key, and share its record: either one's submit is the other's replay", async () => {
    const payload = { from: 'alice', to: 'bob', amount: 7 };
    const viaClient = await client().submit('transfer', payload, { idempotencyKey: 'shared-key' });
    const viaHttp = await post(submitEvent('transfer', payload, { 'idempotency-key': 'shared-key' }));
    expect(viaHttp.status).toBe(202);
    expect(viaHttp.body.jobId).toBe(viaClient.jobId);
    expect(viaHttp.headers['idempotent-replayed']).toBe('true');
    expect(viaHttp.headers.location).toMatch(new RegExp(`^https?://api\\.test/jobs/${viaClient.jobId}$`));

    // The other way round, with a caller authenticated with IAM: a client built with that principal.
    const principal = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/ALICE`;
    const http = await post(asCaller('ALICE', submitEvent('webhook', hook('/iam'), { 'idempotency-key': 'iam-key' })));
    expect(http.status).toBe(202);
    expect(http.headers['idempotent-replayed']).toBeUndefined();
    const asAlice = await client({ caller: principal }).submit('webhook', hook('/iam'), { idempotencyKey: 'iam-key' });
    expect(asAlice).toMatchObject({ jobId: http.body.jobId, replayed: true });
    // The default client is `public`, another caller: its equal key is another job, and it cannot read hers.
    const asPublic = await client().submit('webhook', hook('/iam'), { idempotencyKey: 'iam-key' });
    expect(asPublic).toMatchObject({ replayed: false });
    expect(asPublic.jobId).not.toBe(http.body.jobId);
    expect(await client().get(http.body.jobId)).toBeUndefined();

    // And the HTTP path refuses the client's key reuse as the client does.
    const reused = await post(submitEvent('transfer', { ...payload, amount: 8 }, { 'idempotency-key': 'shared-key' }));
    expect(reused.status).toBe(422);
    expect(reused.body.error).toEqual({ code: 'idempotency_key_reused', message: expect.any(String), details: { jobId: viaClient.jobId } });
  });

  describe('from the environment', () => {
    const saved: Record<string, string | undefined> = {};
    const set = (name: string, value: string) => {
      if (!(name in saved)) saved[name] = process.env[name];
      process.env[name] = value;
    };
    afterEach(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
        delete saved[name];
      }
    });

    it("both take the table and the queues from the API function's variables", async () => {
      set(ENV.tableName, table);
      set(queueUrlVariable('transfer'), queues.transfer.queue.url);
      set(queueUrlVariable('webhook'), queues.webhook.queue.url);
      const jobs = new JobClient({ jobTypes: appJobTypes, log: quiet });
      expect(jobs.caller).toBe(PUBLIC_CALLER);
      const submitted = await jobs.submit('webhook', hook('/env'), { idempotencyKey: 'env-key' });
      const response = await createApiHandler(appJobTypes)(submitEvent('webhook', hook('/env'), { 'idempotency-key': 'env-key' }));
      expect(response.statusCode).toBe(202);
      expect(JSON.parse(response.body!).jobId).toBe(submitted.jobId);
      expect((await messages(queues.webhook)).map((m) => m.body.jobId)).toEqual([submitted.jobId, submitted.jobId]);
      // The HTTP path's status route sees the client's job.
      const status = await createApiHandler(appJobTypes)(statusEvent(submitted.jobId));
      expect(status.statusCode).toBe(200);
    });

    it('the client refuses to start without a table', () => {
      set(ENV.tableName, '');
      expect(() => new JobClient({ jobTypes: appJobTypes })).toThrow(ENV.tableName);
    });
  });
});

describe('JobClient: the lifecycle (delay, cancel, retry, list, find by key)', () => {
  it('submits a delayed job, finds it by key, lists it, cancels it, retries it, as the HTTP API does', async () => {
    const jobs = client({ caller: 'svc-a' });
    const submitted = await jobs.submit('webhook', hook('/later'), { idempotencyKey: 'k-1', delaySeconds: 120 });
    expect(submitted.status).toBe('PENDING');
    const found = await jobs.findByKey('webhook', 'k-1');
    expect(found).toMatchObject({ jobId: submitted.jobId, idempotencyKey: 'k-1', runAt: expect.any(String) });
    expect((await jobs.list({ type: 'webhook', state: 'PENDING' })).jobs.map((j) => j.jobId)).toEqual([submitted.jobId]);
    expect(await client({ caller: 'svc-b' }).cancel(submitted.jobId)).toBeUndefined(); // another caller's job is no job
    expect(await jobs.cancel(submitted.jobId)).toMatchObject({ status: 'CANCELLED' });
    await expect(jobs.cancel(submitted.jobId)).rejects.toMatchObject({ name: 'JobStateError', status: 'CANCELLED' });
    expect(await jobs.retry(submitted.jobId)).toMatchObject({ status: 'PENDING', generation: 2 });
    const scheduled = await jobs.submit('webhook', hook('/much-later'), { runAt: new Date(Date.now() + 86_400_000) });
    expect(scheduled.status).toBe('SCHEDULED');
    await expect(refusal(jobs.submit('webhook', hook(), { delaySeconds: 400 * 86_400 }))).resolves.toMatchObject({ code: 'invalid_delay' });
    await expect(jobs.list({ limit: 1000 })).rejects.toThrow('limit');
  });
});
