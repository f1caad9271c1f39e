/**
 * Creates tables and queues through the AWS SDK, from CloudFormation-shaped properties. The local runtime
 * feeds it the resources of the synthesized template; tests feed it the same shapes.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface TableSpec {
  TableName: string;
  KeySchema: KeySchemaElement[];
  AttributeDefinitions: AttributeDefinition[];
  TimeToLiveAttribute?: string;
}

export async function ensureTable(client: DynamoDBClient, spec: TableSpec): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({ TableName: spec.TableName, KeySchema: spec.KeySchema, AttributeDefinitions: spec.AttributeDefinitions, BillingMode: 'PAY_PER_REQUEST' }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: spec.TableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (spec.TimeToLiveAttribute) {
    await client.send(new UpdateTimeToLiveCommand({ TableName: spec.TableName, TimeToLiveSpecification: { Enabled: true, AttributeName: spec.TimeToLiveAttribute } }));
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
