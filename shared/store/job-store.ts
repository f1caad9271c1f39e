/**
 * What workers do to job records: read a batch of them, claim, complete, record a retry, fail. Every state
 * change is one conditional write, so concurrent workers and duplicate deliveries can race freely: the
 * condition decides who wins, and the loser learns the current state from the returned item
 * (ReturnValuesOnConditionCheckFailure ALL_OLD) without another read. The API's side is SubmissionStore.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { PermanentError, TransactionConflictError, TransientError } from '../errors';
import { sleep } from '../sleep';
import { classifyCancellation, classifyGroupCancellation, type GroupVerdict } from './cancellation';
import { JobTable } from './job-table';
import { conditionalUpdate, JOB_NAMES as NAMES, STATUS_VALUE } from './conditional-update';
import { refusalOf, type Binding, type Refusal } from './binding';
import { fromItem, jobKey, type Item, type JobRecord } from './job-record';
import { appendHistory, moveTo } from './state-write';

export type { Binding } from './binding';

/** Results are kept in the record; bigger ones belong in the job's own storage. */
export const MAX_RESULT_BYTES = 64 * 1024;
const BATCH_GET_LIMIT = 100;
/**
 * What a worker checks a message against before running it (binding, status, expiry): the rest of a record
 * (its payload, up to 256 KB, and its result, up to 64 KB) is not read back and parsed for every batch.
 * The read units are the same (DynamoDB charges for the whole item); the bytes on the wire are not.
 */
const BINDING_PROJECTION = {
  ProjectionExpression: 'pk, jobId, #type, #status, generation, payloadHash, expiresAt, runAt',
  ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
};
/** DynamoDB takes at most 100 items in a transaction; a job's completion is one of them. */
export const MAX_TRANSACTION_ITEMS = 100;
export const MAX_JOB_WRITES = MAX_TRANSACTION_ITEMS - 1;

export type ClaimResult =
  | { outcome: 'claimed' }
  | { outcome: 'succeeded' }
  | { outcome: 'leased'; leaseUntil: number }
  /** Its run time has not come (a message that arrived early: sent again by hand, or a clock ahead). */
  | { outcome: 'early'; runAt: number }
  /** Its caller asked it to stop, and no worker holds it any more: stop it (CANCELLED). */
  | { outcome: 'cancel-requested' }
  | { outcome: 'missing' }
  /** The job is FAILED (terminal), or the message is not this job's: drop or park the message. */
  | { outcome: 'not-runnable'; refusal: Refusal };

export type CompleteResult = 'completed' | 'duplicate' | 'lost-lease' | 'missing';

/**
 * The result as stored: a result larger than MAX_RESULT_BYTES is replaced by a note of its size, so that a
 * job whose effect happened is never failed (and re-run) over the size of what it returned.
 */
export function storedResult(result: unknown): AttributeValue {
  const json = JSON.stringify(result ?? null) ?? 'null';
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_RESULT_BYTES) return { S: JSON.stringify({ resultNotStored: `the result is ${bytes} bytes; records keep at most ${MAX_RESULT_BYTES}` }) };
  return { S: json };
}

