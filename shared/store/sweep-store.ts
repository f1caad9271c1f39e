/**
 * What the sweeper does to job records: find the jobs that are due (a Query per shard of the sparse sweep
 * index, which holds only jobs that are not terminal), and the transitions `resend` and `give up`. Every
 * write is conditional on the state the sweeper read, so a job that moved on in between is left alone.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { conditionalUpdate, JOB_NAMES as NAMES } from './conditional-update';
import { jobKey, SWEEP_INDEX, SWEEP_KEYS, SWEEP_SHARDS, type JobRecord } from './job-record';
import { JobStore } from './job-store';

export class SweepStore extends JobStore {
  /** Ids of the jobs whose sweep time has come, oldest first, at most `limit` per shard. */
  async dueJobIds(nowMs: number, limit = 100): Promise<string[]> {
    const shards = Array.from({ length: SWEEP_SHARDS }, (_, i) => `sweep#${i}`);
    const pages = await Promise.all(
      shards.map(async (shard) => {
        const { Items } = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: SWEEP_INDEX,
            KeyConditionExpression: '#shard = :shard AND #at <= :now',
            ExpressionAttributeNames: { '#shard': SWEEP_KEYS.shard, '#at': SWEEP_KEYS.at },
            ExpressionAttributeValues: { ':shard': { S: shard }, ':now': { N: String(nowMs) } },
            Limit: limit,
          }),
        );
        return (Items ?? []).map((item) => item.pk!.S!.slice('JOB#'.length));
      }),
    );
    return pages.flat();
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
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(job.jobId),
      UpdateExpression: `SET #status = :failed, #error = :reason, finishedAt = :at, updatedAt = :at REMOVE leaseOwner, leaseUntil, ${SWEEP_KEYS.shard}, ${SWEEP_KEYS.at}`,
      ConditionExpression,
      ExpressionAttributeNames: { ...NAMES, '#error': 'error' },
      ExpressionAttributeValues: { ...values, ':failed': { S: 'FAILED' }, ':reason': { S: reason }, ':at': { S: at } },
    });
  }
}
