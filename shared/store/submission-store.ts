/**
 * What the API (and JobClient) do to job records: record a submitted job (the conditional put that makes an
 * Idempotency-Key work, and the job's outbox: its message can be sent again from it), read a job, retry a
 * FAILED or CANCELLED one, cancel one, list a caller's jobs. The workers' side is JobStore; the sweeper's is
 * SweepStore.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type Put,
} from '@aws-sdk/client-dynamodb';
import { mapLimit } from '../worker/map-limit';
import { JobTable } from './job-table';
import { JOB_NAMES as NAMES, STATUS_VALUE } from './conditional-update';
import { fromItem, historyValue, isExpired, jobKey, listKeyOf, LIST_KEYS, MAX_HISTORY_KEPT, sweepShard, SWEEP_KEYS, toItem, type JobRecord } from './job-record';
import { appendHistory, moveTo } from './state-write';
import { listJobs, type ListPage, type ListQuery } from './job-list';

/** What `create` found: the job is recorded, or a live record had its id. */
export type CreateResult = { created: true } | { created: false; existing: JobRecord };

/** DynamoDB's limits for one TransactWriteItems: 100 actions and 4 MB of items (kept well under here). */
const TRANSACTION_ITEMS = 100;
const TRANSACTION_BYTES = 3_000_000;
/** Transactions tried for a batch before what is left is written one conditional put each. */
const TRANSACTION_ROUNDS = 3;
/** Conditional puts in flight at once when a batch falls back to them. */
const PUT_CONCURRENCY = 16;

export class SubmissionStore extends JobTable {
  /**
   * Transition `submit`: records a new job, unless a live record has its id already; then that record is
   * returned instead. An expired record (TTL has not deleted it yet) counts as none and is replaced.
   */
  async create(job: JobRecord): Promise<CreateResult> {
    try {
      await this.client.send(new PutItemCommand(this.createPut(job)));
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) return { created: false, existing: fromItem(error.Item) };
      throw error;
    }
  }

  /**
   * `create` for many jobs at once (a batch submit), each with its own result or error, in their order.
   * The puts go up to 100 to a TransactWriteItems: one round trip instead of 100 (on AWS a transactional
   * write costs two write units, not one). A transaction is all or nothing, so when some of its jobs exist
   * DynamoDB cancels it, says which (with the records found), and the rest are tried again without them.
   * A job whose id comes twice in the batch, a transaction that keeps being cancelled (by a conflicting
   * write), or one that fails outright falls back to one conditional put a job, so that each job gets its
   * own outcome, as a single submit would.
   */
  async createMany(jobs: readonly JobRecord[]): Promise<(CreateResult | { error: unknown })[]> {
    const results = new Array<CreateResult | { error: unknown }>(jobs.length);
    const firstOfId = new Map<string, number>();
    jobs.forEach((job, index) => {
      if (!firstOfId.has(job.jobId)) firstOfId.set(job.jobId, index);
    });
    const alone = jobs.flatMap((job, index) => (firstOfId.get(job.jobId) === index ? [] : [index]));
    let pending = [...firstOfId.values()];
    for (let round = 1; round <= TRANSACTION_ROUNDS && pending.length > 0; round++) {
      const again: number[] = [];
      for (const chunk of transactionChunks(pending, jobs)) {
        const outcomes = await this.createTogether(chunk.map((index) => jobs[index]!));
        outcomes.forEach((outcome, i) => {
          if (outcome === 'again') again.push(chunk[i]!);
          else if (outcome === 'alone') alone.push(chunk[i]!);
          else results[chunk[i]!] = outcome;
        });
      }
      pending = again;
    }
    // Duplicates last, so that they find the first of their id written.
    const singly = [...pending, ...alone];
    const isFirst = (index: number) => firstOfId.get(jobs[index]!.jobId) === index;
    const firsts = singly.filter(isFirst);
    const duplicates = singly.filter((index) => !isFirst(index));
    for (const group of [firsts, duplicates]) {
      await mapLimit(group, PUT_CONCURRENCY, async (index) => {
        results[index] = await this.create(jobs[index]!).catch((error: unknown) => ({ error }));
      });
    }
    return results;
  }

  /**
   * One transaction of conditional puts. Per job: its result; `again` when the transaction was cancelled
   * for another job's sake (or a conflicting write), so that this job can go in the next one; `alone` when
   * it must be written by itself (the transaction failed outright, or for a reason of this job's own).
   */
  private async createTogether(jobs: readonly JobRecord[]): Promise<(CreateResult | 'again' | 'alone')[]> {
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: jobs.map((job) => ({ Put: this.createPut(job) })) }));
      return jobs.map(() => ({ created: true }));
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? error.CancellationReasons : undefined;
      if (!reasons || reasons.length !== jobs.length) return jobs.map(() => 'alone');
      return reasons.map(({ Code, Item }) => {
        if (Code === 'ConditionalCheckFailed' && Item) return { created: false, existing: fromItem(Item) };
        return Code === 'None' || Code === 'TransactionConflict' ? 'again' : 'alone';
      });
    }
  }

  /** The put that records a new job unless a live record has its id (an expired record counts as none). */
  private createPut(job: JobRecord): Put {
    return {
      TableName: this.tableName,
      Item: toItem(job),
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :nowSeconds',
      ExpressionAttributeValues: { ':nowSeconds': { N: String(Math.floor(this.now() / 1000)) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
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

/** `indexes` in transactions of at most 100 jobs and TRANSACTION_BYTES of records (a record's JSON as its size). */
function transactionChunks(indexes: readonly number[], jobs: readonly JobRecord[]): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const index of indexes) {
    const size = Buffer.byteLength(JSON.stringify(toItem(jobs[index]!)));
    if (current.length === TRANSACTION_ITEMS || (current.length > 0 && bytes + size > TRANSACTION_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
