// The lifecycle's states and transitions (shared/store/job-states.ts) against DynamoDB Local and the SQS
// emulator, through the API function's code, the worker and the sweeper: delayed and scheduled jobs, cancel
// (of a waiting job, and of a running one), retry of a cancelled job, the timeline, listing and bulk changes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROUTES } from '../../shared/api/routes';
import { dynamoClient } from '../../shared/aws/clients';
import type { JobType } from '../../shared/jobs/define';
import { webhook } from '../../app/jobs/webhook/handler';
import { encodeRecordMessage } from '../../shared/jobs/message';
import { JobStore } from '../../shared/store/job-store';
import { SubmissionStore } from '../../shared/store/submission-store';
import { sweep } from '../../shared/sweeper/sweep';
import { processBatch } from '../../shared/worker/process-batch';
import { apiDeps, asCaller, call } from '../support/api';
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
  receiver.log.length = 0;
});

const deps = () => apiDeps(table, { webhook: queues });
const hook = (path: string) => ({ url: `${receiver.url}${path}`, body: { n: 1 } });
const callsTo = (jobId: string) => receiver.calls.get(jobId) ?? 0;

async function submit(query = '', caller?: string, key?: string, path = '/ok') {
  const response = await call(asCaller(caller, 'POST', `/jobs/webhook${query}`, ROUTES.submit, 'webhook', hook(path), key ? { 'idempotency-key': key } : {}), deps());
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body as { jobId: string; status: string; runAt?: string };
}
const status = async (jobId: string, caller?: string) => (await call(asCaller(caller, 'GET', `/jobs/${jobId}`, ROUTES.status, jobId), deps())).body;
const cancel = (jobId: string, caller?: string) => call(asCaller(caller, 'POST', `/jobs/${jobId}/cancel`, ROUTES.cancel, jobId), deps());
const retry = (jobId: string, caller?: string) => call(asCaller(caller, 'POST', `/jobs/${jobId}/retry`, ROUTES.retry, jobId), deps());
const list = (query: string, caller?: string) => call(asCaller(caller, 'GET', `/jobs?${query}`, ROUTES.list, ''), deps());
const bulk = (operation: 'cancel' | 'retry', filter: unknown) =>
  call(asCaller(undefined, 'POST', `/bulk/${operation}`, operation === 'cancel' ? ROUTES.bulkCancel : ROUTES.bulkRetry, '', filter), deps());

/** Everything visible on the job queue, through the worker once (acknowledged per its answer); `now` is the worker's clock. */
async function work(now?: () => number) {
  const records = await receiveRecords(queues.queue);
  const response = await processBatch(records, invocation(), workerDeps(webhookType, table, queues, now ? { now, store: new JobStore(dynamoClient(), table, now) } : {}));
  await acknowledge(queues.queue, records, response);
  return { records, response };
}

