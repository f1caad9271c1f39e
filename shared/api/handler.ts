/** Builds the API function from its environment once per execution environment. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { dynamoClient, sqsClient } from '../aws/clients';
import { ENV, numberEnv, queueUrlVariable, requireEnv } from '../config';
import type { JobDeclaration } from '../jobs/define';
import { createLogger } from '../log';
import { createMetrics } from '../metrics';
import { SubmissionStore } from '../store/submission-store';
import { sqsBatchSender, sqsSender } from '../submission/sqs-send';
import { route } from './router';
import type { QueueTarget, SubmitDeps } from './submit';

/**
 * The API's dependencies for `jobTypes` (the declarations are enough: the API never runs a handler), from
 * the variables infra/ gives the API function: the table, and each type's queue in its own variable.
 */
export function apiDepsFromEnv(jobTypes: readonly JobDeclaration[], env: NodeJS.ProcessEnv = process.env): SubmitDeps {
  const queues = new Map<string, QueueTarget>();
  for (const type of jobTypes) {
    const url = env[queueUrlVariable(type.name)];
    if (url) queues.set(type.name, { url, fifo: type.queue.fifo });
  }
  return {
    jobTypes,
    queues,
    store: new SubmissionStore(dynamoClient(), requireEnv(ENV.tableName, env)),
    send: sqsSender(sqsClient),
    sendBatch: sqsBatchSender(sqsClient),
    log: createLogger({ component: 'api' }),
    metrics: createMetrics({ namespace: env[ENV.metricsNamespace] }),
    retentionDays: numberEnv(ENV.retentionDays, 30, env, 1),
    sweepAfterSeconds: numberEnv(ENV.sweepAfterSeconds, 300, env, 1),
  };
}

/** The API function's handler for `jobTypes`; `deps` (tests) replace what the environment would give. */
export function createApiHandler(jobTypes: readonly JobDeclaration[], deps?: Omit<SubmitDeps, 'jobTypes'>) {
  const resolved: SubmitDeps = deps ? { ...deps, jobTypes } : apiDepsFromEnv(jobTypes);
  // A request's metrics go out with its answer (one EMF line per job type it touched).
  return (event: APIGatewayProxyEventV2) => route(event, resolved).finally(() => resolved.metrics?.flush());
}
