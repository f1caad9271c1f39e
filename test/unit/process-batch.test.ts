// The worker's record-level decisions, with a fake job store and fake queue actions that implement only
// what processBatch calls. The real protocol (conditional writes, SQS visibility, DLQ) is covered against
// the emulators in test/integration; here the point is the bookkeeping: which records run, which are
// acknowledged, retried or dead-lettered, and what the partial batch response names.
import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { PermanentError, TransactionConflictError, TransientError } from '../../shared/errors';
import { defineJob, type JobType } from '../../shared/jobs/define';
import { DELAY_ATTRIBUTE, encodeMessage } from '../../shared/jobs/message';
import { payloadHash } from '../../shared/jobs/payload-hash';
import { createLogger } from '../../shared/log';
import { createMetrics } from '../../shared/metrics';
import type { GroupVerdict } from '../../shared/store/cancellation';
import type { Binding } from '../../shared/store/binding';
import type { ClaimResult, CompleteResult, JobStore } from '../../shared/store/job-store';
import type { JobRecord } from '../../shared/store/job-record';
import type { QueueActions, WorkerDeps } from '../../shared/worker/deps';
import { processBatch } from '../../shared/worker/process-batch';
import type { DeadLetter, DeferredCopy } from '../../shared/worker/queue-actions';

// ---- job types under test: their handlers do what each payload asks ------------------------------------

const payload = z.strictObject({ n: z.number().int(), group: z.string().optional(), fail: z.enum(['transient', 'permanent']).optional() });
type Payload = z.output<typeof payload>;

function failAsAsked(p: Payload) {
  if (p.fail === 'transient') throw new TransientError(`job ${p.n} failed for now`);
  if (p.fail === 'permanent') throw new PermanentError(`job ${p.n} can never succeed`);
}

function transactionalType(name: string, fifo: boolean, ran: number[]): JobType {
  return defineJob({
    name,
    kind: 'transactional',
    schema: payload,
    queue: fifo ? { fifo: true } : {},
    ...(fifo ? { groupKey: (p: Payload) => p.group ?? 'g' } : {}),
    handler: async (p) => {
      ran.push(p.n);
      failAsAsked(p);
      return { result: { n: p.n }, writes: [] };
    },
  });
}

function leasedType(ran: number[]): JobType {
  return defineJob({
    name: 'notify',
    kind: 'leased',
    schema: payload,
    handler: async (p) => {
      ran.push(p.n);
      failAsAsked(p);
      return { n: p.n };
    },
  });
}

// ---- records and fakes -----------------------------------------------------------------------------------

const jobIdOfN = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function record(messageId: string, body: string, options: { receiveCount?: number; group?: string } = {}): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1',
      SenderId: 'sender',
      ApproximateFirstReceiveTimestamp: '1',
      ...(options.group !== undefined ? { MessageGroupId: options.group } : {}),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
    awsRegion: 'us-east-1',
  };
}

/** What each job id was submitted as (its type and payload hash): the fake records are bound to it. */
const submitted = new Map<string, { type: string; payloadHash: string }>();
beforeEach(() => submitted.clear());

/** A record carrying job n of `type` with payload p (the job's record is bound to the first such message). */
const jobRecord = (messageId: string, type: string, p: Payload, options: { receiveCount?: number; group?: string; jobN?: number } = {}) => {
  const jobId = jobIdOfN(options.jobN ?? p.n);
  if (!submitted.has(jobId)) submitted.set(jobId, { type, payloadHash: payloadHash(p) });
  return record(messageId, encodeMessage(jobId, type, p), options);
};

const pending = (jobId: string): JobRecord => ({
  jobId,
  type: submitted.get(jobId)?.type ?? 'x',
  status: 'PENDING',
  generation: 1,
  attempts: 0,
  payloadHash: submitted.get(jobId)?.payloadHash ?? 'h',
  payloadBytes: 1,
  payload: '{}',
  owner: 'caller',
  createdAt: '',
  updatedAt: '',
  expiresAt: 0,
  history: [],
});

