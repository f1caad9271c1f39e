/**
 * The worker's own SQS calls, all on failure paths: backoff (ChangeMessageVisibilityBatch) and parking
 * poison messages in the DLQ with their reason (SendMessageBatch). The SQS SDK is loaded on first use.
 */
import type { SQSRecord } from 'aws-lambda';
import { sqsClient } from '../aws/clients';
import { DEAD_LETTER_HEADROOM_BYTES, MAX_MESSAGE_BYTES } from '../jobs/message';

export interface DeadLetter {
  record: SQSRecord;
  reason: string;
  jobId?: string;
}

const BATCH_ENTRIES = 10;

function chunks<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const itemBytes = size(item);
    if (current.length === BATCH_ENTRIES || (current.length > 0 && bytes + itemBytes > MAX_MESSAGE_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += itemBytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Copies poison messages to the DLQ with their reason as message attributes. Returns the message ids that
 * are safely there: only those may be acknowledged. FIFO DLQs keep the message's group, and deduplicate
 * on the source message id, so a retried copy is not parked twice.
 */
export async function sendToDeadLetterQueue(dlqUrl: string, fifo: boolean, letters: readonly DeadLetter[]): Promise<Set<string>> {
  const parked = new Set<string>();
  if (letters.length === 0) return parked;
  const [{ SendMessageBatchCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), sqsClient()]);
  for (const batch of chunks(letters, (l) => Buffer.byteLength(l.record.body) + DEAD_LETTER_HEADROOM_BYTES)) {
    const response = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: batch.map((letter, index) => ({
          Id: String(index),
          MessageBody: letter.record.body.length > 0 ? letter.record.body : '(empty body)',
          MessageAttributes: {
            'jobline-reason': { DataType: 'String', StringValue: letter.reason },
            'jobline-source-message-id': { DataType: 'String', StringValue: letter.record.messageId },
            'jobline-receive-count': { DataType: 'Number', StringValue: letter.record.attributes.ApproximateReceiveCount || '1' },
            ...(letter.jobId ? { 'jobline-job-id': { DataType: 'String', StringValue: letter.jobId } } : {}),
          },
          ...(fifo
            ? { MessageGroupId: letter.record.attributes.MessageGroupId ?? 'dead-letters', MessageDeduplicationId: letter.record.messageId }
            : {}),
        })),
      }),
    );
    for (const ok of response.Successful ?? []) parked.add(batch[Number(ok.Id)]!.record.messageId);
  }
  return parked;
}

/** Sets each failed message's visibility to its backoff delay, so SQS redelivers it then. Best effort. */
export async function delayRetries(queueUrl: string, delays: readonly { record: SQSRecord; seconds: number }[]): Promise<void> {
  if (delays.length === 0) return;
  const [{ ChangeMessageVisibilityBatchCommand }, sqs] = await Promise.all([import('@aws-sdk/client-sqs'), sqsClient()]);
  for (let start = 0; start < delays.length; start += BATCH_ENTRIES) {
    const batch = delays.slice(start, start + BATCH_ENTRIES);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((d, index) => ({ Id: String(index), ReceiptHandle: d.record.receiptHandle, VisibilityTimeout: d.seconds })),
      }),
    );
  }
}
