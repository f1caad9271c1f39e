/**
 * The worker's gate in front of a job type's limits: before a job runs, it takes a start slot of the rate
 * and a place of the concurrency limit. A job that may not start yet is deferred: sent back to its queue as
 * a delayed copy (shared/worker/settle.ts), which uses none of its receives, so waiting for a limit never
 * counts as a failed attempt. The copy carries what it was given: its rate slot (so it does not queue for
 * the rate again) and how often it was deferred (the concurrency limit's backoff grows with it).
 */
import type { SQSRecord } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { sleep } from '../sleep';
import { concurrencyLimitKey, givePlaceBack, takePlace } from './concurrency-limit';
import { defaultBurst, MAX_LIMIT_KEY_LENGTH, type JobLimits } from './limits';
import { rateLimitKey, takeRateSlots, type RateSpec } from './rate-limit';

/** Message attributes of a deferred copy. */
export const RATE_SLOT_ATTRIBUTE = 'jobline-rate-slot';
export const DEFERRALS_ATTRIBUTE = 'jobline-deferrals';

/** A slot this close is waited for in the worker: cheaper and more precise than a copy delayed by a whole second. */
const WAIT_IN_PLACE_MS = 1000;
/** The concurrency limit's backoff: 1 s doubling to 60 s, a random point in its upper half. */
const PLACE_BACKOFF = { baseSeconds: 1, maxSeconds: 60 };

export type Admission = { admitted: true; release(): Promise<void> } | { admitted: false; reason: string; delaySeconds: number; attributes: Record<string, string> };

export class Limiter {
  /** The rate slots asked for in this turn of the event loop, per key: taken together, in one write. */
  private readonly asking = new Map<string, { rate: RateSpec; waiting: { resolve(at: number): void; reject(error: unknown): void }[] }>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Admits the job of `record` under `limits`, holding its concurrency place as `owner` until `until`
   * (its lease's end). A start slot less than a second away is waited for here, unless it is later than
   * `latestStart` (the last moment the invocation can still start the job): then the job is deferred.
   */
  async admit(typeName: string, limits: JobLimits, payload: unknown, record: SQSRecord, owner: string, until: number, latestStart = Infinity): Promise<Admission> {
    // A standard queue's MessageGroupId is the job's tenant (its record keeps it, so every re-send carries it).
    const key = limitKeyOf(limits, payload, record.attributes?.MessageGroupId);
    const deferrals = Number(record.messageAttributes?.[DEFERRALS_ATTRIBUTE]?.stringValue ?? 0) || 0;
    if (limits.rate) {
      const carried = Number(record.messageAttributes?.[RATE_SLOT_ATTRIBUTE]?.stringValue);
      const slot = Number.isFinite(carried)
        ? carried
        : await this.rateSlot(rateLimitKey(typeName, key), { perSecond: limits.rate.perSecond, burst: limits.rate.burst ?? defaultBurst(limits.rate.perSecond) });
      const wait = slot - this.now();
      if (wait > WAIT_IN_PLACE_MS || (wait > 0 && slot > latestStart)) {
        return {
          admitted: false,
          reason: `rate limit of ${limits.rate.perSecond}/s for ${key}: its start slot is in ${Math.ceil(wait / 1000)} s`,
          delaySeconds: Math.max(1, Math.ceil(wait / 1000)),
          attributes: { [RATE_SLOT_ATTRIBUTE]: String(slot), [DEFERRALS_ATTRIBUTE]: String(deferrals + 1) },
        };
      }
      if (wait > 0) await sleep(wait);
    }
    if (limits.concurrency === undefined) return { admitted: true, release: async () => {} };
    const pk = concurrencyLimitKey(typeName, key);
    const place = await takePlace(this.client, this.tableName, pk, limits.concurrency, owner, until, this.now());
    if (!place.taken) {
      // Its rate slot (if any) is spent: the copy takes a new one when it comes back.
      return {
        admitted: false,
        reason: `concurrency limit of ${limits.concurrency} for ${key}: ${place.running} running`,
        delaySeconds: placeBackoffSeconds(deferrals + 1),
        attributes: { [DEFERRALS_ATTRIBUTE]: String(deferrals + 1) },
      };
    }
    return { admitted: true, release: () => givePlaceBack(this.client, this.tableName, pk, owner) };
  }

  /**
   * A start slot of `pk`'s rate. A batch's records ask side by side (the worker starts their lanes, or a
   * round, together), so the slots asked for before this turn of the event loop ends are taken in one
   * write: a batch of ten under one key (a hot host) moves its item once, not ten times.
   */
  private rateSlot(pk: string, rate: RateSpec): Promise<number> {
    return new Promise((resolve, reject) => {
      let group = this.asking.get(pk);
      if (!group) {
        group = { rate, waiting: [] };
        this.asking.set(pk, group);
        setImmediate(() => void this.takeAskedSlots(pk));
      }
      group.waiting.push({ resolve, reject });
    });
  }

  private async takeAskedSlots(pk: string): Promise<void> {
    const group = this.asking.get(pk)!;
    this.asking.delete(pk);
    try {
      const slots = await takeRateSlots(this.client, this.tableName, pk, group.rate, this.now(), group.waiting.length);
      group.waiting.forEach((asker, i) => asker.resolve(slots[i]!));
    } catch (error) {
      for (const asker of group.waiting) asker.reject(error);
    }
  }
}

/** The limit key of a job: the declared key (hashed when too long for a DynamoDB key), else one for the type. */
export function limitKeyOf(limits: JobLimits, payload: unknown, tenant?: string): string {
  if (!limits.key) return '*';
  const key = limits.key(payload, tenant);
  if (typeof key !== 'string') throw new TypeError(`limits.key returned ${typeof key}, not a string`);
  return key.length <= MAX_LIMIT_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`;
}

export function placeBackoffSeconds(deferrals: number): number {
  const ceiling = Math.min(PLACE_BACKOFF.maxSeconds, PLACE_BACKOFF.baseSeconds * 2 ** Math.min(10, deferrals - 1));
  return Math.max(1, Math.round(ceiling / 2 + Math.random() * (ceiling / 2)));
}
