/**
 * What the API does to job records: record a submitted job (the conditional put that makes an
 * Idempotency-Key work), note that its message is on the queue (or that it could not be sent), and read a
 * job for GET /jobs/{id}. The workers' side is JobStore.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { JobTable } from './job-table';
import { conditionalUpdate, JOB_NAMES as NAMES } from './conditional-update';
import { fromItem, jobKey, toItem, type JobRecord } from './job-record';

export class SubmissionStore extends JobTable {
  /** Records a new job; when its id exists already, returns the existing record instead. */
  async create(job: JobRecord): Promise<{ created: true } | { created: false; existing: JobRecord }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(job),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) return { created: false, existing: fromItem(error.Item) };
      throw error;
    }
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  async markEnqueued(jobId: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression: 'SET enqueued = :true',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
  }

  /** A submit whose message could not be sent: FAILED with the reason, unless a retry enqueues it. */
  async markEnqueueFailed(jobId: string, reason: string): Promise<void> {
    await conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(jobId),
      UpdateExpression: 'SET #status = :failed, #error = :reason, updatedAt = :now, finishedAt = :now',
      ConditionExpression: '#status = :pending AND enqueued = :false',
      ExpressionAttributeNames: { ...NAMES, '#error': 'error' },
      ExpressionAttributeValues: { ':failed': { S: 'FAILED' }, ':pending': { S: 'PENDING' }, ':false': { BOOL: false }, ':reason': { S: reason }, ':now': { S: this.iso() } },
    });
  }

  /** Brings back a job whose message was never sent, so that a same-key retry enqueues it. */
  async reopenForEnqueue(jobId: string): Promise<boolean> {
    return conditionalUpdate(this.client, {
      TableName: this.tableName,
      Key: jobKey(jobId),
      UpdateExpression: 'SET #status = :pending, updatedAt = :now REMOVE #error, finishedAt',
      ConditionExpression: 'enqueued = :false AND #status IN (:pending, :failed)',
      ExpressionAttributeNames: { ...NAMES, '#error': 'error' },
      ExpressionAttributeValues: { ':pending': { S: 'PENDING' }, ':failed': { S: 'FAILED' }, ':false': { BOOL: false }, ':now': { S: this.iso() } },
    });
  }
}
