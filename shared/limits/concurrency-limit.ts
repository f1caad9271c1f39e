/**
 * A concurrency limit shared by every worker, as one DynamoDB item per key whose `holders` map names each
 * running job's owner with the time its hold runs out (its lease's end). Taking a place is one conditional
 * write (`size(holders) < max`); the worker gives it back when the job ends. A worker that crashed cannot
 * give its place back, so a place whose time has passed is taken back by the next worker that finds the
 * limit full: the same safety net as the job's lease.
 */
import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LIMIT_KEY_PREFIX } from './limits';

export const concurrencyLimitKey = (type: string, key: string) => `${LIMIT_KEY_PREFIX}RUNNING#${type}#${key}`;

const ATTEMPTS = 5;

export type PlaceAnswer = { taken: true } | { taken: false; running: number };

/** Takes one of `max` places for `owner` until `until` (epoch ms). */
export async function takePlace(client: DynamoDBClient, tableName: string, pk: string, max: number, owner: string, until: number, now: number): Promise<PlaceAnswer> {
  let running = 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let holders: Record<string, AttributeValue> | undefined;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET holders.#owner = :until',
          ConditionExpression: 'size(holders) < :max',
          ExpressionAttributeNames: { '#owner': owner },
          ExpressionAttributeValues: { ':until': { N: String(until) }, ':max': { N: String(max) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { taken: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      holders = error.Item?.holders?.M;
    }
    if (holders === undefined) {
      // The key's first job (or its item is gone): create the item with this owner as its only holder.
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { pk: { S: pk }, holders: { M: { [owner]: { N: String(until) } } } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return { taken: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        continue; // another worker created it first
      }
    }
    const expired = Object.entries(holders).filter(([, v]) => Number(v.N) < now);
    running = Object.keys(holders).length - expired.length;
    if (expired.length === 0) return { taken: false, running };
    // Take back the places of holders whose time has passed (each only if it still holds the same time).
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const conditions: string[] = [];
    expired.slice(0, 50).forEach(([name, value], i) => {
      names[`#h${i}`] = name;
      values[`:h${i}`] = value;
      conditions.push(`holders.#h${i} = :h${i}`);
    });
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: `REMOVE ${Object.keys(names)
            .map((n) => `holders.${n}`)
            .join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Another worker took them back (or renewed them) first: look again.
    }
  }
  return { taken: false, running };
}

/** Gives `owner`'s place back. Removing a place that is not held is a no-op. */
export async function givePlaceBack(client: DynamoDBClient, tableName: string, pk: string, owner: string): Promise<void> {
  await client
    .send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: pk } },
        UpdateExpression: 'REMOVE holders.#owner',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#owner': owner },
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
}