/** A job store in which every job exists and is PENDING, unless a test says otherwise. */
function fakeStore() {
  return {
    tableName: 'jobs-table',
    getMany: vi.fn(async (ids: readonly string[], _options?: { consistent?: boolean }) => new Map(ids.map((id) => [id, pending(id)]))),
    completeTransactional: vi.fn(async (_binding: Binding, _result: unknown, _writes: readonly unknown[]): Promise<CompleteResult | { notRunnable: string }> => 'completed'),
    completeTransactionalGroup: vi.fn(async (_jobs: readonly { binding: Binding }[]): Promise<GroupVerdict[] | 'committed'> => 'committed'),
    claim: vi.fn(async (): Promise<ClaimResult> => ({ outcome: 'claimed' })),
    completeLeased: vi.fn(async (): Promise<CompleteResult> => 'completed'),
    fail: vi.fn(async (_binding: Binding, _reason: string, _options?: object) => true),
    recordRetry: vi.fn(async (_binding: Binding, _reason: string, _owner?: string) => true),
    recordTimeout: vi.fn(async (_binding: Binding, _reason: string, _owner: string) => true),
  };
}

function setup(jobType: JobType, options: { maxReceiveCount?: number } = {}) {
  const store = fakeStore();
  const parkable = { accept: (_l: DeadLetter) => true };
  const queue = {
    sendToDeadLetterQueue: vi.fn(async (letters: readonly DeadLetter[]) => new Set(letters.filter((l) => parkable.accept(l)).map((l) => l.record.messageId))),
    delayRetries: vi.fn(async (_delays: readonly { record: SQSRecord; seconds: number }[]) => undefined),
    sendDeferredCopies: vi.fn(async (copies: readonly DeferredCopy[]) => new Set(copies.map((c) => c.record.messageId))),
  } satisfies QueueActions;
  const deps: WorkerDeps = {
    jobType,
    store: store as unknown as JobStore,
    queue,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    log: createLogger({}, 'error'),
    concurrency: 4,
  };
  const run = (records: SQSRecord[]) => processBatch(records, { awsRequestId: 'request-1', getRemainingTimeInMillis: () => 30_000 }, deps);
  /** The message ids of the records a response reports failed, sorted. */
  const failedIds = (response: Awaited<ReturnType<typeof run>>) => response.batchItemFailures.map((f) => f.itemIdentifier).sort();
  const letters = () => queue.sendToDeadLetterQueue.mock.calls.flatMap(([batch]) => batch);
  const delays = () => queue.delayRetries.mock.calls.flatMap(([batch]) => batch);
  return { store, queue, parkable, deps, run, failedIds, letters, delays };
}

// ---- tests ---------------------------------------------------------------------------------------------

describe('processBatch: duplicates within one batch', () => {
  it('runs a transactional job once and acknowledges its other records (not failures)', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }), jobRecord('m2', 'ledger', { n: 1 }), jobRecord('m3', 'ledger', { n: 1 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(ran).toEqual([1]);
    expect(t.store.completeTransactional).toHaveBeenCalledTimes(1);
    // One read for the batch (eventually consistent), with the job asked for once.
    expect(t.store.getMany.mock.calls).toEqual([[[jobIdOfN(1)], { consistent: false, bindingOnly: true }]]);
    expect(t.letters()).toEqual([]);
  });

  it('claims a leased job once and acknowledges its other records', async () => {
    const ran: number[] = [];
    const t = setup(leasedType(ran));
    const response = await t.run([jobRecord('m1', 'notify', { n: 7 }), jobRecord('m2', 'notify', { n: 7 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(ran).toEqual([7]);
    expect(t.store.claim).toHaveBeenCalledTimes(1);
  });

  it('reports only the record that carries the job when that job must be retried', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1, fail: 'transient' }), jobRecord('m2', 'ledger', { n: 1, fail: 'transient' })]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(ran).toEqual([1]);
  });
});

