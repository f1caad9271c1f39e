/**
 * What the API (and JobClient) do to job records: record a submitted job (the conditional put that makes an
 * Idempotency-Key work, and the job's outbox: its message can be sent again from it), read a job, and retry
 * a FAILED one. The workers' side is JobStore; the sweeper's is SweepStore.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { JobTable } from './job-table';
import { JOB_NAMES as NAMES, STATUS_VALUE } from './conditional-update';
import { fromItem, isExpired, jobKey, sweepShard, SWEEP_KEYS, toItem, type JobRecord } from './job-record';

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
   * Transition `retry`: a FAILED job of `owner` becomes PENDING in the next generation, so that its new
   * message runs and every message of the earlier generation is dropped. The last error stays until the
   * next attempt replaces it. Returns the job as it is now, or undefined when the condition failed (then
   * `current` tells why: not FAILED, or not this caller's).
   */
  async retry(jobId: string, owner: string, sweepAfterMs: number): Promise<{ retried: JobRecord } | { retried?: undefined; current?: JobRecord }> {
    const now = this.now();
    const at = new Date(now).toISOString();
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: `SET #status = :pending, updatedAt = :at, #sweepAt = :sweepAt, #sweepShard = :shard, sweeps = :zero ADD generation :one REMOVE finishedAt, leaseOwner, leaseUntil`,
          ConditionExpression: '#status = :failed AND #owner = :owner AND expiresAt > :nowSeconds',
          ExpressionAttributeNames: { ...NAMES, '#owner': 'owner', '#sweepAt': SWEEP_KEYS.at, '#sweepShard': SWEEP_KEYS.shard },
          ExpressionAttributeValues: {
            ':pending': STATUS_VALUE.PENDING,
            ':failed': STATUS_VALUE.FAILED,
            ':owner': { S: owner },
            ':at': { S: at },
            ':sweepAt': { N: String(now + sweepAfterMs) },
            ':shard': { S: sweepShard(jobId) },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ':nowSeconds': { N: String(Math.floor(now / 1000)) },
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { retried: fromItem(Attributes!) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = error.Item ? fromItem(error.Item) : undefined;
      return { current: current && current.owner === owner && !isExpired(current, now) ? current : undefined };
    }
  }
}
