/** The `SendMessage` and `SendMessageBatch` of submissions, on the job type's queue. */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DELAY_ATTRIBUTE } from '../jobs/message';
import type { SendMessage, SendMessageBatch } from './submit-job';

/** A delay, and the attribute that tells the worker about it (shared/jobs/message.ts DELAY_ATTRIBUTE). */
const delayed = (delaySeconds: number | undefined) =>
  delaySeconds ? { DelaySeconds: delaySeconds, MessageAttributes: { [DELAY_ATTRIBUTE]: { DataType: 'Number', StringValue: String(delaySeconds) } } } : {};

type ClientSource = SQSClient | (() => Promise<SQSClient>);
const clientOf = async (sqs: ClientSource) => (typeof sqs === 'function' ? await sqs() : sqs);

/** Sends with `sqs`, or with the client `sqs()` resolves to (the process's shared client is loaded lazily). */
export function sqsSender(sqs: ClientSource): SendMessage {
  return async (queue, body, group, delaySeconds) => {
    const client = await clientOf(sqs);
    await client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: body,
        ...(group ? { MessageGroupId: group.groupId, MessageDeduplicationId: group.deduplicationId } : {}),
        ...delayed(delaySeconds),
      }),
    );
  };
}

/**
 * Up to 10 messages in one SendMessageBatch call. Returns the ids of the entries SQS did not take (its
 * `Failed` list); a call that throws is thrown, and the caller treats every entry's outcome as unknown.
 */
export function sqsBatchSender(sqs: ClientSource): SendMessageBatch {
  return async (queue, entries) => {
    const client = await clientOf(sqs);
    const { Failed } = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: entries.map((e) => ({
          Id: e.id,
          MessageBody: e.body,
          ...(e.group ? { MessageGroupId: e.group.groupId, MessageDeduplicationId: e.group.deduplicationId } : {}),
          ...delayed(e.delaySeconds),
        })),
      }),
    );
    return new Set((Failed ?? []).map((f) => f.Id!));
  };
}