describe('processBatch: FIFO message groups', () => {
  it('makes the later records of a group retry after its first retry, while other groups proceed in order', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ordered', true, ran));
    const records = [
      jobRecord('a1', 'ordered', { n: 1, group: 'A', fail: 'transient' }, { group: 'A' }),
      jobRecord('b1', 'ordered', { n: 11, group: 'B' }, { group: 'B' }),
      jobRecord('a2', 'ordered', { n: 2, group: 'A' }, { group: 'A' }),
      jobRecord('b2', 'ordered', { n: 12, group: 'B' }, { group: 'B' }),
      jobRecord('a3', 'ordered', { n: 3, group: 'A' }, { group: 'A' }),
    ];
    const response = await t.run(records);

    expect(t.failedIds(response)).toEqual(['a1', 'a2', 'a3']);
    // a2 and a3 never ran: running them before a1 succeeds would break the group's order.
    expect(ran.filter((n) => n < 10)).toEqual([1]);
    // Group B ran, in its order, and completed.
    expect(ran.filter((n) => n > 10)).toEqual([11, 12]);
    expect(t.store.completeTransactional.mock.calls.map(([binding]) => binding.jobId)).toEqual([jobIdOfN(11), jobIdOfN(12)]);
    // The held-back records are retried with backoff like the one they wait for.
    expect(
      t
        .delays()
        .map((d) => d.record.messageId)
        .sort(),
    ).toEqual(['a1', 'a2', 'a3']);
  });

  it('does not hold a group back for a record that was dead-lettered (it will not come back)', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ordered', true, ran));
    const response = await t.run([
      jobRecord('a1', 'ordered', { n: 1, group: 'A', fail: 'permanent' }, { group: 'A' }),
      jobRecord('a2', 'ordered', { n: 2, group: 'A' }, { group: 'A' }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(ran).toEqual([1, 2]);
    expect(t.letters().map((l) => l.record.messageId)).toEqual(['a1']);
  });
});

describe('processBatch: TransactionConflict on the completion', () => {
  const conflict = () => new TransactionConflictError('transaction cancelled [None, TransactionConflict]');

  it('recomputes and retries the completion in-process, and succeeds when the conflict clears', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    t.store.completeTransactional.mockRejectedValueOnce(conflict()).mockRejectedValueOnce(conflict());
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.completeTransactional).toHaveBeenCalledTimes(3);
    // The handler ran again each time: its writes are computed afresh for every try.
    expect(ran).toEqual([1, 1, 1]);
  });

  it('gives up after 3 tries and reports the record as a batch item failure, never acknowledged', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    t.store.completeTransactional.mockRejectedValue(conflict());
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 })]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.store.completeTransactional).toHaveBeenCalledTimes(3);
    // Retried later with backoff; neither dead-lettered nor marked FAILED (receives remain).
    expect(t.letters()).toEqual([]);
    expect(t.store.fail).not.toHaveBeenCalled();
    expect(t.store.recordRetry).toHaveBeenCalledWith(
      expect.objectContaining({ jobId: jobIdOfN(1), generation: 1 }),
      'TransientError: transaction cancelled [None, TransactionConflict]',
      undefined,
      1,
    );
    expect(t.delays().map((d) => d.record.messageId)).toEqual(['m1']);
  });

  it('does not retry other transient errors in-process (the queue retries them with backoff)', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.completeTransactional.mockRejectedValue(new TransientError('transaction cancelled [ThrottlingError, None]'));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 })]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.store.completeTransactional).toHaveBeenCalledTimes(1);
  });

  it('on the last allowed receive, marks the job FAILED and still reports the record (SQS moves it to the DLQ)', async () => {
    const t = setup(transactionalType('ledger', false, []), { maxReceiveCount: 3 });
    t.store.completeTransactional.mockRejectedValue(conflict());
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }, { receiveCount: 3 })]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.store.fail).toHaveBeenCalledWith(
      expect.objectContaining({ jobId: jobIdOfN(1) }),
      'gave up after 3 attempts: TransientError: transaction cancelled [None, TransactionConflict]',
      expect.anything(),
    );
    // Visibility 0: no backoff on the last receive, so SQS moves it to the DLQ at once.
    expect(t.delays()).toEqual([expect.objectContaining({ seconds: 0 })]);
  });
});