export class JobStore extends JobTable {
  /**
   * Reads many records with BatchGetItem (100 keys a call), retrying UnprocessedKeys with backoff.
   * `consistent: false` reads at half the cost and may miss the latest write.
   */
  async getMany(jobIds: readonly string[], options: { consistent?: boolean; bindingOnly?: boolean } = {}): Promise<Map<string, JobRecord>> {
    const found = new Map<string, JobRecord>();
    const distinct = [...new Set(jobIds)];
    for (let start = 0; start < distinct.length; start += BATCH_GET_LIMIT) {
      let keys: Item[] = distinct.slice(start, start + BATCH_GET_LIMIT).map(jobKey);
      for (let round = 0; keys.length > 0; round++) {
        if (round > 0) {
          if (round > 6) throw new TransientError(`BatchGetItem left ${keys.length} keys unprocessed`);
          await sleep(Math.min(1000, 25 * 2 ** round) * Math.random());
        }
        const response = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: options.consistent ?? true, ...(options.bindingOnly ? BINDING_PROJECTION : {}) } },
          }),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) {
          const job = fromItem(item);
          found.set(job.jobId, job);
        }
        keys = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  /**
   * Transition `claim` (leased path, step 1): a job bound to this message (type, payload hash, generation)
   * that is PENDING, or RUNNING with an expired lease (a crashed or timed-out worker), or RUNNING under this
   * same owner (our own write whose answer was lost), becomes RUNNING under `owner` until `leaseUntil`,
   * attempts + 1; only once its run time has come, and never after a cancel request. One conditional
   * write; a refusal tells why from the returned item.
   */
  async claim(binding: Binding, owner: string, leaseUntil: number, attempt?: number): Promise<ClaimResult> {
    const now = this.now();
    const at = new Date(now).toISOString();
    const move = moveTo('RUNNING', binding, { at, generation: binding.generation, ...(attempt !== undefined ? { attempt } : {}) });
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(binding.jobId),
          UpdateExpression: `SET ${move.set}, leaseOwner = :owner, leaseUntil = :until, startedAt = if_not_exists(startedAt, :at), updatedAt = :at ADD attempts :one`,
          ConditionExpression:
            'attribute_exists(pk) AND #type = :type AND payloadHash = :hash AND generation = :gen AND (#status = :pending OR (#status = :running AND (leaseUntil < :nowMs OR leaseOwner = :owner))) AND (attribute_not_exists(runAt) OR runAt <= :nowMs) AND attribute_not_exists(cancelRequested)',
          ExpressionAttributeNames: { ...NAMES, ...move.names, '#type': 'type' },
          ExpressionAttributeValues: {
            ...move.values,
            ':running': STATUS_VALUE.RUNNING,
            ':pending': STATUS_VALUE.PENDING,
            ':type': { S: binding.type },
            ':hash': { S: binding.payloadHash },
            ':gen': { N: String(binding.generation) },
            ':owner': { S: owner },
            ':until': { N: String(leaseUntil) },
            ':nowMs': { N: String(now) },
            ':one': { N: '1' },
            ':at': { S: at },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) return { outcome: 'missing' };
      const current = fromItem(error.Item);
      const refusal = refusalOf(current, binding);
      if (refusal) return { outcome: 'not-runnable', refusal };
      if (current.status === 'SUCCEEDED') return { outcome: 'succeeded' };
      if (current.runAt !== undefined && current.runAt > now) return { outcome: 'early', runAt: current.runAt };
      const held = current.status === 'RUNNING' && (current.leaseUntil ?? 0) >= now && current.leaseOwner !== owner;
      if (current.cancelRequested && !held) return { outcome: 'cancel-requested' };
      return { outcome: 'leased', leaseUntil: current.leaseUntil ?? now };
    }
  }

  /** Transition `complete` (leased path, step 3): SUCCEEDED with the result, only while `owner` holds the job. */
  async completeLeased(binding: Binding, owner: string, result: unknown, attempt?: number): Promise<CompleteResult> {
    const at = this.iso();
    const move = moveTo('SUCCEEDED', binding, { at, generation: binding.generation, ...(attempt !== undefined ? { attempt } : {}) });
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(binding.jobId),
          // The lease fields stay, as a record of who completed the job; an earlier attempt's error is not
          // shown once the job SUCCEEDED (toJobView), so it is left rather than removed: a smaller write.
          UpdateExpression: `SET ${move.set}, #result = :result, finishedAt = :at, updatedAt = :at`,
          ConditionExpression: '#status = :running AND leaseOwner = :owner',
          ExpressionAttributeNames: { ...NAMES, ...move.names, '#result': 'result' },
          ExpressionAttributeValues: {
            ...move.values,
            ':running': STATUS_VALUE.RUNNING,
            ':owner': { S: owner },
            ':result': storedResult(result),
            ':at': { S: at },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'completed';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) return 'missing';
      // SUCCEEDED already: another worker finished it (or our own write landed and its answer was lost).
      return fromItem(error.Item).status === 'SUCCEEDED' ? 'duplicate' : 'lost-lease';
    }
  }

  /**
   * Transition `commit`: a transactional job's completion, SUCCEEDED with its result, only while it is
   * PENDING in the message's generation with the message's type and payload.
   */
  private completionItem(binding: Binding, result: AttributeValue, at: string, attempt?: number): TransactWriteItem {
    const move = moveTo('SUCCEEDED', binding, { at, generation: binding.generation, ...(attempt !== undefined ? { attempt } : {}) });
    return {
      Update: {
        TableName: this.tableName,
        Key: jobKey(binding.jobId),
        // As small as the update can be: transactional jobs hold no lease, and an earlier attempt's error is
        // not shown once the job SUCCEEDED (toJobView). The job's start is its completion: one write.
        UpdateExpression: `SET ${move.set}, #result = :result, finishedAt = :at, updatedAt = :at ADD attempts :one`,
        ConditionExpression: '#status = :pending AND generation = :gen AND payloadHash = :hash AND #type = :type',
        ExpressionAttributeNames: { ...NAMES, ...move.names, '#result': 'result', '#type': 'type' },
        ExpressionAttributeValues: {
          ...move.values,
          ':pending': STATUS_VALUE.PENDING,
          ':gen': { N: String(binding.generation) },
          ':hash': { S: binding.payloadHash },
          ':type': { S: binding.type },
          ':result': result,
          ':one': { N: '1' },
          ':at': { S: at },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /**
   * Transactional path: the handler's writes and the SUCCEEDED mark in one TransactWriteItems, conditioned
   * on the job not being SUCCEEDED yet. One write per job; a duplicate cannot pass it.
   */
  async completeTransactional(
    binding: Binding,
    result: AttributeValue,
    writes: readonly TransactWriteItem[],
    attempt?: number,
  ): Promise<CompleteResult | { notRunnable: Refusal }> {
    if (writes.length > MAX_JOB_WRITES) throw new PermanentError(`a job may commit at most ${MAX_JOB_WRITES} writes with its completion, not ${writes.length}`);
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: [this.completionItem(binding, result, this.iso(), attempt), ...writes] }));
      return 'completed';
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const verdict = classifyCancellation(error.CancellationReasons, binding);
        if (verdict.kind === 'duplicate') return 'duplicate';
        if (verdict.kind === 'unknown-job') return 'missing';
        if (verdict.kind === 'not-runnable') return { notRunnable: verdict.refusal };
        if (verdict.kind === 'permanent') throw new PermanentError(verdict.reason);
        if (verdict.kind === 'conflict') throw new TransactionConflictError(verdict.reason, { cause: error });
        throw new TransientError(verdict.reason, { cause: error });
      }
      if (error instanceof Error && error.name === 'ValidationException') throw new PermanentError(`the job's writes are invalid: ${error.message}`);
      throw error;
    }
  }

  /**
   * Group commit: several transactional jobs, each its completion and its writes, in ONE transaction (their
   * items must not overlap; at most 100 in all). One round trip completes them all. If the transaction is
   * cancelled, the verdict of each job its own items decide is returned (undefined where they decide
   * nothing: commit that job alone). Other errors are thrown.
   */
  async completeTransactionalGroup(
    jobs: readonly { binding: Binding; result: AttributeValue; writes: readonly TransactWriteItem[]; attempt?: number }[],
  ): Promise<GroupVerdict[] | 'committed'> {
    const at = this.iso();
    const items = jobs.flatMap((job) => [this.completionItem(job.binding, job.result, at, job.attempt), ...job.writes]);
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return 'committed';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      return classifyGroupCancellation(
        error.CancellationReasons,
        jobs.map((job) => ({ size: 1 + job.writes.length, binding: job.binding })),
      );
    }
  }

  /**
   * Transition `release`: a failed attempt that will be retried; the record shows the reason. Leased path
   * (`owner` given): the lease is released so the retry can claim at once. Transactional path: counts the
   * attempt, in the message's generation only.
   */
  async recordRetry(binding: Binding, reason: string, owner?: string, attempt?: number): Promise<boolean> {
    const at = this.iso();
    const entry = { at, generation: binding.generation, reason, ...(attempt !== undefined ? { attempt } : {}) };
    const values: Item = { ':reason': { S: reason }, ':at': { S: at } };
    if (owner !== undefined) {
      // Not after a cancel request: the job stays RUNNING until its lease runs out, then it is stopped.
      const move = moveTo('PENDING', binding, entry);
      return conditionalUpdate(this.client, {
        TableName: this.tableName,
        Key: jobKey(binding.jobId),
        UpdateExpression: `SET ${move.set}, #error = :reason, updatedAt = :at REMOVE leaseOwner, leaseUntil`,
        ConditionExpression: '#status = :running AND leaseOwner = :owner AND attribute_not_exists(cancelRequested)',
        ExpressionAttributeNames: { ...NAMES, ...move.names, '#error': 'error' },
        ExpressionAttributeValues: { ...values, ...move.values, ':running': STATUS_VALUE.RUNNING, ':owner': { S: owner } },
      });
    }
    // The transactional path: still PENDING; the timeline shows the failed attempt.
    const history = appendHistory({ state: 'PENDING', ...entry });
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(binding.jobId),
      UpdateExpression: `SET ${history.set}, #error = :reason, updatedAt = :at ADD attempts :one`,
      ConditionExpression: '#status = :pending AND generation = :gen AND payloadHash = :hash',
      ExpressionAttributeNames: { ...NAMES, ...history.names, '#error': 'error' },
      ExpressionAttributeValues: {
        ...values,
        ...history.values,
        ':pending': STATUS_VALUE.PENDING,
        ':gen': { N: String(binding.generation) },
        ':hash': { S: binding.payloadHash },
        ':one': { N: '1' },
      },
    });
  }

  /**
   * Transition `time out`: the handler of `owner` ran past its time budget. The reason goes on the record
   * and in its timeline, and the lease is kept: the handler may still be running, so the job is claimed
   * again only once the lease has run out.
   */
  async recordTimeout(binding: Binding, reason: string, owner: string, attempt?: number): Promise<boolean> {
    const at = this.iso();
    const history = appendHistory({ state: 'RUNNING', at, generation: binding.generation, reason, ...(attempt !== undefined ? { attempt } : {}) });
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(binding.jobId),
      UpdateExpression: `SET ${history.set}, #error = :reason, updatedAt = :at`,
      ConditionExpression: '#status = :running AND leaseOwner = :owner AND generation = :gen',
      ExpressionAttributeNames: { ...NAMES, ...history.names, '#error': 'error' },
      ExpressionAttributeValues: {
        ...history.values,
        ':reason': { S: reason },
        ':at': { S: at },
        ':running': STATUS_VALUE.RUNNING,
        ':owner': { S: owner },
        ':gen': { N: String(binding.generation) },
      },
    });
  }

  /**
   * Transition `fail`: FAILED with the reason, in the message's generation and payload only (a forged or
   * stale message cannot fail a job), never over a terminal state, and never taking a job from a worker
   * that holds a live lease on it. `countAttempt` adds the attempt that just failed (the transactional path
   * has no claim that counted it).
   */
  async fail(binding: Binding, reason: string, options: { owner?: string; countAttempt?: boolean; attempt?: number } = {}): Promise<boolean> {
    const now = this.now();
    const at = new Date(now).toISOString();
    const move = moveTo('FAILED', binding, { at, generation: binding.generation, reason, ...(options.attempt !== undefined ? { attempt: options.attempt } : {}) });
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(binding.jobId),
      UpdateExpression: `SET ${move.set}, #error = :reason, finishedAt = :at, updatedAt = :at REMOVE leaseOwner, leaseUntil${options.countAttempt ? ' ADD attempts :one' : ''}`,
      ConditionExpression:
        'generation = :gen AND payloadHash = :hash AND #status IN (:pending, :running) AND (attribute_not_exists(leaseOwner) OR leaseOwner = :owner OR leaseUntil < :nowMs)',
      ExpressionAttributeNames: { ...NAMES, ...move.names, '#error': 'error' },
      ExpressionAttributeValues: {
        ...move.values,
        ':pending': STATUS_VALUE.PENDING,
        ':running': STATUS_VALUE.RUNNING,
        ':gen': { N: String(binding.generation) },
        ':hash': { S: binding.payloadHash },
        ':reason': { S: reason },
        ':at': { S: at },
        ':owner': { S: options.owner ?? '-' },
        ':nowMs': { N: String(now) },
        ...(options.countAttempt ? { ':one': { N: '1' } } : {}),
      },
    });
  }

  /**
   * Transition `stop`: a RUNNING job whose caller asked it to stop becomes CANCELLED: its handler threw after
   * the request while `owner` holds the lease, or (no `owner`) its lease expired with no worker left.
   */
  async stop(binding: Binding, reason: string, options: { owner?: string; attempt?: number } = {}): Promise<boolean> {
    const now = this.now();
    const at = new Date(now).toISOString();
    const move = moveTo('CANCELLED', binding, { at, generation: binding.generation, reason, ...(options.attempt !== undefined ? { attempt: options.attempt } : {}) });
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(binding.jobId),
      UpdateExpression: `SET ${move.set}, #error = :reason, finishedAt = :at, updatedAt = :at REMOVE leaseOwner, leaseUntil`,
      ConditionExpression: '#status = :running AND cancelRequested = :yes AND generation = :gen AND (leaseOwner = :owner OR leaseUntil < :nowMs)',
      ExpressionAttributeNames: { ...NAMES, ...move.names, '#error': 'error' },
      ExpressionAttributeValues: {
        ...move.values,
        ':running': STATUS_VALUE.RUNNING,
        ':yes': { BOOL: true },
        ':gen': { N: String(binding.generation) },
        ':owner': { S: options.owner ?? '-' },
        ':nowMs': { N: String(now) },
        ':reason': { S: reason },
        ':at': { S: at },
      },
    });
  }

  /** Whether the job's caller asked it to stop (a leased handler's watcher reads it while the handler runs). */
  async cancelRequested(jobId: string): Promise<boolean> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: jobKey(jobId), ProjectionExpression: 'cancelRequested', ConsistentRead: true }));
    return Item?.cancelRequested?.BOOL === true;
  }
}
