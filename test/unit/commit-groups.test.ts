import { describe, expect, it } from 'vitest';
import { classifyGroupCancellation } from '../../shared/store/cancellation';
import { itemKey, planCommitGroups } from '../../shared/worker/transactional';

describe('planCommitGroups', () => {
  it('puts jobs that share no item into one group, in order', () => {
    expect(
      planCommitGroups([
        ['job1', 'a'],
        ['job2', 'b'],
        ['job3', 'c'],
      ]),
    ).toEqual([[0, 1, 2]]);
  });

  it('puts a job that shares an item with a group into another group', () => {
    expect(
      planCommitGroups([
        ['job1', 'a', 'b'],
        ['job2', 'b', 'c'],
        ['job3', 'd'],
      ]),
    ).toEqual([[0, 2], [1]]);
  });

  it('keeps a transaction within its item limit, filling the first group a job fits in', () => {
    // 3 + 3 items would be 6 > 5: j2 opens a second group; j3 (2 items) still fits the first.
    expect(
      planCommitGroups(
        [
          ['j1', 'a', 'b'],
          ['j2', 'c', 'd'],
          ['j3', 'e'],
        ],
        5,
      ),
    ).toEqual([[0, 2], [1]]);
  });

  it('tells items apart by table and key', () => {
    const update = (table: string, pk: string) => ({ Update: { TableName: table, Key: { pk: { S: pk } }, UpdateExpression: 'SET a = :a' } });
    expect(itemKey(update('t', 'x'))).toBe(itemKey(update('t', 'x')));
    expect(itemKey(update('t', 'x'))).not.toBe(itemKey(update('t', 'y')));
    expect(itemKey(update('t', 'x'))).not.toBe(itemKey(update('u', 'x')));
    expect(itemKey({ Delete: { TableName: 't', Key: { pk: { S: 'x' } } } })).toBe(itemKey(update('t', 'x')));
  });
});

describe('classifyGroupCancellation', () => {
  const none = { Code: 'None' };
  const jobsOf = (sizes: number[]) => sizes.map((size, i) => ({ size, binding: { jobId: `j${i}`, type: 't', payloadHash: 'h', generation: 1 } }));
  const failed = (item?: object) => ({ Code: 'ConditionalCheckFailed', ...(item ? { Item: item } : {}) });

  it('reads each job by its own items: duplicate, unknown, refused, or nothing decided', () => {
    const reasons = [
      failed({ status: { S: 'SUCCEEDED' }, type: { S: 't' }, payloadHash: { S: 'h' }, generation: { N: '1' } }),
      none,
      none,
      failed(),
      none,
      none,
      none,
      failed(),
      none,
      none,
      none,
    ];
    // Jobs of 3, 3, 3 and 2 items: the first job's completion failed (with the record: a duplicate), the
    // second's completion failed without a record (unknown job), the third's first write was refused,
    // the fourth was only cancelled along with the others.
    expect(classifyGroupCancellation(reasons, jobsOf([3, 3, 3, 2]))).toEqual([
      { kind: 'duplicate' },
      { kind: 'unknown-job' },
      { kind: 'permanent', reason: "the job's write 1 was refused by its condition (transaction cancelled [None, ConditionalCheckFailed, None])" },
      undefined,
    ]);
  });

  it('decides nothing for a job whose completion conflicted, whatever its writes say', () => {
    expect(classifyGroupCancellation([{ Code: 'TransactionConflict' }, failed(), none], jobsOf([2, 1]))).toEqual([undefined, undefined]);
  });
});
