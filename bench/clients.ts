/**
 * One DynamoDB client recipe for both designs, so that neither wins on connection handling: the settings
 * of jobline's own client (shared/aws/clients.ts: keep-alive, 64 sockets), the SDK's default 3 attempts
 * written out, and the endpoint from AWS_ENDPOINT_URL_DYNAMODB like every function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const CLIENT_SETTINGS = {
  maxAttempts: 3,
  requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 }, httpsAgent: { keepAlive: true, maxSockets: 64 } },
} as const;

export function benchDynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ ...CLIENT_SETTINGS, requestHandler: { ...CLIENT_SETTINGS.requestHandler } });
}
