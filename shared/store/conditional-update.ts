import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { JobStatus } from './job-states';

/** `status` is a DynamoDB reserved word: every expression names it through this placeholder. */
export const JOB_NAMES = { '#status': 'status' };

/** Each status as the attribute value expressions compare with (one spelling for every store). */
export const STATUS_VALUE: Readonly<Record<JobStatus, AttributeValue>> = {
  SCHEDULED: { S: 'SCHEDULED' },
  PENDING: { S: 'PENDING' },
  RUNNING: { S: 'RUNNING' },
  SUCCEEDED: { S: 'SUCCEEDED' },
  FAILED: { S: 'FAILED' },
  CANCELLED: { S: 'CANCELLED' },
};

/** An update whose failed condition is an answer (false), not an error. */
export async function conditionalUpdate(client: DynamoDBClient, input: ConstructorParameters<typeof UpdateItemCommand>[0]): Promise<boolean> {
  try {
    await client.send(new UpdateItemCommand(input));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
