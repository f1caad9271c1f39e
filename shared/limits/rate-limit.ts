/**
 * A rate limit shared by every worker, as one DynamoDB item per key holding a theoretical arrival time
 * (the generic cell rate algorithm, GCRA: a token bucket kept as a single timestamp). Each job takes the
 * next start slot: `tat` moves on by one interval per job, and a job may start now when its slot is at most
 * `burst - 1` intervals ahead. A job whose slot is later keeps it: it is delayed until then, and runs
 * without asking again. So every job costs one conditional write (two after a quiet spell), and a backlog
 * is spread over exactly the slots the rate allows, without jobs coming back to be refused again.
 */
import { UpdateItemCommand, ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LIMIT_KEY_PREFIX } from './limits';

export interface RateSpec {
  perSecond: number;
  burst: number;
}

/** The start slot a job was given: `at` (epoch ms) is when it may start; now or earlier means at once. */
export interface RateSlot {
  at: number;
}

/** Tries to take a slot this many times when other workers move the same item at the same moment. */
const ATTEMPTS = 5;
/** A key's item outlives its last slot by this long, then DynamoDB's TTL removes it (an idle key costs nothing). */
const IDLE_TTL_SECONDS = 86_400;

export const rateLimitKey = (type: string, key: string) => `${LIMIT_KEY_PREFIX}RATE#${type}#${key}`;

/**
 * Takes the next start slot of `key`'s rate. Throws only when DynamoDB does; a slot is never given twice,
 * since every write is conditional on the timestamp it moves from.
 */
export async function takeRateSlot(client: DynamoDBClient, tableName: string, pk: string, rate: RateSpec, now: number): Promise<RateSlot> {
  const interval = 1000 / rate.perSecond;
  const tolerance = (rate.burst - 1) * interval;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // The common case: the item is busy (tat at or after now): the job takes the slot at tat, moving it on.
    // The tat the busy path found (DynamoDB's own spelling of the number, so the next condition matches it exactly).
    let old: string | undefined;
    try {
      const moved = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET tat = tat + :interval, expiresAt = :ttl',
          ConditionExpression: 'tat >= :now',
          ExpressionAttributeValues: {
            ':interval': { N: String(interval) },
            ':now': { N: String(now) },
            ':ttl': { N: String(Math.ceil(now / 1000) + IDLE_TTL_SECONDS) },
          },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const tat = Number(moved.Attributes?.tat?.N);
      // The slot taken is the one before the new tat; it may start once it is within the burst tolerance.
      return { at: tat - interval - tolerance };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      old = error.Item?.tat?.N;
    }
    if (old !== undefined && Number(old) >= now) continue; // moved past now meanwhile: take the busy path again
    // Quiet (no item, or its tat has passed): the job starts now, and the next slot is one interval on.
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET tat = :next, expiresAt = :ttl',
          ConditionExpression: old === undefined ? 'attribute_not_exists(tat)' : 'tat = :old',
          ExpressionAttributeValues: {
            ':next': { N: String(now + interval) },
            ':ttl': { N: String(Math.ceil(now / 1000) + IDLE_TTL_SECONDS) },
            ...(old === undefined ? {} : { ':old': { N: old } }),
          },
        }),
      );
      return { at: now };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Another worker took the quiet slot first: the item is busy now.
    }
  }
  throw new Error(`could not take a rate slot for ${pk}: ${ATTEMPTS} conflicting writes in a row`);
}
