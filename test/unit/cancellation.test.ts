// What a cancelled completion transaction means. Item 0 is the job record (conditioned on "not SUCCEEDED
// yet"), items 1..n the handler's own writes. DynamoDB Local never reports TransactionConflict, so these
// tests are the only coverage of that path: a conflict must always be retried, never taken as done.
import { TransactionCanceledException, type CancellationReason, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { PermanentError, TransactionConflictError, TransientError } from '../../shared/errors';
import { classifyCancellation } from '../../shared/store/cancellation';
import { JobStore } from '../../shared/store/job-store';

const B = { jobId: 'x', type: 'transfer', payloadHash: 'h', generation: 1 };
const JOB_ITEM = { pk: { S: 'JOB#x' }, status: { S: 'SUCCEEDED' }, type: { S: 'transfer' }, payloadHash: { S: 'h' }, generation: { N: '1' } };
const none: CancellationReason = { Code: 'None' };
const conflict: CancellationReason = { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' };
const conditionFailed = (item?: CancellationReason['Item']): CancellationReason => ({
  Code: 'ConditionalCheckFailed',
  Message: 'The conditional request failed',
  ...(item ? { Item: item } : {}),
});

describe('classifyCancellation', () => {
  describe('the job item condition failed', () => {
    it('is a duplicate when DynamoDB returns the existing record (another delivery completed the job)', () => {
      expect(classifyCancellation([conditionFailed(JOB_ITEM), none, none], B)).toEqual({ kind: 'duplicate' });
    });

    it('is an unknown job when no record came back (the record does not exist)', () => {
      expect(classifyCancellation([conditionFailed(), none], B)).toEqual({ kind: 'unknown-job' });
    });

    it('decides on its own: whatever the handler writes report, the job was already completed', () => {
      expect(classifyCancellation([conditionFailed(JOB_ITEM), conflict, conditionFailed()], B)).toEqual({ kind: 'duplicate' });
      expect(classifyCancellation([conditionFailed(), conditionFailed(), { Code: 'ValidationError' }], B)).toEqual({ kind: 'unknown-job' });
    });
  });

  describe('permanent: retrying cannot help', () => {
    it('a handler write refused by its own condition, naming the write', () => {
      const verdict = classifyCancellation([none, conditionFailed()], B);
      expect(verdict).toEqual({ kind: 'permanent', reason: "the job's write 1 was refused by its condition (transaction cancelled [None, ConditionalCheckFailed])" });
      expect(classifyCancellation([none, none, conditionFailed()], B)).toMatchObject({ kind: 'permanent', reason: expect.stringContaining("the job's write 2 was refused") });
    });

    it('a ValidationError in the transaction (malformed writes)', () => {
      expect(classifyCancellation([none, { Code: 'ValidationError', Message: 'bad' }], B)).toEqual({
        kind: 'permanent',
        reason: "the job's writes are invalid (transaction cancelled [None, ValidationError])",
      });
      expect(classifyCancellation([{ Code: 'ValidationError' }], B)).toMatchObject({ kind: 'permanent' });
    });
  });

  describe('a conflict: retried at once with fresh writes, never treated as done', () => {
    it.each([
      ['a conflict on the job item', [conflict, none], '[TransactionConflict, None]'],
      ['a conflict on a handler write', [none, conflict], '[None, TransactionConflict]'],
      ['a conflict on several items', [conflict, conflict, none], '[TransactionConflict, TransactionConflict, None]'],
      ['a throttled write next to a conflict', [{ Code: 'ThrottlingError' }, conflict], '[ThrottlingError, TransactionConflict]'],
    ] as const)('%s', (_, reasons, codes) => {
      expect(classifyCancellation(reasons, B)).toEqual({ kind: 'conflict', reason: `transaction cancelled ${codes}` });
    });

    it('a conflict on the job item stays a conflict even when a handler write was refused too (that may be the other delivery)', () => {
      expect(classifyCancellation([conflict, conditionFailed()], B)).toEqual({ kind: 'conflict', reason: 'transaction cancelled [TransactionConflict, ConditionalCheckFailed]' });
    });
  });

  describe('not runnable: the message is dropped', () => {
    it('when the job is FAILED (a redrive does not re-run it)', () => {
      const failedItem = { ...JOB_ITEM, status: { S: 'FAILED' } };
      expect(classifyCancellation([conditionFailed(failedItem), none], B)).toMatchObject({
        kind: 'not-runnable',
        refusal: { action: 'drop', reason: expect.stringContaining('FAILED') },
      });
    });

    it('when the message is of an earlier generation, or carries another payload', () => {
      expect(classifyCancellation([conditionFailed({ ...JOB_ITEM, status: { S: 'PENDING' }, generation: { N: '2' } }), none], B)).toMatchObject({
        kind: 'not-runnable',
        refusal: { action: 'drop', reason: expect.stringContaining('generation 1') },
      });
      expect(classifyCancellation([conditionFailed({ ...JOB_ITEM, status: { S: 'PENDING' }, payloadHash: { S: 'other' } }), none], B)).toMatchObject({
        kind: 'not-runnable',
        refusal: { action: 'park', reason: expect.stringContaining('does not match') },
      });
    });
  });

  describe('transient: must be retried, never treated as done', () => {
    it.each([
      ['throttling', [{ Code: 'ThrottlingError' }, none], '[ThrottlingError, None]'],
      ['exceeded provisioned throughput', [none, { Code: 'ProvisionedThroughputExceeded' }], '[None, ProvisionedThroughputExceeded]'],
      ['only None codes (cancelled for a reason not reported)', [none, none], '[None, None]'],
      ['an unrecognized code', [{ Code: 'SomethingNew' }], '[SomethingNew]'],
    ] as const)('%s', (_, reasons, codes) => {
      expect(classifyCancellation(reasons, B)).toEqual({ kind: 'transient', reason: `transaction cancelled ${codes}` });
    });

    it('reads a reason without a Code as None', () => {
      expect(classifyCancellation([{}, { Message: 'x' }], B)).toEqual({ kind: 'transient', reason: 'transaction cancelled [None, None]' });
    });

    it('treats missing or empty reasons as transient', () => {
      expect(classifyCancellation(undefined, B)).toEqual({ kind: 'transient', reason: 'transaction cancelled []' });
      expect(classifyCancellation([], B)).toEqual({ kind: 'transient', reason: 'transaction cancelled []' });
    });
  });
});

// The store turns the verdict into what the worker acts on. A client stub stands in for DynamoDB so that
// real DynamoDB's answers (which DynamoDB Local cannot produce) can be replayed.
describe('JobStore.completeTransactional on a cancelled transaction', () => {
  const cancelled = (reasons: CancellationReason[]) => new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: reasons });
  const storeAnswering = (error: Error) => new JobStore({ send: async () => Promise.reject(error) } as unknown as DynamoDBClient, 'jobs');
  const write = { Update: { TableName: 'jobs', Key: { pk: { S: 'ACCOUNT#a' } }, UpdateExpression: 'ADD balance :d', ExpressionAttributeValues: { ':d': { N: '1' } } } };

  it('throws a TransactionConflictError (a TransientError), so the worker retries it', async () => {
    const error = await storeAnswering(cancelled([none, conflict]))
      .completeTransactional(B, { S: '{}' }, [write])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).not.toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('TransactionConflict');
  });

  it('answers duplicate when another delivery completed the job', async () => {
    await expect(storeAnswering(cancelled([conditionFailed(JOB_ITEM), none])).completeTransactional(B, { S: '{}' }, [write])).resolves.toBe('duplicate');
  });

  it('answers missing when there is no job record', async () => {
    await expect(storeAnswering(cancelled([conditionFailed(), none])).completeTransactional(B, { S: '{}' }, [write])).resolves.toBe('missing');
  });

  it('throws a PermanentError when a handler write is refused', async () => {
    await expect(storeAnswering(cancelled([none, conditionFailed()])).completeTransactional(B, { S: '{}' }, [write])).rejects.toBeInstanceOf(PermanentError);
  });

  it('sends the completion as item 0 and the handler writes after it', async () => {
    let sent: any;
    const store = new JobStore(
      {
        send: async (command: any) => {
          sent = command.input;
          return {};
        },
      } as unknown as DynamoDBClient,
      'jobs',
    );
    await expect(store.completeTransactional({ ...B, jobId: 'job-1' }, { S: '{"ok":true}' }, [write])).resolves.toBe('completed');
    expect(sent.TransactItems).toHaveLength(2);
    expect(sent.TransactItems[0].Update).toMatchObject({
      TableName: 'jobs',
      Key: { pk: { S: 'JOB#job-1' } },
      ConditionExpression: '#status = :pending AND generation = :gen AND payloadHash = :hash AND #type = :type',
    });
    expect(sent.TransactItems[1]).toBe(write);
  });
});