describe('processBatch: dead letters', () => {
  it('dead-letters a message of another job type without touching the job it names (it is not bound to it)', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    const response = await t.run([jobRecord('m1', 'webhook', { n: 5 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(ran).toEqual([]);
    expect(t.letters()).toEqual([expect.objectContaining({ reason: 'malformed message: a webhook job on the ledger queue', jobId: jobIdOfN(5) })]);
    expect(t.store.fail).not.toHaveBeenCalled();
  });

  it('dead-letters a payload that does not match the schema (the schema changed since the submit), naming the field, and fails its job', async () => {
    const t = setup(transactionalType('ledger', false, []));
    submitted.set(jobIdOfN(1), { type: 'ledger', payloadHash: payloadHash({ n: 'one' }) });
    await t.run([record('m1', encodeMessage(jobIdOfN(1), 'ledger', { n: 'one' }))]);
    expect(t.letters()).toEqual([expect.objectContaining({ jobId: jobIdOfN(1), reason: expect.stringMatching(/^payload does not match the ledger schema: n: /) })]);
    expect(t.store.fail).toHaveBeenCalledWith(expect.objectContaining({ jobId: jobIdOfN(1) }), expect.stringMatching(/^payload does not match/), expect.anything());
  });

  it('dead-letters a job that has no record (unknown job)', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.getMany.mockResolvedValue(new Map());
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.letters()).toEqual([expect.objectContaining({ reason: `unknown job ${jobIdOfN(1)}: no job record` })]);
  });

  it('reports a dead letter the DLQ did not take, so it is not lost', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.parkable.accept = (l) => l.record.messageId !== 'm2';
    const response = await t.run([record('m1', 'not json'), record('m2', 'also not json')]);
    expect(t.failedIds(response)).toEqual(['m2']);
  });

  it('reports every dead letter when the DLQ cannot be reached', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.queue.sendToDeadLetterQueue.mockRejectedValue(new Error('SQS unavailable'));
    const response = await t.run([record('m1', 'not json'), jobRecord('m2', 'ledger', { n: 2, fail: 'permanent' })]);
    expect(t.failedIds(response)).toEqual(['m1', 'm2']);
  });
});

describe('processBatch: the partial batch response', () => {
  it('names exactly the records to retry: not the successes, duplicates or parked dead letters', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    const response = await t.run([
      jobRecord('ok', 'ledger', { n: 1 }),
      jobRecord('retry-1', 'ledger', { n: 2, fail: 'transient' }),
      jobRecord('dup', 'ledger', { n: 1 }),
      jobRecord('permanent', 'ledger', { n: 3, fail: 'permanent' }),
      record('poison', '{"not":"a job"}'),
      jobRecord('retry-2', 'ledger', { n: 4, fail: 'transient' }),
      jobRecord('other-type', 'notify', { n: 5 }),
    ]);
    expect(t.failedIds(response)).toEqual(['retry-1', 'retry-2']);
    expect(
      t
        .letters()
        .map((l) => l.record.messageId)
        .sort(),
    ).toEqual(['other-type', 'permanent', 'poison']);
    expect(ran.sort()).toEqual([1, 2, 3, 4]);
  });

  it('names every job record when the batch read fails (nothing is acknowledged unread)', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.getMany.mockRejectedValue(new Error('throttled'));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }), jobRecord('m2', 'ledger', { n: 2 })]);
    expect(t.failedIds(response)).toEqual(['m1', 'm2']);
    // Not the job's fault: nothing is marked FAILED for it.
    expect(t.store.fail).not.toHaveBeenCalled();
  });

  it('still parks the malformed records of a batch whose read failed, and acknowledges none unparked', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.getMany.mockRejectedValue(new Error('throttled'));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }), record('garbage', 'not json')]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.letters().map((l) => [l.record.messageId, l.reason])).toEqual([['garbage', 'malformed message: body is not JSON']]);
  });

  it('on the last allowed receive after a failed read, marks the job FAILED so it is not left PENDING behind a DLQ copy', async () => {
    const t = setup(transactionalType('ledger', false, []), { maxReceiveCount: 2 });
    t.store.getMany.mockRejectedValue(new Error('throttled'));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }, { receiveCount: 2 })]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.store.fail).toHaveBeenCalledWith(
      expect.objectContaining({ jobId: jobIdOfN(1) }),
      expect.stringContaining("could not read the batch's job records"),
      expect.anything(),
    );
  });
});