const sweepDeps = (now: number) => sweepDepsFor(table, webhookType, queues, now);

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('delayed jobs (submit with ?delay= or ?runAt=)', () => {
  it('a delay SQS can carry: PENDING at once, its message held back, and it never runs before its time', async () => {
    const submitted = await submit('?delay=3');
    expect(submitted.status).toBe('PENDING');
    const runAt = Date.parse(submitted.runAt!);
    expect(runAt - Date.now()).toBeGreaterThan(1500);
    // A copy of its message that comes early (put on the queue again by hand, without the delay) is held back, not run.
    const job = await status(submitted.jobId);
    expect(job).toMatchObject({ status: 'PENDING', runAt: submitted.runAt });
    await sendRaw(queues.queue, encodeRecordMessage((await new SubmissionStore(dynamoClient(), table).get(submitted.jobId))!));
    const early = await work();
    expect(early.records).toHaveLength(1); // only the early copy: the delayed message is not visible yet
    expect(early.response.batchItemFailures).toHaveLength(1);
    expect(callsTo(submitted.jobId)).toBe(0);
    // Its own message comes at its time and runs it.
    const ran = await until('the delayed message', async () => ((await work()).records.length > 0 ? true : undefined));
    expect(ran).toBe(true);
    expect(await status(submitted.jobId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(receiver.log.find((c) => c.key === submitted.jobId)!.at).toBeGreaterThanOrEqual(runAt);
  });

  it('a run time beyond 15 minutes: SCHEDULED with no message, sent by the sweeper with the rest of its delay, run at its time', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const submitted = await submit(`?runAt=${encodeURIComponent(runAt)}`);
    expect(submitted).toMatchObject({ status: 'SCHEDULED', runAt });
    expect(await receiveRecords(queues.queue)).toEqual([]);
    const due = Date.parse(runAt);
    // A sweep long before its time leaves it; one 2 s before it sends the message with a 2-second delay.
    expect((await sweep(sweepDeps(due - 20 * 60_000))).enqueued).toBe(0);
    expect((await sweep(sweepDeps(due - 2000))).enqueued).toBe(1);
    expect(await status(submitted.jobId)).toMatchObject({ status: 'PENDING' });
    // The worker's clock is the job's time from the send on (the sweeper's clock, 2 s early, plus the delay).
    const sentAt = Date.now();
    await until('the released message', async () => ((await work(() => due + (Date.now() - sentAt))).records.length > 0 ? true : undefined));
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500); // SQS held it back for the rest of the delay
    expect(await status(submitted.jobId)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('refuses a delay it cannot take, with the reason', async () => {
    for (const query of [
      '?delay=-1',
      '?delay=1.5',
      '?delay=99999999',
      '?runAt=tomorrow',
      '?runAt=2026-12-24T18:00:00',
      `?runAt=${new Date(Date.now() + 400 * 86_400_000).toISOString()}`,
      '?delay=5&runAt=2030-01-01T00:00:00Z',
    ]) {
      const response = await call(asCaller(undefined, 'POST', `/jobs/webhook${query}`, ROUTES.submit, 'webhook', hook('/ok')), deps());
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe('invalid_delay');
    }
  });

  it('refuses a query parameter it does not take: a mistyped delay must not run the job at once', async () => {
    for (const query of ['?delai=60', '?run_at=2030-01-01T00:00:00Z']) {
      const response = await call(asCaller(undefined, 'POST', `/jobs/webhook${query}`, ROUTES.submit, 'webhook', hook('/ok')), deps());
      expect(response.status, query).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_query', message: expect.stringContaining('POST /jobs/{type} takes delay, runAt') });
    }
  });
});

describe('cancel', () => {
  it('a PENDING job becomes CANCELLED and never runs: its message is dropped when it comes', async () => {
    const { jobId } = await submit();
    const cancelled = await cancel(jobId);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED' });
    const { response } = await work();
    expect(response.batchItemFailures).toEqual([]);
    expect(callsTo(jobId)).toBe(0);
    expect(await status(jobId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('a SCHEDULED job becomes CANCELLED and the sweeper never sends it', async () => {
    const { jobId } = await submit('?delay=7200');
    expect((await cancel(jobId)).body).toMatchObject({ status: 'CANCELLED' });
    expect((await sweep(sweepDeps(Date.now() + 7200_000))).enqueued).toBe(0);
    expect(await receiveRecords(queues.queue)).toEqual([]);
  });

  it('answers 409 with the state of a finished job, and 404 to another caller', async () => {
    const { jobId } = await submit();
    await work();
    const finished = await cancel(jobId);
    expect(finished.status).toBe(409);
    expect(finished.body.error).toMatchObject({ code: 'not_cancellable', details: { status: 'SUCCEEDED' } });
    const other = await submit('?delay=600');
    expect((await cancel(other.jobId, 'AKIDOTHERCALLER')).status).toBe(404);
    expect(await status(other.jobId)).toMatchObject({ status: 'PENDING' });
  });

  it("a RUNNING leased job: the request aborts its handler's signal, and a handler that stops leaves it CANCELLED", async () => {
    let release!: () => void;
    receiver.respond = () => new Promise<number>((resolve) => (release = () => resolve(200)));
    const { jobId } = await submit('', undefined, undefined, '/slow');
    const working = work();
    await until('the job to run', async () => ((await status(jobId)).status === 'RUNNING' ? true : undefined));
    const requested = await cancel(jobId);
    expect(requested.status).toBe(200);
    expect(requested.body).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    const { response } = await working; // the watcher saw the request and aborted the call
    release();
    expect(response.batchItemFailures).toEqual([]);
    const job = await status(jobId);
    expect(job).toMatchObject({ status: 'CANCELLED' });
    expect(job.history.map((h: { state: string }) => h.state)).toEqual(['PENDING', 'RUNNING', 'CANCEL_REQUESTED', 'CANCELLED']);
  });
});

describe('retry of a CANCELLED job, and the timeline', () => {
  it('runs it again as generation 2; the timeline shows every state it went through', async () => {
    const { jobId } = await submit('?delay=600');
    await cancel(jobId);
    const retried = await retry(jobId);
    expect(retried.status).toBe(202);
    await work();
    const job = await status(jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', generation: 2 });
    expect(job).not.toHaveProperty('runAt'); // a retry runs now
    expect(job.history.map((h: { state: string; generation: number }) => `${h.state}/${h.generation}`)).toEqual([
      'PENDING/1',
      'CANCELLED/1',
      'PENDING/2',
      'RUNNING/2',
      'SUCCEEDED/2',
    ]);
    expect((await retry(jobId)).status).toBe(409);
  });
});

describe('GET /jobs: list and find', () => {
  it("lists the caller's jobs of a type and state newest first, a page at a time, and nobody else's", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit('?delay=600')).jobId);
    await submit('?delay=600', 'AKIDOTHERCALLER');
    const seen: string[] = [];
    let query = 'type=webhook&state=PENDING&limit=2';
    for (let page = 0; page < 5; page++) {
      const answer = await list(query);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      seen.push(...answer.body.jobs.map((j: { jobId: string }) => j.jobId));
      if (!answer.body.cursor) break;
      query = `type=webhook&state=PENDING&limit=2&cursor=${answer.body.cursor}`;
    }
    expect(seen).toEqual([...ids].reverse());
    expect((await list('type=webhook&state=SUCCEEDED')).body.jobs).toEqual([]);
    expect((await list('state=PENDING', 'AKIDOTHERCALLER')).body.jobs).toHaveLength(1);
  });

  it('finds a job by its Idempotency-Key', async () => {
    const { jobId } = await submit('', undefined, 'order-42');
    expect((await list('type=webhook&key=order-42')).body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([jobId]);
    expect((await list('type=webhook&key=order-42', 'AKIDOTHERCALLER')).body.jobs).toEqual([]);
  });

  it('refuses filters it does not know, with the reason', async () => {
    for (const query of [
      'state=DONE',
      'type=nope',
      'limit=0',
      'limit=101',
      'cursor=abc',
      'colour=red',
      'key=k',
      'createdAfter=yesterday',
      // Reversed bounds: DynamoDB would refuse the query (a 503 once); it is the caller's mistake.
      'type=webhook&createdAfter=2026-12-07T20:44:00Z&createdBefore=2026-12-07T20:40:00Z',
    ]) {
      const answer = await list(query);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code, query).toBe('invalid_query');
    }
  });
});

describe('bulk cancel and retry', () => {
  it('cancels every job a filter matches, then retries them all, with counts', async () => {
    for (let i = 0; i < 4; i++) await submit('?delay=600');
    const cancelled = await bulk('cancel', { type: 'webhook', state: 'PENDING' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ matched: 4, changed: 4, skipped: 0 });
    expect((await list('type=webhook&state=CANCELLED')).body.jobs).toHaveLength(4);
    const retried = await bulk('retry', { type: 'webhook', state: 'CANCELLED' });
    expect(retried.body).toEqual({ matched: 4, changed: 4, skipped: 0 });
    expect((await list('type=webhook&state=PENDING')).body.jobs).toHaveLength(4);
    expect((await bulk('retry', { state: 'SUCCEEDED' })).status).toBe(400);
    const reversed = await bulk('retry', { type: 'webhook', createdAfter: '2026-12-07T20:44:00Z', createdBefore: '2026-12-07T20:40:00Z' });
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.message).toContain('createdAfter (2026-12-07T20:44:00Z) is later than createdBefore (2026-12-07T20:40:00Z)');
  });
});
