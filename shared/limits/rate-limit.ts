/**
 * A rate limit shared by every worker, as one DynamoDB item per key holding a theoretical arrival time
 * (the generic cell rate algorithm, GCRA: a token bucket kept as a single timestamp). Each job takes the
 * next start slot: `tat` moves on by one interval per job, and a job may start now when its slot is at most
 * `burst - 1` intervals ahead. A job whose slot is later keeps it: it is delayed until then, and runs
 * without asking again. A worker takes the slots of all the jobs it asks for at once (a batch's records under
 * one key) in one write: `tat` moves on by as many intervals. So every such group costs one conditional
 * write (two when its worker guessed the key's side of now wrong, three at most under contention), and a
 * backlog is spread over exactly the slots the rate allows, without jobs coming back to be refused again.
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

/** Takes the next start slot of `key`'s rate (takeRateSlots for one job). */
export async function takeRateSlot(client: DynamoDBClient, tableName: string, pk: string, rate: RateSpec, now: number): Promise<RateSlot> {
  const [at] = await takeRateSlots(client, tableName, pk, rate, now, 1);
  return { at: at! };
}

/**
 * Takes the next `count` start slots of `key`'s rate, in order, in one write: GCRA's
 * `tat = max(tat, now) + count × interval`, as two conditional writes whose conditions split on
 * `tat >= now`. DynamoDB cannot compute the max, so the worker tries the busy case and, when `tat` has
 * passed, the quiet one. `tat` only ever grows, so once it is at or after this worker's `now` it stays
 * there: the busy write can then no longer fail, and the slots need at most three writes however many
 * workers contend for the key. Throws only when DynamoDB does; a slot is never given twice, since every
 * write is conditional on the side of `now` the timestamp it moves is on.
 */
export async function takeRateSlots(client: DynamoDBClient, tableName: string, pk: string, rate: RateSpec, now: number, count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`rate slots are taken one or more at a time, not ${count}`);
  const interval = 1000 / rate.perSecond;
  const step = count * interval;
  const tolerance = (rate.burst - 1) * interval;
  // The k-th slot after `from`: it may start once it is within the burst tolerance of now.
  const slotsFrom = (from: number) => Array.from({ length: count }, (_, k) => from + k * interval - tolerance);
  const values = { ':now': { N: String(now) }, ':ttl': { N: String(Math.ceil(now / 1000) + IDLE_TTL_SECONDS) } };
  // Busy (tat at or after now): the jobs take the slots from tat on, moving it on by `count` intervals.
  const busy = async (): Promise<number[] | undefined> => {
    try {
      const moved = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET tat = tat + :step, expiresAt = :ttl',
          ConditionExpression: 'tat >= :now',
          ExpressionAttributeValues: { ...values, ':step': { N: String(step) } },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      // The slots taken are the `count` intervals before the new tat.
      return slotsFrom(Number(moved.Attributes?.tat?.N) - step);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  };
  // Quiet (no item, or its tat has passed): the slots start now, and the next one after them is `count` intervals on.
  const quiet = async (): Promise<number[] | undefined> => {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET tat = :next, expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
          ExpressionAttributeValues: { ...values, ':next': { N: String(now + step) } },
        }),
      );
      // A full bucket: the first `burst` start now, the rest one interval apart after them.
      return slotsFrom(now).map((at) => Math.max(now, at));
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

function remember(pk: string, quiet: boolean, slots: number[]): number[] {
  if (lastFoundQuiet.size >= HINTS_KEPT && !lastFoundQuiet.has(pk)) lastFoundQuiet.clear();
  lastFoundQuiet.set(pk, quiet);
  return slots;
}
