import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** `status` is a DynamoDB reserved word: every expression names it through this placeholder. */
export const JOB_NAMES = { '#status': 'status' };

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