describe('processBatch: leased jobs held by another worker', () => {
  it('retries after the other lease runs out, without failing the job', async () => {
    const now = 1_000_000;
    const t = setup(leasedType([]), { maxReceiveCount: 3 });
    t.deps.now = () => now;
    t.store.claim.mockResolvedValue({ outcome: 'leased', leaseUntil: now + 9_500 });
    const response = await t.run([jobRecord('m1', 'notify', { n: 1 }, { receiveCount: 2 })]);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.store.fail).not.toHaveBeenCalled();
    expect(t.delays()).toEqual([expect.objectContaining({ seconds: 11 })]); // ceil(9.5) + 1
  });

  it("on its last receive, acknowledges the message (the holder's own message carries the job) instead of leaving a RUNNING job behind a DLQ copy", async () => {
    const now = 1_000_000;
    const t = setup(leasedType([]), { maxReceiveCount: 2 });
    t.deps.now = () => now;
    t.store.claim.mockResolvedValue({ outcome: 'leased', leaseUntil: now + 9_500 });
    const response = await t.run([jobRecord('m1', 'notify', { n: 1 }, { receiveCount: 2 })]);
    expect(t.failedIds(response)).toEqual([]);
    expect(t.store.fail).not.toHaveBeenCalled();
    expect(t.letters()).toEqual([]);
  });

  it('a handler past its time budget: the reason is recorded and the lease kept (the handler may still run), not released', async () => {
    const slow = defineJob({
      name: 'notify',
      kind: 'leased',
      schema: payload,
      // Stops only when its signal aborts, as a handler that honours it does.
      handler: (_p, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
    });
    const t = setup(slow);
    const response = await processBatch([jobRecord('m1', 'notify', { n: 1 }, { receiveCount: 2 })], { awsRequestId: 'request-1', getRemainingTimeInMillis: () => 600 }, t.deps);
    expect(t.failedIds(response)).toEqual(['m1']);
    expect(t.store.recordRetry).not.toHaveBeenCalled();
    expect(t.store.recordTimeout).toHaveBeenCalledWith(
      expect.objectContaining({ jobId: jobIdOfN(1) }),
      expect.stringMatching(/^TransientError: handler timed out after \d+ ms$/),
      expect.any(String),
      2,
    );
    expect(t.store.fail).not.toHaveBeenCalled();
  });

  it('acknowledges a job that already succeeded without running it', async () => {
    const ran: number[] = [];
    const t = setup(leasedType(ran));
    t.store.claim.mockResolvedValue({ outcome: 'succeeded' });
    const response = await t.run([jobRecord('m1', 'notify', { n: 1 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(ran).toEqual([]);
  });
});

describe('processBatch: the batch read', () => {
  it('reads again, consistently, only the records an eventually consistent read did not see', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.getMany
      .mockImplementationOnce(async (ids: readonly string[]) => new Map(ids.filter((id) => id !== jobIdOfN(2)).map((id) => [id, pending(id)])))
      .mockImplementationOnce(async (ids: readonly string[]) => new Map(ids.map((id) => [id, pending(id)])));
    const response = await t.run([1, 2, 3].map((n) => jobRecord(`m${n}`, 'ledger', { n })));
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.getMany.mock.calls).toEqual([
      [[jobIdOfN(1), jobIdOfN(2), jobIdOfN(3)], { consistent: false, bindingOnly: true }],
      [[jobIdOfN(2)], { bindingOnly: true }],
    ]);
    expect(t.letters()).toEqual([]);
  });
});

describe('processBatch: group commit of transactional jobs', () => {
  const groupIds = (t: ReturnType<typeof setup>) => t.store.completeTransactionalGroup.mock.calls.map(([jobs]) => jobs.map((j) => j.binding.jobId));

  it('commits the jobs of a batch in one transaction', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ledger', false, ran));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }), jobRecord('m2', 'ledger', { n: 2 }), jobRecord('m3', 'ledger', { n: 3 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(groupIds(t)).toEqual([[jobIdOfN(1), jobIdOfN(2), jobIdOfN(3)]]);
    expect(t.store.completeTransactional).not.toHaveBeenCalled();
  });

  it('settles each job of a cancelled group by its own verdict, and commits the undecided ones alone', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.completeTransactionalGroup.mockResolvedValueOnce([
      { kind: 'duplicate' },
      undefined,
      { kind: 'permanent', reason: 'its condition refused it' },
      { kind: 'unknown-job' },
    ]);
    const response = await t.run([1, 2, 3, 4].map((n) => jobRecord(`m${n}`, 'ledger', { n })));
    expect(response.batchItemFailures).toEqual([]);
    // Only the undecided job is committed again, alone.
    expect(t.store.completeTransactional.mock.calls.map(([binding]) => binding.jobId)).toEqual([jobIdOfN(2)]);
    expect(t.letters().map((l) => [l.record.messageId, l.reason])).toEqual([
      ['m3', 'PermanentError: its condition refused it'],
      ['m4', `unknown job ${jobIdOfN(4)}: no job record`],
    ]);
  });

  it('commits every job alone when DynamoDB refuses the group as invalid', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.completeTransactionalGroup.mockRejectedValueOnce(
      Object.assign(new Error('Transaction request cannot include multiple operations on one item'), { name: 'ValidationException' }),
    );
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }), jobRecord('m2', 'ledger', { n: 2 })]);
    expect(response.batchItemFailures).toEqual([]);
    expect(t.store.completeTransactional).toHaveBeenCalledTimes(2);
  });

  it('retries every job of the group when the group commit fails otherwise (e.g. throttled)', async () => {
    const t = setup(transactionalType('ledger', false, []));
    t.store.completeTransactionalGroup.mockRejectedValueOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const response = await t.run([jobRecord('m1', 'ledger', { n: 1 }), jobRecord('m2', 'ledger', { n: 2 })]);
    expect(t.failedIds(response)).toEqual(['m1', 'm2']);
    expect(t.store.completeTransactional).not.toHaveBeenCalled();
  });

  it('in a FIFO batch, commits in rounds: the first job of every group together, then the next ones', async () => {
    const ran: number[] = [];
    const t = setup(transactionalType('ordered', true, ran));
    const response = await t.run([
      jobRecord('a1', 'ordered', { n: 1, group: 'A' }, { group: 'A' }),
      jobRecord('a2', 'ordered', { n: 2, group: 'A' }, { group: 'A' }),
      jobRecord('b1', 'ordered', { n: 11, group: 'B' }, { group: 'B' }),
      jobRecord('a3', 'ordered', { n: 3, group: 'A' }, { group: 'A' }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    // Round 1: a1 and b1 together; a2 and a3 each after the one before them committed.
    expect(groupIds(t)).toEqual([[jobIdOfN(1), jobIdOfN(11)]]);
    expect(t.store.completeTransactional.mock.calls.map(([binding]) => binding.jobId)).toEqual([jobIdOfN(2), jobIdOfN(3)]);
    expect(ran.filter((n) => n < 10)).toEqual([1, 2, 3]);
  });
});

describe('processBatch: metrics', () => {
  /** The EMF lines a batch wrote, parsed. */
  function withMetrics(t: ReturnType<typeof setup>, clock: { now: number }) {
    const lines: string[] = [];
    t.deps.metrics = createMetrics({ namespace: 'Test', write: (line) => lines.push(line), now: () => 0 });
    t.deps.now = () => clock.now;
    return () => {
      t.deps.metrics!.flush();
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    };
  }
  const sentAt = (r: SQSRecord, ms: number, delaySeconds?: number) => {
    r.attributes.SentTimestamp = String(ms);
    if (delaySeconds !== undefined) r.messageAttributes[DELAY_ATTRIBUTE] = { dataType: 'Number', stringValue: String(delaySeconds) };
    return r;
  };

  it('counts each record by how it ended, and times the runs and the first-receive queue waits', async () => {
    const clock = { now: 100_000 };
    const t = setup(transactionalType('ledger', false, []), { maxReceiveCount: 3 });
    const emitted = withMetrics(t, clock);
    t.store.getMany.mockImplementation(
      async (ids: readonly string[]) => new Map(ids.map((id) => [id, id === jobIdOfN(5) ? { ...pending(id), status: 'SUCCEEDED' as const } : pending(id)])),
    );
    await t.run([
      sentAt(jobRecord('m1', 'ledger', { n: 1 }), 99_000), // waited 1 s
      sentAt(jobRecord('m2', 'ledger', { n: 2 }), 40_000, 55), // sent 60 s ago with a 55 s delay: waited 5 s
      jobRecord('m3', 'ledger', { n: 3, fail: 'transient' }, { receiveCount: 2 }), // retried; not a first receive
      jobRecord('m4', 'ledger', { n: 4, fail: 'permanent' }, { receiveCount: 2 }), // FAILED at once
      jobRecord('m5', 'ledger', { n: 5 }), // already SUCCEEDED: a duplicate, not run
      jobRecord('m6', 'ledger', { n: 3, fail: 'transient' }, { receiveCount: 3, jobN: 6 }), // last receive: FAILED
    ]);
    const [line] = emitted();
    expect(line).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Test', Dimensions: [['JobType']] }] },
      JobType: 'ledger',
      JobsSucceeded: 2,
      DuplicatesAbsorbed: 1,
      JobsRetried: 1,
      JobsFailed: 2,
      QueueWait: expect.arrayContaining([1000, 5000]),
    });
    expect(line!.QueueWait).toHaveLength(2);
    // Every run is timed (the clock stands still here): the two successes and the three failed attempts.
    expect(line!.RunDuration).toEqual([0, 0, 0, 0, 0]);
  });

  it('counts a leased job that ran, and not the duplicate delivery another worker held', async () => {
    const clock = { now: 5000 };
    const t = setup(leasedType([]));
    const emitted = withMetrics(t, clock);
    t.store.claim.mockResolvedValueOnce({ outcome: 'claimed' }).mockResolvedValueOnce({ outcome: 'leased', leaseUntil: 60_000 });
    await t.run([sentAt(jobRecord('m1', 'notify', { n: 1 }), 4000), jobRecord('m2', 'notify', { n: 2 })]);
    const [line] = emitted();
    expect(line).toMatchObject({ JobType: 'notify', JobsSucceeded: 1, QueueWait: [1000], RunDuration: [0] });
    expect(line).not.toHaveProperty('JobsRetried');
  });
});
