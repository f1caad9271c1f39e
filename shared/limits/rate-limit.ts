/**
 * A rate limit shared by every worker, as one DynamoDB item per key holding a theoretical arrival time
 * (the generic cell rate algorithm, GCRA: a token bucket kept as a single timestamp). Each job takes the
 * next start slot: `tat` moves on by one interval per job, and a job may start now when its slot is at most
 * `burst - 1` intervals ahead. A job whose slot is later keeps it: it is delayed until then, and runs
 * without asking again. So every job costs one conditional write (two when its worker guessed the key's
 * side of now wrong, three at most under contention), and a backlog is spread over exactly the slots the
 * rate allows, without jobs coming back to be refused again.
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

/** A key's item outlives its last slot by this long, then DynamoDB's TTL removes it (an idle key costs nothing). */
const IDLE_TTL_SECONDS = 86_400;

export const rateLimitKey = (type: string, key: string) => `${LIMIT_KEY_PREFIX}RATE#${type}#${key}`;

/**
 * Takes the next start slot of `key`'s rate: GCRA's `tat = max(tat, now) + interval`, as two conditional
 * writes whose conditions split on `tat >= now`. DynamoDB cannot compute the max, so the job tries the busy
 * case and, when `tat` has passed, the quiet one. `tat` only ever grows, so once it is at or after this job's
 * `now` it stays there: the busy write can then no longer fail, and a job needs at most three writes however
 * many workers contend for the key. Throws only when DynamoDB does; a slot is never given twice, since every
 * write is conditional on the side of `now` the timestamp it moves is on.
 */
export async function takeRateSlot(client: DynamoDBClient, tableName: string, pk: string, rate: RateSpec, now: number): Promise<RateSlot> {
  const interval = 1000 / rate.perSecond;
  const tolerance = (rate.burst - 1) * interval;
  const values = { ':now': { N: String(now) }, ':ttl': { N: String(Math.ceil(now / 1000) + IDLE_TTL_SECONDS) } };
  // Busy (tat at or after now): the job takes the slot at tat, moving it on by one interval.
  const busy = async (): Promise<RateSlot | undefined> => {
    try {
      const moved = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET tat = tat + :interval, expiresAt = :ttl',
          ConditionExpression: 'tat >= :now',
          ExpressionAttributeValues: { ...values, ':interval': { N: String(interval) } },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      // The slot taken is the one before the new tat; it may start once it is within the burst tolerance.
      return { at: Number(moved.Attributes?.tat?.N) - interval - tolerance };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  };
  // Quiet (no item, or its tat has passed): the job starts now, and the next slot is one interval on.
  const quiet = async (): Promise<RateSlot | undefined> => {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET tat = :next, expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
          ExpressionAttributeValues: { ...values, ':next': { N: String(now + interval) } },
        }),
      );
      return { at: now };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  };
  // The side this worker last found the key on goes first: a key under its rate is quiet job after job,
  // one write each; a busy key is one write too. A wrong guess costs one failed write.
  const quietFirst = lastFoundQuiet.get(pk) === true;
  const first = await (quietFirst ? quiet() : busy());
  if (first) return remember(pk, quietFirst, first);
  const second = await (quietFirst ? busy() : quiet());
  if (second) return remember(pk, !quietFirst, second);
  // Both failed: the busy write went first and another worker then moved tat to or past now. It stays
  // there, so the busy write holds now. (Quiet first, then busy, cannot both fail.)
  const after = await busy();
  if (after) return remember(pk, false, after);
  throw new Error(`rate slot of ${pk}: its timestamp moved back, which no writer does`);
}

/** Per key, whether this worker last found it quiet (a hint for which write to try first; never for correctness). */
const lastFoundQuiet = new Map<string, boolean>();
const HINTS_KEPT = 10_000;

function remember(pk: string, quiet: boolean, slot: RateSlot): RateSlot {
  if (lastFoundQuiet.size >= HINTS_KEPT && !lastFoundQuiet.has(pk)) lastFoundQuiet.clear();
  lastFoundQuiet.set(pk, quiet);
  return slot;
}
