/**
 * AWS clients, created once per process and reused across invocations. The SDK's Node.js handler keeps
 * connections alive by default (keepAlive, up to 50 sockets per client), so a warm worker reuses them.
 * Endpoints come from the SDK's standard variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB,
 * AWS_ENDPOINT_URL_SQS), so the same code talks to AWS, LocalStack or the embedded emulators.
 *
 * The SQS client is loaded on first use: the worker needs it only on failure paths (backoff, DLQ), so a
 * cold start that never fails does not pay for loading it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { addFaultInjection, addSqsFaultInjection } from './fault-injection';

let dynamo: DynamoDBClient | undefined;
let sqs: Promise<SQSClient> | undefined;

export function dynamoClient(): DynamoDBClient {
  if (!dynamo) {
    dynamo = new DynamoDBClient({});
    // Deployed bundles define this as "false": the line folds away, and the fault injection code with it.
    if (process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false') addFaultInjection(dynamo);
  }
  return dynamo;
}

export function sqsClient(): Promise<SQSClient> {
  sqs ??= import('./sqs').then(({ SQSClient }) => {
    const client = new SQSClient({});
    if (process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false') addSqsFaultInjection(client as never);
    return client;
  });
  return sqs;
}
