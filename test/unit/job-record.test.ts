// The job record as a DynamoDB item, and what GET /jobs/{id} shows of it.
import { describe, expect, it } from 'vitest';
import { fromItem, jobKey, toItem, toJobView, type JobRecord } from '../../shared/store/job-record';

const minimal: JobRecord = {
  jobId: '0b6f3a9e-1c2d-4e5f-8a7b-9c0d1e2f3a4b',
  type: 'transfer',
  status: 'PENDING',
  generation: 1,
  attempts: 0,
  payloadHash: 'hash',
  payloadBytes: 123,
  payload: '{"from":"a","to":"b","amount":1}',
  owner: 'arn:aws:iam::000000000000:user/alice',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: 1_790_000_000,
  history: [],
};

const full: JobRecord = {
  ...minimal,
  status: 'RUNNING',
  attempts: 2,
  generation: 3,
  idempotencyKey: 'order-42',
  groupId: 'a',
  sweepAt: 1_790_000_000_456,
  sweeps: 2,
  result: { status: 200, nested: [1, { a: null }] },
  error: 'TransientError: webhook target answered 503',
  startedAt: '2026-01-01T00:00:01.000Z',
  finishedAt: '2026-01-01T00:00:02.000Z',
  leaseOwner: 'req-1/msg-1',
  leaseUntil: 1_790_000_000_123,
  runAt: 1_789_999_000_000,
  cancelRequested: true,
  history: [
    { state: 'PENDING', at: '2026-01-01T00:00:00.000Z', generation: 3 },
    { state: 'RUNNING', at: '2026-01-01T00:00:01.000Z', generation: 3, attempt: 2 },
    { state: 'CANCEL_REQUESTED', at: '2026-01-01T00:00:01.500Z', generation: 3, reason: 'cancel requested by its caller while it runs' },
  ],
};

describe('toItem / fromItem', () => {
  it('round-trips a record with every optional field', () => {
    expect(fromItem(toItem(full))).toEqual(full);
  });

  it('round-trips a minimal record without inventing optional fields', () => {
    const back = fromItem(toItem(minimal));
    expect(back).toEqual(minimal);
    expect(Object.keys(back).sort()).toEqual(Object.keys(minimal).sort());
  });

  it('round-trips results that are falsy but present', () => {
    for (const result of [0, false, '', null]) expect(fromItem(toItem({ ...minimal, result })).result).toEqual(result);
  });

  it('keys the item by JOB#<id> and stores numbers as N, the result as JSON text', () => {
    const item = toItem(full);
    expect(item).toMatchObject(jobKey(full.jobId));
    expect(item.pk).toEqual({ S: `JOB#${full.jobId}` });
    expect(item.attempts).toEqual({ N: '2' });
    expect(item.expiresAt).toEqual({ N: '1790000000' }); // epoch seconds: what DynamoDB TTL reads
    expect(item.leaseUntil).toEqual({ N: '1790000000123' });
    expect(item.generation).toEqual({ N: '3' });
    expect(JSON.parse(item.result!.S!)).toEqual(full.result);
  });

  it('keeps the payload as JSON text (the outbox: the message can be sent again from the record)', () => {
    expect(toItem(full).payload).toEqual({ S: full.payload });
  });

  it('puts a job in the list index under its type, state and shard, sorted by owner and creation time', () => {
    expect(toItem(full)).toMatchObject({ listKey: { S: expect.stringMatching(/^transfer#RUNNING#[0-3]$/) }, listSort: { S: `${full.owner}#${full.createdAt}` } });
    expect(toItem(minimal).listKey!.S).toMatch(/^transfer#PENDING#[0-3]$/);
  });

  it('puts a job in the sparse sweep index only while it has a sweep time', () => {
    expect(toItem(full)).toMatchObject({ sweepAt: { N: String(full.sweepAt) }, sweepShard: { S: expect.stringMatching(/^sweep#[0-7]$/) } });
    expect(Object.keys(toItem(minimal))).not.toContain('sweepShard');
  });
});

describe('toJobView', () => {
  it('shows status, attempts, result, error and timestamps, and nothing internal', () => {
    expect(toJobView(full)).toEqual({
      jobId: full.jobId,
      type: 'transfer',
      status: 'RUNNING',
      generation: 3,
      attempts: 2,
      result: full.result,
      error: full.error,
      runAt: new Date(full.runAt!).toISOString(),
      cancelRequested: true,
      idempotencyKey: 'order-42',
      createdAt: full.createdAt,
      updatedAt: full.updatedAt,
      startedAt: full.startedAt,
      finishedAt: full.finishedAt,
      history: full.history,
    });
  });

  // The Idempotency-Key is shown (its owner is the only one who sees the job, and finds jobs by it).
  it('leaks no lease, hash, size, enqueue, index or TTL fields', () => {
    const view = toJobView(full) as Record<string, unknown>;
    for (const internal of [
      'leaseOwner',
      'leaseUntil',
      'payloadHash',
      'payloadBytes',
      'payload',
      'owner',
      'sweepAt',
      'sweeps',
      'groupId',
      'expiresAt',
      'pk',
      'listKey',
      'listSort',
    ]) {
      expect(view).not.toHaveProperty(internal);
    }
  });

  it('does not report the error of an earlier attempt once the job SUCCEEDED', () => {
    expect(toJobView({ ...full, status: 'SUCCEEDED' })).not.toHaveProperty('error');
    expect(toJobView({ ...full, status: 'FAILED' })).toHaveProperty('error', full.error);
  });

  it('leaves out optional fields the job does not have yet', () => {
    expect(Object.keys(toJobView(minimal)).sort()).toEqual(['attempts', 'createdAt', 'generation', 'history', 'jobId', 'status', 'type', 'updatedAt']);
  });
});
