/**
 * What the sweeper does to job records. Every job carries a sweep time (`sweepAt`) in a keys-only index,
 * spread over a few shards; the sweeper walks each shard's index in time order from a cursor it keeps in
 * the table (`SWEEP#<shard>`), so each entry is looked at once, when its time has come: a job that
 * finished by then costs one read and no write, and the workers never touch the index. A job the sweeper
 * postpones or sends again gets a later sweep time, and so a later look. Every write to a job is
 * conditional on the state the sweeper read, so a job that moved on in between is left alone.
 */
import { GetItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { conditionalUpdate, JOB_NAMES as NAMES } from './conditional-update';
import { moveTo } from './state-write';
import { jobKey, SWEEP_INDEX, SWEEP_KEYS, SWEEP_SHARDS, type JobRecord } from './job-record';
import { JobStore } from './job-store';

export const SWEEP_SHARD_IDS = Array.from({ length: SWEEP_SHARDS }, (_, i) => `sweep#${i}`);

export interface SweepPage {
  entries: { jobId: string; sweepAt: number }[];
  /** Where the next page starts; undefined after the last one. */
  next?: Record<string, AttributeValue>;
}

const cursorKey = (shard: string) => ({ pk: { S: `SWEEP#${shard}` } });

export class SweepStore extends JobStore {
  /** The sweep time up to which a shard has been swept (0 before its first sweep). */
  async cursor(shard: string): Promise<number> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: cursorKey(shard), ConsistentRead: true }));
    return Number(Item?.sweptUntil?.N ?? 0);
  }

  /** Moves a shard's cursor forward (never back: two sweeps at once cannot undo each other's progress). */
  async advanceCursor(shard: string, sweptUntil: number): Promise<void> {
    await conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: cursorKey(shard),
      UpdateExpression: 'SET sweptUntil = :until',
      ConditionExpression: 'attribute_not_exists(sweptUntil) OR sweptUntil < :until',
      ExpressionAttributeValues: { ':until': { N: String(sweptUntil) } },
    });
  }

  /** One page of a shard's index entries with `after < sweepAt <= until`, oldest first. */
  async entries(shard: string, after: number, until: number, start?: Record<string, AttributeValue>, limit = 100): Promise<SweepPage> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: SWEEP_INDEX,
        KeyConditionExpression: '#shard = :shard AND #at BETWEEN :from AND :until',
        ExpressionAttributeNames: { '#shard': SWEEP_KEYS.shard, '#at': SWEEP_KEYS.at },
        ExpressionAttributeValues: { ':shard': { S: shard }, ':from': { N: String(after + 1) }, ':until': { N: String(until) } },
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    return {
      entries: (Items ?? []).map((item) => ({ jobId: item.pk!.S!.slice('JOB#'.length), sweepAt: Number(item[SWEEP_KEYS.at]!.N) })),
      ...(LastEvaluatedKey ? { next: LastEvaluatedKey } : {}),
    };
  }

  /** The condition that the job is as the sweeper read it. */
  private unchanged(job: JobRecord) {
    return {
      ConditionExpression: '#status = :status AND generation = :gen AND updatedAt = :updatedAt',
      values: { ':status': { S: job.status }, ':gen': { N: String(job.generation) }, ':updatedAt': { S: job.updatedAt } },
    };
  }

  /** Looks at the job again at `until`. */
  async postpone(job: JobRecord, until: number): Promise<boolean> {
    const { ConditionExpression, values } = this.unchanged(job);
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(job.jobId),
      UpdateExpression: 'SET #at = :until',
      ConditionExpression,
      ExpressionAttributeNames: { ...NAMES, '#at': SWEEP_KEYS.at },
      ExpressionAttributeValues: { ...values, ':until': { N: String(until) } },
    });
  }

  /** Transition `resend`: counts the re-send and sets the next look; the caller then sends the message. */
  async markResent(job: JobRecord, nextSweepAt: number): Promise<boolean> {
    const { ConditionExpression, values } = this.unchanged(job);
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(job.jobId),
      UpdateExpression: 'SET #at = :next, sweeps = :sweeps',
      ConditionExpression,
      ExpressionAttributeNames: { ...NAMES, '#at': SWEEP_KEYS.at },
      ExpressionAttributeValues: { ...values, ':next': { N: String(nextSweepAt) }, ':sweeps': { N: String((job.sweeps ?? 0) + 1) } },
    });
  }

  /** Transition `give up`: FAILED with the reason (the caller has copied the message to the DLQ first). */
  async giveUp(job: JobRecord, reason: string): Promise<boolean> {
    const { ConditionExpression, values } = this.unchanged(job);
    const at = this.iso();
    const move = moveTo('FAILED', job, { at, generation: job.generation, reason });
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(job.jobId),
      UpdateExpression: `SET ${move.set}, #error = :reason, finishedAt = :at, updatedAt = :at REMOVE leaseOwner, leaseUntil`,
      ConditionExpression,
      ExpressionAttributeNames: { ...NAMES, ...move.names, '#error': 'error' },
      ExpressionAttributeValues: { ...values, ...move.values, ':reason': { S: reason }, ':at': { S: at } },
    });
  }

  /** Transition `enqueue`: a SCHEDULED job becomes PENDING (the caller then sends its message), looked at again at `nextSweepAt`. */
  async enqueue(job: JobRecord, nextSweepAt: number): Promise<boolean> {
    const { ConditionExpression, values } = this.unchanged(job);
    const at = this.iso();
    const move = moveTo('PENDING', job, { at, generation: job.generation, reason: 'its run time is near: sent to its queue' });
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(job.jobId),
      UpdateExpression: `SET ${move.set}, updatedAt = :at, #sweepAt = :next`,
      ConditionExpression,
      ExpressionAttributeNames: { ...NAMES, ...move.names, '#sweepAt': SWEEP_KEYS.at },
      ExpressionAttributeValues: { ...values, ...move.values, ':at': { S: at }, ':next': { N: String(nextSweepAt) } },
    });
  }
}
