// Job type limits (shared/limits/) against DynamoDB Local and the SQS emulator: the rate limiter and the
// concurrency limit hold when many workers ask at the same moment (their writes are conditional), and a
// job over a limit goes back to its queue delayed, runs later, and uses none of its receives.
import type { SQSRecord } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../shared/aws/clients';
import { defineJob, type JobType } from '../../shared/jobs/define';
import { encodeMessage } from '../../shared/jobs/message';
import { payloadHash } from '../../shared/jobs/payload-hash';
import { DEFERRALS_ATTRIBUTE, Limiter, RATE_SLOT_ATTRIBUTE } from '../../shared/limits/admission';
import { concurrencyLimitKey, givePlaceBack, takePlace } from '../../shared/limits/concurrency-limit';
import { rateLimitKey, takeRateSlot } from '../../shared/limits/rate-limit';
import { SubmissionStore } from '../../shared/store/submission-store';
import { sleep } from '../../shared/sleep';
import { processBatch } from '../../shared/worker/process-batch';
import { workerDepsFromEnv } from '../../shared/worker/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import { ENV } from '../../shared/config';
import { limitNumbers } from '../../shared/limits/limits';
import { createLogger } from '../../shared/log';
import { apiDeps, call, submitEvent } from '../support/api';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { acknowledge, createJobQueues, createJobsTable, invocation, receiveRecords, sendRaw, uniqueName, workerDeps } from '../support/resources';

let table: string;
beforeAll(async () => {
  table = await createJobsTable();
});

describe('the rate limiter (one timestamp per key, GCRA)', () => {
  it('gives 20 workers asking at the same instant exactly `burst` slots now and the rest one interval apart', async () => {
    const pk = rateLimitKey('rated', uniqueName('key'));
    const now = 1_800_000_000_000;
    const slots = await Promise.all(Array.from({ length: 20 }, () => takeRateSlot(dynamoClient(), table, pk, { perSecond: 5, burst: 10 }, now)));
    const at = slots.map((s) => s.at).sort((a, b) => a - b);
    expect(at.filter((t) => t <= now)).toHaveLength(10);
    // The ten later ones: 200 ms apart, none given twice.
    expect(at.slice(10).map((t) => Math.round(t - now))).toEqual([200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000]);
  });

  it('gives a slot to every one of 100 workers finding a key quiet at once, their clocks a few intervals apart (a hot key)', async () => {
    // A key under its rate is quiet for nearly every job: each worker's now is past the last tat, and they
    // all move the one item. Each must still get its slot, at once (the burst covers them all), in few writes.
    // Five rounds, each on a key of its own: a formulation that retries a bounded number of times loses
    // some rounds' races and not others.
    for (let round = 0; round < 5; round++) {
      const pk = rateLimitKey('rated', uniqueName('key'));
      const t0 = 1_800_000_000_000;
      const nows = Array.from({ length: 100 }, (_, i) => t0 + i * 5);
      const slots = await Promise.all(nows.map((now) => takeRateSlot(dynamoClient(), table, pk, { perSecond: 1000, burst: 1000 }, now)));
      slots.forEach((slot, i) => expect(slot.at).toBeLessThanOrEqual(nows[i]!));
    }
  });

  it('refills at the rate: after a quiet spell a burst starts again, never more', async () => {
    const pk = rateLimitKey('rated', uniqueName('key'));
    const t0 = 1_800_000_000_000;
    const take = (now: number) => takeRateSlot(dynamoClient(), table, pk, { perSecond: 2, burst: 2 }, now);
    expect((await take(t0)).at).toBe(t0);
    expect((await take(t0)).at).toBeLessThanOrEqual(t0);
    expect((await take(t0)).at).toBeGreaterThan(t0); // burst used up
    // Ten seconds later the bucket is full again: two now, the third waits.
    const later = t0 + 10_000;
    const again = await Promise.all([take(later), take(later), take(later)]);
    expect(again.filter((s) => s.at <= later)).toHaveLength(2);
  });
});

