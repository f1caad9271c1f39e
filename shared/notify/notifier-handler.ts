/** Builds the notifier from its environment once per execution environment (functions/notifier.ts). */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { sqsClient } from '../aws/clients';
import { requireEnv } from '../config';
import { createLogger } from '../log';
import { NOTIFY_ENV } from './config';
import { notify, type NotifierDeps } from './notifier';

export function notifierDepsFromEnv(env: NodeJS.ProcessEnv = process.env): NotifierDeps {
  const events = new EventBridgeClient({});
  const queueUrl = env[NOTIFY_ENV.callbackQueueUrl];
  return {
    busName: requireEnv(NOTIFY_ENV.eventBus, env),
    putEvents: async (entries) => {
      const { Entries } = await events.send(new PutEventsCommand({ Entries: [...entries] }));
      return entries.map((_, i) => !!Entries?.[i]?.EventId && !Entries[i]?.ErrorCode);
    },
    ...(queueUrl
      ? {
          sendCallbacks: async (bodies: readonly string[]) => {
            const sqs = await sqsClient();
            const { Successful } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
            const ok = new Set((Successful ?? []).map((s) => s.Id));
            return bodies.map((_, i) => ok.has(String(i)));
          },
        }
      : {}),
    log: createLogger({ component: 'notifier' }),
  };
}

export function createNotifierHandler(deps: NotifierDeps = notifierDepsFromEnv()) {
  return (event: DynamoDBStreamEvent) => notify(event, deps);
}
