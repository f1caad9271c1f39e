/**
 * The worker's own SQS calls, all on failure paths: backoff (ChangeMessageVisibilityBatch) and parking
 * poison messages in the DLQ with their reason (SendMessageBatch). The SQS SDK is loaded on first use.
 */
import type { SQSRecord } from 'aws-lambda';
import { sqsClient } from '../aws/clients';
import { DEAD_LETTER_HEADROOM_BYTES, DELAY_ATTRIBUTE, MAX_MESSAGE_BYTES } from '../jobs/message';

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

type Attributes = Record<string, { DataType: string; StringValue: string }>;

/** How SQS counts a message attribute towards the message size: name, data type and value. */
const attributeBytes = (attributes: Attributes) =>
  Object.entries(attributes).reduce((sum, [name, a]) => sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue), 0);

/**
 * The attributes a DLQ copy carries: why it is there and where it came from. A body so close to SQS's
 * limit that they would not fit keeps what fits, the reason first (shortened if need be): the message
 * itself matters most, and the full reason is also in the job record and the log.
 */
export function deadLetterAttributes(letter: DeadLetter): Attributes {
  const all: Attributes = {
    'jobline-reason': { DataType: 'String', StringValue: letter.reason },
    'jobline-source-message-id': { DataType: 'String', StringValue: letter.record.messageId },
    ...(letter.jobId ? { 'jobline-job-id': { DataType: 'String', StringValue: letter.jobId } } : {}),
    'jobline-receive-count': { DataType: 'Number', StringValue: letter.record.attributes.ApproximateReceiveCount || '1' },
  };
  let room = MAX_MESSAGE_BYTES - Buffer.byteLength(letter.record.body);
  const kept: Attributes = {};
  for (const [name, attribute] of Object.entries(all)) {
    const size = attributeBytes({ [name]: attribute });
    if (size <= room) {
      kept[name] = attribute;
      room -= size;
    } else if (name === 'jobline-reason') {
      const valueRoom = room - Buffer.byteLength(name) - Buffer.byteLength(attribute.DataType);
      if (valueRoom < 8) return kept;
      kept[name] = {
        ...attribute,
        StringValue: Buffer.from(attribute.StringValue)
          .subarray(0, valueRoom)
          .toString('utf8')
          .replace(/\uFFFD$/, ''),
      };
      return kept;
    }
  }
  return kept;
}

/**
 * Copies poison messages to the DLQ with their reason as message attributes. Returns the message ids that
 * are safely there: only those may be acknowledged; a batch the DLQ refused is simply not in the set (its
 * records are retried). FIFO DLQs keep the message's group, and deduplicate on the source message id, so
 * a retried copy is not parked twice.
 */
export async function sendToDeadLetterQueue(dlqUrl: string, fifo: boolean, letters: readonly DeadLetter[]): Promise<Set<string>> {
  const parked = new Set<string>();
  if (letters.length === 0) return parked;
  const [{ SendMessageBatchCommand }, sqs] = await Promise.all([import('../aws/sqs'), sqsClient()]);
  for (const batch of chunks(letters, (l) => Buffer.byteLength(l.record.body) + DEAD_LETTER_HEADROOM_BYTES)) {
    try {
      const response = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: dlqUrl,
          Entries: batch.map((letter, index) => ({
            Id: String(index),
            MessageBody: letter.record.body.length > 0 ? letter.record.body : '(empty body)',
            MessageAttributes: deadLetterAttributes(letter),
            ...(fifo ? { MessageGroupId: letter.record.attributes.MessageGroupId ?? 'dead-letters', MessageDeduplicationId: letter.record.messageId } : {}),
          })),
        }),
      );
      for (const ok of response.Successful ?? []) parked.add(batch[Number(ok.Id)]!.record.messageId);
    } catch {
      // This batch is not parked: its records are reported failed and retried; the others stand.
    }
  }
  return parked;
}

export interface DeferredCopy {
  record: SQSRecord;
  delaySeconds: number;
  attributes: Record<string, string>;
}

/** The longest DelaySeconds SQS takes; a longer wait is made of several copies (the slot travels with them). */
const MAX_DELAY_SECONDS = 900;

/**
 * Sends a delayed copy of each message to the queue it came from: the same body, its tenant (the message
 * group of a fair queue), its message attributes with the copy's own. Returns the message ids whose copy was
 * accepted: only those may be acknowledged.
 */
export async function sendDeferredCopies(queueUrl: string, copies: readonly DeferredCopy[]): Promise<Set<string>> {
  const sent = new Set<string>();
  if (copies.length === 0) return sent;
  const [{ SendMessageBatchCommand }, sqs] = await Promise.all([import('../aws/sqs'), sqsClient()]);
  for (const batch of chunks(copies, (c) => Buffer.byteLength(c.record.body) + DEAD_LETTER_HEADROOM_BYTES)) {
    try {
      const response = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((copy, index) => {
            const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(copy.delaySeconds)));
            const attributes: Attributes = {};
            for (const [name, a] of Object.entries(copy.record.messageAttributes ?? {})) {
              if (a.stringValue !== undefined) attributes[name] = { DataType: a.dataType, StringValue: a.stringValue };
            }
            for (const [name, value] of Object.entries(copy.attributes)) attributes[name] = { DataType: 'Number', StringValue: value };
            attributes[DELAY_ATTRIBUTE] = { DataType: 'Number', StringValue: String(delaySeconds) };
            const group = copy.record.attributes.MessageGroupId;
            return { Id: String(index), MessageBody: copy.record.body, DelaySeconds: delaySeconds, MessageAttributes: attributes, ...(group ? { MessageGroupId: group } : {}) };
          }),
        }),
      );
      for (const ok of response.Successful ?? []) sent.add(batch[Number(ok.Id)]!.record.messageId);
    } catch {
      // Not sent: these records are retried through their visibility instead.
    }
  }
  return sent;
}

/** Sets each failed message's visibility to its backoff delay, so SQS redelivers it then. Best effort. */
export async function delayRetries(queueUrl: string, delays: readonly { record: SQSRecord; seconds: number }[]): Promise<void> {
  if (delays.length === 0) return;
  const [{ ChangeMessageVisibilityBatchCommand }, sqs] = await Promise.all([import('../aws/sqs'), sqsClient()]);
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
