/** Tables, queues and worker wiring for integration tests, shaped as the stack declares them. */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { dynamoClient, sqsClient } from '../../shared/aws/clients';
import type { JobType } from '../../shared/jobs/define';
import { MESSAGE_RETENTION_SECONDS, visibilityTimeoutSeconds } from '../../shared/jobs/define';
import { MAX_MESSAGE_BYTES } from '../../shared/jobs/message';
import { accountKey } from '../../app/jobs/transfer/handler';
import { createLogger } from '../../shared/log';
import { JobStore } from '../../shared/store/job-store';
import { SweepStore } from '../../shared/store/sweep-store';
import { sendToQueue } from '../../shared/sweeper/handler';
import { jobTableSchema } from '../../shared/store/table-schema';
import type { WorkerDeps } from '../../shared/worker/deps';
import { processBatch, type InvocationContext } from '../../shared/worker/process-batch';
import { delayRetries, sendDeferredCopies, sendToDeadLetterQueue } from '../../shared/worker/queue-actions';
import { Limiter } from '../../shared/limits/admission';
import { ensureQueue, ensureTable, type CreatedQueue } from '../../local/provision';
import { toSqsRecord } from '../../local/lambda/sqs-event';

export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function createJobsTable(): Promise<string> {
  const name = uniqueName('jobs');
  // As infra/jobs-table.ts declares it: the sweeper's and the list's indexes.
  await ensureTable(dynamoClient(), jobTableSchema(name));
  return name;
}

export interface JobQueues {
  queue: CreatedQueue;
  dlq: CreatedQueue;
}

export async function createJobQueues(type: JobType, options: { maxReceiveCount?: number; visibilityTimeout?: number } = {}): Promise<JobQueues> {
  const sqs = await sqsClient();
  const suffix = type.queue.fifo ? '.fifo' : '';
  const fifo: Record<string, string> = type.queue.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
  const base = uniqueName(type.name);
  const dlq = await ensureQueue(sqs, {
    QueueName: `${base}-dlq${suffix}`,
    Attributes: { ...fifo, MessageRetentionPeriod: '1209600', MaximumMessageSize: String(MAX_MESSAGE_BYTES) },
  });
  const queue = await ensureQueue(sqs, {
    QueueName: `${base}${suffix}`,
    Attributes: {
      ...fifo,
      MaximumMessageSize: String(MAX_MESSAGE_BYTES),
      VisibilityTimeout: String(options.visibilityTimeout ?? visibilityTimeoutSeconds(type.queue)),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount ?? type.queue.maxReceiveCount }),
    },
  });
  return { queue, dlq };
}

export function workerDeps(type: JobType, tableName: string, queues: JobQueues, overrides: Partial<WorkerDeps> = {}): WorkerDeps {
  return {
    jobType: type,
    store: new JobStore(dynamoClient(), tableName),
    queue: {
      sendToDeadLetterQueue: (letters) => sendToDeadLetterQueue(queues.dlq.url, type.queue.fifo, letters),
      delayRetries: (delays) => delayRetries(queues.queue.url, delays),
      sendDeferredCopies: (copies) => sendDeferredCopies(queues.queue.url, copies),
    },
    ...(type.limits ? { limiter: new Limiter(dynamoClient(), tableName) } : {}),
    maxReceiveCount: type.queue.maxReceiveCount,
    concurrency: 10,
    log: createLogger({ component: 'test-worker' }, 'error'),
    ...overrides,
  };
}

export function invocation(remainingMs = 30_000, requestId: string = randomUUID()): InvocationContext {
  const end = Date.now() + remainingMs;
  return { awsRequestId: requestId, getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

/** Receives up to `max` messages as Lambda's poller would hand them to the worker. */
export async function receiveRecords(queue: CreatedQueue, max = 10, visibilityTimeout?: number): Promise<SQSRecord[]> {
  const sqs = await sqsClient();
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      AttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...(visibilityTimeout !== undefined ? { VisibilityTimeout: visibilityTimeout } : {}),
    }),
  );
  return (Messages ?? []).map((m) => toSqsRecord(m, queue.arn, 'us-east-1'));
}

export async function sendRaw(queue: CreatedQueue, body: string, fifo?: { groupId: string; deduplicationId: string }): Promise<void> {
  const sqs: SQSClient = await sqsClient();
  await sqs.send(
    new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, ...(fifo ? { MessageGroupId: fifo.groupId, MessageDeduplicationId: fifo.deduplicationId } : {}) }),
  );
}

export async function balanceOf(tableName: string, account: string): Promise<number> {
  const { Item } = await dynamoClient().send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: accountKey(account) } }, ConsistentRead: true }));
  return Number(Item?.balance?.N ?? 0);
}

/** What Lambda does with a worker's answer: deletes every record not named in batchItemFailures. */
export async function acknowledge(queue: CreatedQueue, records: readonly SQSRecord[], response: SQSBatchResponse): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = records.filter((r) => !failed.has(r.messageId));
  if (done.length === 0) return;
  const sqs = await sqsClient();
  await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
}

/** Makes in-flight records visible again at once, as if their visibility timeout had run out. */
export async function expireVisibility(queue: CreatedQueue, records: readonly SQSRecord[]): Promise<void> {
  if (records.length === 0) return;
  const sqs = await sqsClient();
  await sqs.send(
    new ChangeMessageVisibilityBatchCommand({ QueueUrl: queue.url, Entries: records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle, VisibilityTimeout: 0 })) }),
  );
}

/**
 * At-least-once delivery of the job on the queue: its message, then two more copies of it, each handled as
 * Lambda would (the first is deleted once it succeeded). Returns both batch responses and the copies seen.
 */
export async function deliverThreeTimes(type: JobType, tableName: string, queues: JobQueues, fifoGroup?: string) {
  const [record] = await receiveRecords(queues.queue);
  for (const n of [1, 2]) await sendRaw(queues.queue, record!.body, fifoGroup ? { groupId: fifoGroup, deduplicationId: `copy-${n}` } : undefined);
  const deps = workerDeps(type, tableName, queues);
  const first = await processBatch([record!], invocation(), deps);
  await acknowledge(queues.queue, [record!], first);
  const copies = await receiveRecords(queues.queue);
  const rest = await processBatch(copies, invocation(), deps);
  return { first, rest, copies: copies.length };
}

/** The sweeper's dependencies for one job type's queues in an integration test, with its clock fixed at `now`. */
export function sweepDepsFor(tableName: string, type: JobType, queues: JobQueues, now: number) {
  const store = new SweepStore(dynamoClient(), tableName);
  const config = {
    queueUrl: queues.queue.url,
    deadLetterQueueUrl: queues.dlq.url,
    fifo: type.queue.fifo,
    maxReceiveCount: type.queue.maxReceiveCount,
    staleSeconds: 60,
    retentionSeconds: MESSAGE_RETENTION_SECONDS,
  };
  return { store, types: { [type.name]: config }, send: sendToQueue, log: createLogger({ component: 'test-sweeper' }, 'error'), now: () => now };
}
