/**
 * What the API (and JobClient) do to job records: record a submitted job (the conditional put that makes an
 * Idempotency-Key work, and the job's outbox: its message can be sent again from it), read a job, retry a
 * FAILED or CANCELLED one, cancel one, list a caller's jobs. The workers' side is JobStore; the sweeper's is
 * SweepStore.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { JobTable } from './job-table';
import { JOB_NAMES as NAMES, STATUS_VALUE } from './conditional-update';
import { fromItem, historyValue, isExpired, jobKey, listKeyOf, LIST_KEYS, MAX_HISTORY_KEPT, sweepShard, SWEEP_KEYS, toItem, type JobRecord } from './job-record';
import { appendHistory, moveTo } from './state-write';
import { listJobs, type ListPage, type ListQuery } from './job-list';

export class SubmissionStore extends JobTable {
  /**
   * Transition `submit`: records a new job, unless a live record has its id already; then that record is
   * returned instead. An expired record (TTL has not deleted it yet) counts as none and is replaced.
   */
  async create(job: JobRecord): Promise<{ created: true } | { created: false; existing: JobRecord }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(job),
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :nowSeconds',
          ExpressionAttributeValues: { ':nowSeconds': { N: String(Math.floor(this.now() / 1000)) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) return { created: false, existing: fromItem(error.Item) };
      throw error;
    }
  }

  /** The job, if it exists, has not expired, and (when `owner` is given) belongs to `owner`. */
  async get(jobId: string, owner?: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }));
    if (!Item) return undefined;
    const job = fromItem(Item);
    if (isExpired(job, this.now())) return undefined;
    if (owner !== undefined && job.owner !== owner) return undefined;
    return job;
  }

  /**
   * Transition `retry`: a FAILED or CANCELLED job of `owner` becomes PENDING in the next generation, so that
   * its new message runs and every message of the earlier generation is dropped. The timeline keeps its
   * newest entries (the last error among them). Returns the job as it is now, or `current` when it cannot
   * be retried (undefined: there is no such job of this caller).
   */
  async retry(jobId: string, owner: string, sweepAfterMs: number): Promise<{ retried: JobRecord } | { retried?: undefined; current?: JobRecord }> {
    return this.moveFromRead(jobId, owner, async (job, now) => {
      if (job.status !== 'FAILED' && job.status !== 'CANCELLED') return undefined;
      const at = new Date(now).toISOString();
      const generation = job.generation + 1;
      const history = [...job.history.slice(-(MAX_HISTORY_KEPT - 1)), { state: 'PENDING' as const, at, generation, reason: `retried after ${job.status}` }];
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: `SET #status = :pending, #listKey = :listKey, #history = :history, generation = :gen, updatedAt = :at, #sweepAt = :sweepAt, #sweepShard = :shard, sweeps = :zero REMOVE finishedAt, leaseOwner, leaseUntil, cancelRequested, runAt`,
          ConditionExpression: '#status = :seen AND generation = :seenGen AND #owner = :owner',
          ExpressionAttributeNames: {
            ...NAMES,
            '#owner': 'owner',
            '#listKey': LIST_KEYS.partition,
            '#history': 'history',
            '#sweepAt': SWEEP_KEYS.at,
            '#sweepShard': SWEEP_KEYS.shard,
          },
          ExpressionAttributeValues: {
            ':pending': STATUS_VALUE.PENDING,
            ':listKey': { S: listKeyOf(job.type, 'PENDING', jobId) },
            ':history': historyValue(history),
            ':gen': { N: String(generation) },
            ':seen': STATUS_VALUE[job.status],
            ':seenGen': { N: String(job.generation) },
            ':owner': { S: owner },
            ':at': { S: at },
            ':sweepAt': { N: String(now + sweepAfterMs) },
            ':shard': { S: sweepShard(jobId) },
            ':zero': { N: '0' },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(Attributes!);
    }).then((outcome) => ('moved' in outcome ? { retried: outcome.moved } : { current: outcome.current }));
  }

  /**
   * Transitions `cancel` (SCHEDULED or PENDING: CANCELLED at once; its message, when it comes, is dropped)
   * and `request cancel` (RUNNING: `cancelRequested`, and the worker aborts the handler's signal). Returns
   * the job as it is now, or `current` when it is finished (undefined: no such job of this caller).
   */
  async cancel(jobId: string, owner: string): Promise<{ cancelled: JobRecord } | { cancelled?: undefined; current?: JobRecord }> {
    return this.moveFromRead(jobId, owner, async (job, now) => {
      const at = new Date(now).toISOString();
      const common = {
        ':seen': STATUS_VALUE[job.status],
        ':gen': { N: String(job.generation) },
        ':owner': { S: owner },
        ':at': { S: at },
      };
      if (job.status === 'SCHEDULED' || job.status === 'PENDING') {
        const move = moveTo('CANCELLED', job, { at, generation: job.generation, reason: 'cancelled by its caller' });
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: jobKey(jobId),
            UpdateExpression: `SET ${move.set}, finishedAt = :at, updatedAt = :at, #error = :reason`,
            ConditionExpression: '#status = :seen AND generation = :gen AND #owner = :owner',
            ExpressionAttributeNames: { ...NAMES, ...move.names, '#owner': 'owner', '#error': 'error' },
            ExpressionAttributeValues: { ...move.values, ...common, ':reason': { S: 'cancelled by its caller' } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return fromItem(Attributes!);
      }
      if (job.status === 'RUNNING') {
        if (job.cancelRequested) return job;
        const history = appendHistory({ state: 'CANCEL_REQUESTED', at, generation: job.generation, reason: 'cancel requested by its caller while it runs' });
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: jobKey(jobId),
            UpdateExpression: `SET ${history.set}, cancelRequested = :yes, updatedAt = :at`,
            ConditionExpression: '#status = :seen AND generation = :gen AND #owner = :owner',
            ExpressionAttributeNames: { ...NAMES, ...history.names, '#owner': 'owner' },
            ExpressionAttributeValues: { ...history.values, ...common, ':yes': { BOOL: true } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return fromItem(Attributes!);
      }
      return undefined;
    }).then((outcome) => ('moved' in outcome ? { cancelled: outcome.moved } : { current: outcome.current }));
  }

  /** A page of `query.owner`'s jobs, newest first (job-list.ts). */
  list(query: ListQuery): Promise<ListPage> {
    return listJobs(this.client, this.tableName, query, this.now());
  }

  /**
   * Reads a job of `owner` and applies `move`, a write conditioned on what was read (its state and
   * generation); when another write came in between, reads again (a few times). `move` returns undefined
   * when the job, as read, cannot move.
   */
  private async moveFromRead(
    jobId: string,
    owner: string,
    move: (job: JobRecord, now: number) => Promise<JobRecord | undefined>,
  ): Promise<{ moved: JobRecord } | { current?: JobRecord }> {
    for (let attempt = 1; ; attempt++) {
      const job = await this.get(jobId, owner);
      if (!job) return {};
      try {
        const moved = await move(job, this.now());
        return moved ? { moved } : { current: job };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 5) throw error;
      }
    }
  }
}
