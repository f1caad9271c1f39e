/** Builds the API function from its environment once per execution environment. */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { dynamoClient, sqsClient } from '../aws/clients';
import { ENV, numberEnv, queueUrlVariable, requireEnv } from '../config';
import { jobTypes } from '../jobs';
import { createLogger } from '../log';
import { SubmissionStore } from '../store/submission-store';
import { route } from './router';
import type { QueueTarget, SubmitDeps } from './submit';

export function apiDepsFromEnv(env: NodeJS.ProcessEnv = process.env): SubmitDeps {
  const queues = new Map<string, QueueTarget>();
  for (const type of jobTypes) {
    const url = env[queueUrlVariable(type.name)];
    if (url) queues.set(type.name, { url, fifo: type.queue.fifo });
  }
  return {
    jobTypes,
    queues,
    store: new SubmissionStore(dynamoClient(), requireEnv(ENV.tableName, env)),
    send: async (queue, body, fifo) => {
      const sqs = await sqsClient();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: body,
          ...(fifo ? { MessageGroupId: fifo.groupId, MessageDeduplicationId: fifo.deduplicationId } : {}),
        }),
      );
    },
    log: createLogger({ component: 'api' }),
    retentionDays: numberEnv(ENV.retentionDays, 30, env, 1),
    sweepAfterSeconds: numberEnv(ENV.sweepAfterSeconds, 300, env, 1),
  };
}

export function createApiHandler(deps: SubmitDeps = apiDepsFromEnv()) {
  return (event: APIGatewayProxyEventV2) => route(event, deps);
}
