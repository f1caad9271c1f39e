/** Builds the sweeper function from its environment once per execution environment. */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { dynamoClient, sqsClient } from '../aws/clients';
import { ENV, requireEnv } from '../config';
import { createLogger } from '../log';
import { createMetrics } from '../metrics';
import { SweepStore } from '../store/sweep-store';
import { sweepConfigFromEnv } from './config';
import { sweep, type SweepDeps } from './sweep';

/** SendMessage, as the sweeper sends a job's message again or its copy to a DLQ. */
export const sendToQueue: SweepDeps['send'] = async (queueUrl, body, options) => {
  const sqs = await sqsClient();
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      ...(options.group ? { MessageGroupId: options.group.groupId, MessageDeduplicationId: options.group.deduplicationId } : {}),
      ...(options.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
      ...(options.attributes
        ? { MessageAttributes: Object.fromEntries(Object.entries(options.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }])) }
        : {}),
    }),
  );
};

export function sweepDepsFromEnv(env: NodeJS.ProcessEnv = process.env): SweepDeps {
  return {
    store: new SweepStore(dynamoClient(), requireEnv(ENV.tableName, env)),
    types: sweepConfigFromEnv(env),
    send: sendToQueue,
    log: createLogger({ component: 'sweeper' }),
    metrics: createMetrics({ namespace: env[ENV.metricsNamespace] }),
  };
}

export function createSweepHandler(deps: SweepDeps = sweepDepsFromEnv()) {
  // Leave the invocation (timeout 60 s) room to finish the job it is on.
  return async (_event: unknown, context?: { getRemainingTimeInMillis?(): number }) => {
    const budget = Math.max(1000, (context?.getRemainingTimeInMillis?.() ?? 30_000) - 10_000);
    return sweep(deps, budget);
  };
}
