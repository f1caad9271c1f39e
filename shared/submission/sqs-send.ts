/** The `SendMessage` of submissions: one SendMessage call to the job type's queue. */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SendMessage } from './submit-job';

/** Sends with `sqs`, or with the client `sqs()` resolves to (the process's shared client is loaded lazily). */
export function sqsSender(sqs: SQSClient | (() => Promise<SQSClient>)): SendMessage {
  return async (queue, body, fifo, delaySeconds) => {
    const client = typeof sqs === 'function' ? await sqs() : sqs;
    await client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: body,
        ...(fifo ? { MessageGroupId: fifo.groupId, MessageDeduplicationId: fifo.deduplicationId } : {}),
        ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  };
}
