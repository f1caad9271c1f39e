/**
 * Creates tables, queues and buckets through the AWS SDK, from CloudFormation-shaped properties. The local
 * runtime feeds it the resources of the synthesized template; tests feed it the same shapes.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type StreamViewType,
  type TableDescription,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
// Types only (erased): the S3 SDK itself is imported by ensureBucket when it is called.
import type { BucketLocationConstraint } from '@aws-sdk/client-s3';

export interface TableSpec {
  TableName: string;
  KeySchema: KeySchemaElement[];
  /** Every attribute of the table's and its indexes' key schemas (CloudFormation requires exactly those). */
  AttributeDefinitions: AttributeDefinition[];
  TimeToLiveAttribute?: string;
  /** Pay-per-request indexes: IndexName, KeySchema and Projection, without ProvisionedThroughput. */
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[];
  /** The table's stream (NEW_AND_OLD_IMAGES...), as StreamSpecification declares it; none: no stream. */
  StreamViewType?: StreamViewType;
}

/**
 * Creates the table (PAY_PER_REQUEST) with its global secondary indexes; returns when the table and every
 * index are ACTIVE. A table that exists already (an endpoint shared between runs) without an index the
 * template declares is an error that says so: DynamoDB Local builds an index added to an existing table
 * in the background and, seen here on a busy machine, may not finish for minutes, so it is not attempted.
 */
export async function ensureTable(client: DynamoDBClient, spec: TableSpec): Promise<{ streamArn?: string }> {
  const indexes = spec.GlobalSecondaryIndexes ?? [];
  const defined = new Set(spec.AttributeDefinitions.map((a) => a.AttributeName));
  for (const index of indexes) {
    const missing = (index.KeySchema ?? []).map((k) => k.AttributeName!).filter((name) => !defined.has(name));
    if (missing.length > 0) throw new Error(`table ${spec.TableName}: index ${index.IndexName} has key attributes without an AttributeDefinition: ${missing.join(', ')}`);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: spec.TableName,
        KeySchema: spec.KeySchema,
        AttributeDefinitions: spec.AttributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
        ...(spec.StreamViewType ? { StreamSpecification: { StreamEnabled: true, StreamViewType: spec.StreamViewType } } : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  let table = await untilActive(client, spec.TableName);
  // A table kept from an earlier run (--persist, a shared endpoint) without the stream the template now declares.
  if (spec.StreamViewType && table.StreamSpecification?.StreamViewType !== spec.StreamViewType) {
    if (table.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: spec.TableName, StreamSpecification: { StreamEnabled: false } }));
      table = await untilActive(client, spec.TableName);
    }
    await client.send(new UpdateTableCommand({ TableName: spec.TableName, StreamSpecification: { StreamEnabled: true, StreamViewType: spec.StreamViewType } }));
    table = await untilActive(client, spec.TableName);
  }
  const lacking = indexes.filter((index) => !table.GlobalSecondaryIndexes?.some((existing) => existing.IndexName === index.IndexName)).map((i) => i.IndexName);
  if (lacking.length > 0) {
    throw new Error(`table ${spec.TableName} exists without the index ${lacking.join(', ')} the template declares: delete the table, or run with another name prefix`);
  }
  if (spec.TimeToLiveAttribute) {
    // A table that exists already (--persist, a shared endpoint) may have it: enabling it again is a ValidationException.
    const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: spec.TableName }));
    const enabled = (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') && ttl.AttributeName === spec.TimeToLiveAttribute;
    if (!enabled) {
      await client.send(new UpdateTimeToLiveCommand({ TableName: spec.TableName, TimeToLiveSpecification: { Enabled: true, AttributeName: spec.TimeToLiveAttribute } }));
    }
  }
  return table.LatestStreamArn ? { streamArn: table.LatestStreamArn } : {};
}

/** Waits until the table and each of its indexes are ACTIVE. */
async function untilActive(client: DynamoDBClient, tableName: string, timeoutMs = 300_000): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')) return Table;
    if (Date.now() > deadline)
      throw new Error(
        `table ${tableName} is not ACTIVE after ${timeoutMs / 1000} s (${Table?.TableStatus}; indexes ${(Table?.GlobalSecondaryIndexes ?? []).map((i) => `${i.IndexName}: ${i.IndexStatus}`).join(', ')})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface QueueSpec {
  QueueName: string;
  /** SQS attributes as CreateQueue takes them (strings), e.g. VisibilityTimeout, RedrivePolicy. */
  Attributes: Record<string, string>;
}

export interface CreatedQueue {
  url: string;
  arn: string;
  name: string;
}

export async function ensureQueue(client: SQSClient, spec: QueueSpec): Promise<CreatedQueue> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: spec.QueueName, Attributes: spec.Attributes }));
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn!, name: spec.QueueName };
}

export interface BucketSpec {
  Bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Creates the bucket on an S3-compatible endpoint (addressed path-style) unless the caller owns it already.
 * Only for an external endpoint: the runtime creates the embedded emulator's buckets directly. The S3 SDK is
 * loaded here, when needed, so that the local runtime does not depend on @aws-sdk/client-s3 otherwise.
 */
export async function ensureBucket(endpoint: string, spec: BucketSpec): Promise<void> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ region: spec.region, endpoint, credentials: spec.credentials, forcePathStyle: true });
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: spec.Bucket,
        ...(spec.region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: spec.region as BucketLocationConstraint } } : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'BucketAlreadyOwnedByYou')) throw error;
  } finally {
    client.destroy();
  }
}
