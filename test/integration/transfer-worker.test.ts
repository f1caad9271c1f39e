// The transactional path against DynamoDB Local and the SQS emulator: the transfer's writes commit with the
// job's completion, so no delivery pattern can apply it twice.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { dynamoClient } from '../../shared/aws/clients';
import { addFaultInjection } from '../../shared/aws/fault-injection';
import type { JobType } from '../../shared/jobs/define';
import { transfer } from '../../app/jobs/transfer/handler';
import { JobStore } from '../../shared/store/job-store';
import { processBatch } from '../../shared/worker/process-batch';
import { apiDeps, call, statusEvent, submitEvent } from '../support/api';
import { balanceOf, createJobQueues, createJobsTable, deliverThreeTimes, expireVisibility, invocation, receiveRecords, workerDeps, type JobQueues } from '../support/resources';

const type = transfer as unknown as JobType;
let table: string;
let queues: JobQueues;

beforeEach(async () => {
  table = await createJobsTable();
  queues = await createJobQueues(type);
});

async function submitTransfer(from: string, to: string, amount: number, key?: string) {
  const response = await call(submitEvent('transfer', { from, to, amount }, key ? { 'idempotency-key': key } : {}), apiDeps(table, { transfer: queues }));
  expect(response.status).toBe(202);
  return response.body.jobId as string;
}

async function status(jobId: string) {
  return (await call(statusEvent(jobId), apiDeps(table, { transfer: queues }))).body;
}

describe('transfer worker (transactional path)', () => {
  it('runs a job delivered three times once', async () => {
    const jobId = await submitTransfer('alice', 'bob', 100);
    const { first, rest, copies } = await deliverThreeTimes(type, table, queues, 'alice');
    expect(copies).toBe(2);
    expect(first.batchItemFailures).toEqual([]);
    expect(rest.batchItemFailures).toEqual([]);
    expect(await balanceOf(table, 'alice')).toBe(-100);
    expect(await balanceOf(table, 'bob')).toBe(100);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { from: 'alice', to: 'bob', amount: 100 } });
  });

  it('applies a transfer once when the worker crashed after its commit, before Lambda deleted the message', async () => {
    await submitTransfer('carol', 'dave', 50);
    const [record] = await receiveRecords(queues.queue);
    const deps = workerDeps(type, table, queues);
    // The worker commits, then dies: its answer never reaches Lambda, the message is not deleted and
    // comes back when its visibility timeout runs out.
    await processBatch([record!], invocation(), deps);
    await expireVisibility(queues.queue, [record!]);
    const [again] = await receiveRecords(queues.queue);
    expect(again?.messageId).toBe(record!.messageId);
    expect(again!.attributes.ApproximateReceiveCount).toBe('2');

    const second = await processBatch([again!], invocation(), deps);
    expect(second.batchItemFailures).toEqual([]);
    expect(await balanceOf(table, 'carol')).toBe(-50);
    expect(await balanceOf(table, 'dave')).toBe(50);
  });

  it('applies a transfer once when its commit landed but the answer was lost', async () => {
    const jobId = await submitTransfer('erin', 'frank', 70);
    const [record] = await receiveRecords(queues.queue);
    // Every answer of this client is replaced by a 500 after DynamoDB applied the request: the commit
    // lands, the worker sees an error and reports the record failed.
    const lossy = new DynamoDBClient({ maxAttempts: 1 });
    addFaultInjection(lossy, { dynamoLostResponseRate: 1 });
    const reliable = new JobStore(new DynamoDBClient({}), table);
    const store = Object.assign(new JobStore(lossy, table), { getMany: (ids: readonly string[]) => reliable.getMany(ids) });
    const first = await processBatch([record!], invocation(), workerDeps(type, table, queues, { store }));
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record!.messageId }]);
    expect(await balanceOf(table, 'erin')).toBe(-70);

    await expireVisibility(queues.queue, [record!]);
    const [again] = await receiveRecords(queues.queue);
    const second = await processBatch([again!], invocation(), workerDeps(type, table, queues));
    expect(second.batchItemFailures).toEqual([]);
    expect(await balanceOf(table, 'erin')).toBe(-70);
    expect(await balanceOf(table, 'frank')).toBe(70);
    expect((await status(jobId)).status).toBe('SUCCEEDED');
  });

  it('commits the transfers of a batch in one transaction: one BatchGetItem and one TransactWriteItems', async () => {
    const ids = [await submitTransfer('g1', 'h1', 10), await submitTransfer('g2', 'h2', 20), await submitTransfer('g3', 'h3', 30)];
    const records = await receiveRecords(queues.queue);
    expect(records).toHaveLength(3);
    const commands: string[] = [];
    const counted = new DynamoDBClient({});
    counted.middlewareStack.add((next, context) => (args) => (commands.push(context.commandName ?? '?'), next(args)), { step: 'initialize', name: 'countCommands' });
    const response = await processBatch(records, invocation(), workerDeps(type, table, queues, { store: new JobStore(counted, table) }));
    expect(response.batchItemFailures).toEqual([]);
    expect(commands).toEqual(['BatchGetItemCommand', 'TransactWriteItemsCommand']);
    for (const [account, balance] of [
      ['g1', -10],
      ['h2', 20],
      ['g3', -30],
    ] as const)
      expect(await balanceOf(table, account)).toBe(balance);
    for (const id of ids) expect((await status(id)).status).toBe('SUCCEEDED');
  });

  it('when another delivery completed one job of a group commit first, applies every transfer once', async () => {
    const ids = [await submitTransfer('k1', 'l1', 1), await submitTransfer('k2', 'l2', 2), await submitTransfer('k3', 'l3', 3)];
    const records = await receiveRecords(queues.queue);
    const deps = workerDeps(type, table, queues);
    // Job 2 is completed by another delivery after this worker read the batch's records (a stale read).
    const stale = new JobStore(dynamoClient(), table);
    const pendingView = await stale.getMany(ids);
    await processBatch(
      records.filter((r) => r.body.includes(ids[1]!)),
      invocation(),
      deps,
    );
    const store = Object.assign(new JobStore(dynamoClient(), table), { getMany: async () => pendingView });
    const response = await processBatch(records, invocation(), { ...deps, store });
    expect(response.batchItemFailures).toEqual([]);
    for (const [account, balance] of [
      ['k1', -1],
      ['l2', 2],
      ['k3', -3],
    ] as const)
      expect(await balanceOf(table, account)).toBe(balance);
    for (const id of ids) expect(await status(id)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });
});
