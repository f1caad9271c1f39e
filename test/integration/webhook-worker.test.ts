// The leased path against DynamoDB Local and the SQS emulator: claim, run, complete while holding the lease.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { dynamoClient, sqsClient } from '../../shared/aws/clients';
import type { JobType } from '../../shared/jobs/define';
import { encodeMessage } from '../../shared/jobs/message';
import { webhook } from '../../app/jobs/webhook/handler';
import { JobStore } from '../../shared/store/job-store';
import { processBatch } from '../../shared/worker/process-batch';
import { apiDeps, bindingOf, call, statusEvent, submitEvent } from '../support/api';
import { createJobQueues, createJobsTable, deliverThreeTimes, expireVisibility, invocation, receiveRecords, sendRaw, workerDeps, type JobQueues } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const type = webhook as unknown as JobType;
let table: string;
let queues: JobQueues;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());
beforeEach(async () => {
  table = await createJobsTable();
  queues = await createJobQueues(type);
  receiver.respond = () => 200;
});

async function submitWebhook(body: unknown = { hello: 'world' }, path = '/hook') {
  const response = await call(submitEvent('webhook', { url: `${receiver.url}${path}`, body }), apiDeps(table, { webhook: queues }));
  expect(response.status).toBe(202);
  return response.body.jobId as string;
}

const status = async (jobId: string) => (await call(statusEvent(jobId), apiDeps(table, { webhook: queues }))).body;

describe('webhook worker (leased path)', () => {
  it('runs a job delivered three times once', async () => {
    const jobId = await submitWebhook();
    const { first, rest, copies } = await deliverThreeTimes(type, table, queues);
    expect(copies).toBe(2);
    expect(first.batchItemFailures).toEqual([]);
    expect(rest.batchItemFailures).toEqual([]);
    expect(receiver.calls.get(jobId)).toBe(1);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { status: 200 } });
  });

  it("lets another worker claim a job whose lease expired, and refuses the first worker's late completion", async () => {
    const jobId = await submitWebhook();
    const store = new JobStore(dynamoClient(), table);
    // Worker A claims with a lease that runs out at once (A crashed, or its invocation timed out).
    const a = await store.claim(await bindingOf(table, jobId), 'worker-a', Date.now() - 1);
    expect(a.outcome).toBe('claimed');
    // Worker B gets the message and claims the job.
    const [record] = await receiveRecords(queues.queue);
    const response = await processBatch([record!], invocation(), workerDeps(type, table, queues));
    expect(response.batchItemFailures).toEqual([]);
    expect(await status(jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    // A comes back and tries to complete: its lease is gone, nothing is overwritten.
    expect(await store.completeLeased(await bindingOf(table, jobId), 'worker-a', { status: 999 })).toBe('duplicate');
    expect((await status(jobId)).result).toEqual({ status: 200 });
  });

  it('leaves a job with a live lease to its holder and retries the message later, without failing it', async () => {
    const jobId = await submitWebhook();
    const store = new JobStore(dynamoClient(), table);
    expect((await store.claim(await bindingOf(table, jobId), 'worker-a', Date.now() + 60_000)).outcome).toBe('claimed');
    const [record] = await receiveRecords(queues.queue);
    const response = await processBatch([record!], invocation(), workerDeps(type, table, queues));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record!.messageId }]);
    expect(receiver.calls.get(jobId)).toBeUndefined();
    expect((await status(jobId)).status).toBe('RUNNING');
  });

  it('parks a malformed message in the DLQ with its reason while the rest of its batch succeeds', async () => {
    const good = [await submitWebhook({ n: 1 }), await submitWebhook({ n: 2 })];
    await sendRaw(queues.queue, 'this is not json');
    await sendRaw(queues.queue, encodeMessage('00000000-0000-4000-8000-000000000000', 'webhook', { url: 'http://127.0.0.1:1/', body: {} }));
    const records = await receiveRecords(queues.queue);
    expect(records).toHaveLength(4);
    const response = await processBatch(records, invocation(), workerDeps(type, table, queues));
    expect(response.batchItemFailures).toEqual([]);
    for (const jobId of good) expect((await status(jobId)).status).toBe('SUCCEEDED');

    const parked = await receiveRecords(queues.dlq);
    expect(parked).toHaveLength(2);
    const reasons = Object.fromEntries(parked.map((r) => [r.body, r.messageAttributes['jobline-reason']?.stringValue]));
    expect(reasons['this is not json']).toBe('malformed message: body is not JSON');
    expect(Object.values(reasons).some((r) => r?.startsWith('unknown job 00000000-0000-4000-8000-000000000000'))).toBe(true);
  });

  it('fails a job at once on a 4xx: FAILED with the reason, message in the DLQ', async () => {
    receiver.respond = () => 404;
    const jobId = await submitWebhook();
    const records = await receiveRecords(queues.queue);
    const response = await processBatch(records, invocation(), workerDeps(type, table, queues));
    expect(response.batchItemFailures).toEqual([]);
    expect(await status(jobId)).toMatchObject({ status: 'FAILED', error: 'PermanentError: webhook target answered 404', attempts: 1 });
    const [parked] = await receiveRecords(queues.dlq);
    expect(parked?.messageAttributes['jobline-job-id']?.stringValue).toBe(jobId);
  });

  it('retries a 5xx with backoff, and marks the job FAILED on its last allowed receive', async () => {
    receiver.respond = () => 503;
    const maxReceiveCount = 2;
    queues = await createJobQueues(type, { maxReceiveCount });
    const jobId = await submitWebhook();
    const deps = workerDeps(type, table, queues, { maxReceiveCount });

    const [first] = await receiveRecords(queues.queue);
    expect(await processBatch([first!], invocation(), deps)).toEqual({ batchItemFailures: [{ itemIdentifier: first!.messageId }] });
    expect(await status(jobId)).toMatchObject({ status: 'PENDING', attempts: 1, error: 'TransientError: webhook target answered 503' });
    // Backoff: the message is invisible for a while (base 5 s, jittered into 2.5-5 s).
    expect(await receiveRecords(queues.queue)).toHaveLength(0);

    await expireVisibility(queues.queue, [first!]);
    const [second] = await receiveRecords(queues.queue);
    expect(second!.attributes.ApproximateReceiveCount).toBe('2');
    expect(await processBatch([second!], invocation(), deps)).toEqual({ batchItemFailures: [{ itemIdentifier: second!.messageId }] });
    expect(await status(jobId)).toMatchObject({ status: 'FAILED', attempts: 2, error: 'gave up after 2 attempts: TransientError: webhook target answered 503' });

    // SQS moves it to the DLQ (the worker set its visibility to 0 so that happens at once): poll for it,
    // with a deadline, since a busy machine may take a moment.
    const sqs = await sqsClient();
    const deadline = Date.now() + 10_000;
    let inDlq = '0';
    while (inDlq !== '1' && Date.now() < deadline) {
      await receiveRecords(queues.queue);
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.dlq.url, AttributeNames: ['ApproximateNumberOfMessages'] }));
      inDlq = Attributes?.ApproximateNumberOfMessages ?? '0';
      if (inDlq !== '1') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(inDlq).toBe('1');
    expect(receiver.calls.get(jobId)).toBe(2);
  });
});