describe('admission under a rate', () => {
  it('waits in place for a slot under a second away only when the invocation can still start the job then', async () => {
    const limits = { rate: { perSecond: 2, burst: 1 } };
    const typeName = uniqueName('paced');
    const record = { messageId: 'm', messageAttributes: {} } as unknown as SQSRecord;
    // The limiter's clock stands still, so that how busy this machine is cannot move the slots.
    const t0 = 1_800_000_000_000;
    const limiter = new Limiter(dynamoClient(), table, () => t0);
    const admit = (latestStart?: number) => limiter.admit(typeName, limits, {}, record, 'owner', t0 + 60_000, latestStart);
    expect((await admit()).admitted).toBe(true);
    // The next slot is 500 ms away: with 100 ms left to start in, the job is deferred with its slot...
    const deferred = await admit(t0 + 100);
    expect(deferred).toMatchObject({ admitted: false, delaySeconds: 1, attributes: { [RATE_SLOT_ATTRIBUTE]: String(t0 + 500) } });
    // ...and with time enough, the one after (a second away) is waited for, not deferred.
    const started = Date.now();
    expect((await admit(t0 + 5_000)).admitted).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('admission of a batch', () => {
  it('takes the rate slots its records ask for side by side in one write, in order, none given twice', async () => {
    // A client of its own, counting the limiter's writes (the shared one serves the other tests).
    const client = new DynamoDBClient({});
    let writes = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand') writes++;
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      const t0 = 1_800_000_000_000;
      const limiter = new Limiter(client, table, () => t0);
      const limits = { rate: { perSecond: 10, burst: 5 } };
      const typeName = uniqueName('batched');
      const record = { messageId: 'm', messageAttributes: {} } as unknown as SQSRecord;
      // Ten records of one batch under one key, the invocation's clock standing still: a slot after now defers.
      const admissions = await Promise.all(Array.from({ length: 10 }, () => limiter.admit(typeName, limits, {}, record, 'owner', t0 + 60_000, t0)));
      // A new key: the busy write finds no item, the quiet one takes all ten slots. One by one it would be ten or more.
      expect(writes).toBeLessThanOrEqual(2);
      expect(admissions.filter((a) => a.admitted)).toHaveLength(5);
      const later = admissions.flatMap((a) => (a.admitted ? [] : [Number(a.attributes[RATE_SLOT_ATTRIBUTE]) - t0]));
      expect(later).toEqual([100, 200, 300, 400, 500]);
      // The next batch finds the key busy: its slots follow on from the first batch's, in at most two writes
      // (this worker last found the key quiet and tries that side first).
      writes = 0;
      const next = await Promise.all(Array.from({ length: 5 }, () => limiter.admit(typeName, limits, {}, record, 'owner', t0 + 60_000, t0)));
      expect(writes).toBeLessThanOrEqual(2);
      expect(next.map((a) => (a.admitted ? 'now' : Number(a.attributes[RATE_SLOT_ATTRIBUTE]) - t0))).toEqual([600, 700, 800, 900, 1000]);
    } finally {
      client.destroy();
    }
  });
});

describe('admission under a limit counted per tenant', () => {
  it("counts each tenant apart: the key sees the job's tenant as its message carries it (MessageGroupId)", async () => {
    // One job at a time per tenant; a job type whose jobs have no tenant counts them under 'none'.
    const limits = { key: (_: unknown, tenant: string | undefined) => tenant ?? 'none', concurrency: 1 };
    const typeName = uniqueName('tenants');
    const record = (tenant?: string) => ({ messageId: 'm', messageAttributes: {}, attributes: tenant ? { MessageGroupId: tenant } : {} }) as unknown as SQSRecord;
    const limiter = new Limiter(dynamoClient(), table);
    const admit = (tenant: string | undefined, owner: string) => limiter.admit(typeName, limits, {}, record(tenant), owner, Date.now() + 60_000);
    const first = await admit('tenant-a', 'a1');
    expect(first.admitted).toBe(true);
    // A's second job waits for A's place; B's and a tenantless job's places are their own.
    expect(await admit('tenant-a', 'a2')).toMatchObject({ admitted: false, reason: expect.stringContaining('for tenant-a') });
    expect((await admit('tenant-b', 'b1')).admitted).toBe(true);
    expect((await admit(undefined, 'n1')).admitted).toBe(true);
    // A's place given back, A's next job starts.
    if (first.admitted) await first.release();
    expect((await admit('tenant-a', 'a2')).admitted).toBe(true);
  });
});

describe('the concurrency limit (one holders map per key)', () => {
  it('gives 20 workers asking at once exactly `max` places, and a place given back to the next', async () => {
    const pk = concurrencyLimitKey('capped', uniqueName('key'));
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => takePlace(dynamoClient(), table, pk, 3, `w${i}`, now + 60_000, now)));
    const holders = answers.flatMap((a, i) => (a.taken ? [`w${i}`] : []));
    expect(holders).toHaveLength(3);
    expect(answers.find((a) => !a.taken)).toEqual({ taken: false, running: 3 });
    await givePlaceBack(dynamoClient(), table, pk, holders[0]!);
    expect(await takePlace(dynamoClient(), table, pk, 3, 'late', now + 60_000, now)).toEqual({ taken: true });
    expect((await takePlace(dynamoClient(), table, pk, 3, 'later', now + 60_000, now)).taken).toBe(false);
  });

  it('takes back the place of a holder whose time has passed (a worker that crashed holding it)', async () => {
    const pk = concurrencyLimitKey('capped', uniqueName('key'));
    const now = Date.now();
    expect((await takePlace(dynamoClient(), table, pk, 1, 'crashed', now - 1, now - 60_000)).taken).toBe(true);
    expect(await takePlace(dynamoClient(), table, pk, 1, 'next', now + 60_000, now)).toEqual({ taken: true });
    expect((await takePlace(dynamoClient(), table, pk, 1, 'third', now + 60_000, now)).taken).toBe(false);
  });
});

describe('a worker under limits', () => {
  /** A leased job type whose handler notes when each run starts and how many run at once. */
  function limitedType(limits: NonNullable<JobType['limits']>) {
    const runs: { jobId: string; attempt: number; at: number }[] = [];
    let running = 0;
    let peak = 0;
    const type = defineJob({
      name: 'limited',
      kind: 'leased',
      schema: z.strictObject({ n: z.number() }),
      limits,
      handler: async (_p, ctx) => {
        runs.push({ jobId: ctx.jobId, attempt: ctx.attempt, at: Date.now() });
        peak = Math.max(peak, ++running);
        await sleep(150);
        running--;
        return 'ok';
      },
    }) as unknown as JobType;
    return { type, runs, peak: () => peak };
  }

  /** Records `count` jobs and sends their messages; runs four workers side by side until every job is done. */
  async function runJobs(type: JobType, count: number) {
    const queues = await createJobQueues(type);
    const store = new SubmissionStore(dynamoClient(), table);
    const ids: string[] = [];
    for (let n = 0; n < count; n++) {
      const jobId = `00000000-0000-4000-8000-${uniqueName('').slice(1, 9)}${String(n).padStart(4, '0')}`;
      const at = new Date().toISOString();
      await store.create({
        jobId,
        type: type.name,
        status: 'PENDING',
        generation: 1,
        attempts: 0,
        payloadHash: payloadHash({ n }),
        payloadBytes: 8,
        payload: JSON.stringify({ n }),
        owner: 'public',
        createdAt: at,
        updatedAt: at,
        expiresAt: Math.floor(Date.now() / 1000) + 86_400,
        history: [],
      });
      await sendRaw(queues.queue, encodeMessage(jobId, type.name, { n }));
      ids.push(jobId);
    }
    let deferredCopies = 0;
    // Before any worker asks: no slot can start earlier than this.
    const workersStarted = Date.now();
    const deadline = Date.now() + 60_000;
    const done = async () => (await Promise.all(ids.map(async (id) => (await store.get(id))?.status))).every((s) => s === 'SUCCEEDED');
    const worker = async () => {
      while (Date.now() < deadline) {
        const records = await receiveRecords(queues.queue, 3);
        if (records.length === 0) {
          if (await done()) return;
          await sleep(100);
          continue;
        }
        deferredCopies += records.filter((r) => r.messageAttributes[DEFERRALS_ATTRIBUTE] !== undefined).length;
        await acknowledge(queues.queue, records, await processBatch(records, invocation(), workerDeps(type, table, queues)));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(await done()).toBe(true);
    const views = await Promise.all(ids.map(async (id) => (await store.get(id))!));
    return { views, deferredCopies, workersStarted };
  }

  it('runs at most `concurrency` jobs at once across workers; the others wait in the queue without using a receive', async () => {
    const { type, runs, peak } = limitedType({ concurrency: 2 });
    const { views, deferredCopies } = await runJobs(type, 10);
    expect(peak()).toBeLessThanOrEqual(2);
    expect(deferredCopies).toBeGreaterThan(0);
    expect(runs).toHaveLength(10);
    // Every run is its job's first attempt: waiting for the limit took none of its receives.
    expect(runs.every((r) => r.attempt === 1)).toBe(true);
    expect(views.every((v) => v.attempts === 1)).toBe(true);
  }, 90_000);

  it('starts jobs no faster than the rate across workers', async () => {
    const { type, runs } = limitedType({ rate: { perSecond: 5, burst: 1 } });
    const { workersStarted } = await runJobs(type, 10);
    const starts = runs.map((r) => r.at).sort((a, b) => a - b);
    // At 5/s with no burst, the tenth slot is 1.8 s after the first, which is no earlier than the workers'
    // start; in any second at most 5 start (one more allowed for a late start, so that a busy machine's
    // scheduling cannot fail it).
    expect(starts.at(-1)! - workersStarted).toBeGreaterThanOrEqual(1800);
    for (const t of starts) expect(starts.filter((s) => s >= t && s < t + 1000).length).toBeLessThanOrEqual(6);
    expect(runs.every((r) => r.attempt === 1)).toBe(true);
  }, 90_000);

  it('asks no limit for a message its record settles: a duplicate of a SUCCEEDED job, a forged payload', async () => {
    const { type, runs } = limitedType({ rate: { perSecond: 0.1, burst: 1 } });
    const { views } = await runJobs(type, 1);
    const job = views[0]!;
    const pk = rateLimitKey(type.name, '*');
    const tat = async () => Number((await dynamoClient().send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item!.tat!.N);
    const before = await tat();
    // Both would take the next slot, 10 s away (0.1/s, the burst used), and be deferred: a copy
    // sent back, the job's rate spent on messages that never run.
    const queues = await createJobQueues(type);
    const copy = encodeMessage(job.jobId, type.name, { n: 0 });
    const forged = encodeMessage(job.jobId, type.name, { n: 666 });
    for (const body of [copy, forged]) await sendRaw(queues.queue, body);
    const records = await receiveRecords(queues.queue, 2);
    expect(records).toHaveLength(2);
    const answer = await processBatch(records, invocation(), workerDeps(type, table, queues));
    expect(answer.batchItemFailures).toEqual([]);
    expect(await tat()).toBe(before);
    expect(runs).toHaveLength(1);
    // Nothing came back to the queue (no deferred copy); the forged message is in the DLQ, as without limits.
    expect(await receiveRecords(queues.queue, 10, 0)).toHaveLength(0);
    expect((await receiveRecords(queues.dlq, 10, 0)).map((r) => JSON.parse(r.body).payload)).toEqual([{ n: 666 }]);
  }, 90_000);
});

describe("the README's limits example", () => {
  const override = { rate: { perSecond: 5 } };

  it('is the webhook type with a per-host rate, and a deployment that sets 5/s holds its calls to 5 a second', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    // The README's line, with the override this test deploys.
    expect(readme).toContain('jobs.addJobType(webhook, { limits: { rate: { perSecond: 5 } } })');
    expect(webhook.limits?.rate).toBeDefined();

    const receiver = await startWebhookReceiver();
    try {
      const type = webhook as unknown as JobType;
      const queues = await createJobQueues(type);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const response = await call(submitEvent('webhook', { url: `${receiver.url}/limited/${i}`, body: {} }), apiDeps(table, { webhook: queues }));
        expect(response.status).toBe(202);
        ids.push(response.body.jobId as string);
      }
      // The worker as deployed: its environment as the construct writes it, with the deployment's numbers.
      const deps = workerDepsFromEnv(type, {
        [ENV.tableName]: table,
        [ENV.queueUrl]: queues.queue.url,
        [ENV.deadLetterQueueUrl]: queues.dlq.url,
        [ENV.limits]: JSON.stringify(limitNumbers({ ...webhook.limits!, ...override })),
      });
      deps.log = createLogger({ component: 'test-worker' }, 'error');
      const workersStarted = Date.now();
      const deadline = Date.now() + 60_000;
      while (receiver.log.length < 12 && Date.now() < deadline) {
        const records = await receiveRecords(queues.queue, 10);
        if (records.length === 0) await sleep(100);
        else await acknowledge(queues.queue, records, await processBatch(records, invocation(), deps));
      }
      const starts = receiver.log.map((c) => c.at).sort((a, b) => a - b);
      expect(starts).toHaveLength(12);
      // Burst 5 (one second's worth), then 5 a second: the 12th slot is 1.4 s after the first, which is no
      // earlier than the worker's start.
      expect(starts.at(-1)! - workersStarted).toBeGreaterThanOrEqual(1400);
      expect(new Set(receiver.log.map((c) => c.key))).toEqual(new Set(ids));
    } finally {
      await receiver.close();
    }
  }, 90_000);
});
