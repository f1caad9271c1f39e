/**
 * The job table's key schema and indexes in CreateTable's shape, for what creates the table without CDK
 * (tests, benchmarks). infra/jobs-table.ts declares the same with CDK from the same names.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { LIST_INDEX, LIST_KEYS, SWEEP_INDEX, SWEEP_KEYS } from './job-record';

type Required<K extends keyof CreateTableCommandInput> = { [P in K]-?: NonNullable<CreateTableCommandInput[P]> };

export function jobTableSchema(tableName: string): CreateTableCommandInput & Required<'TableName' | 'KeySchema' | 'AttributeDefinitions'> & { TimeToLiveAttribute: string } {
  return {
    TableName: tableName,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: SWEEP_KEYS.shard, AttributeType: 'S' },
      { AttributeName: SWEEP_KEYS.at, AttributeType: 'N' },
      { AttributeName: LIST_KEYS.partition, AttributeType: 'S' },
      { AttributeName: LIST_KEYS.sort, AttributeType: 'S' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: SWEEP_INDEX,
        KeySchema: [
          { AttributeName: SWEEP_KEYS.shard, KeyType: 'HASH' },
          { AttributeName: SWEEP_KEYS.at, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: LIST_INDEX,
        KeySchema: [
          { AttributeName: LIST_KEYS.partition, KeyType: 'HASH' },
          { AttributeName: LIST_KEYS.sort, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
    BillingMode: 'PAY_PER_REQUEST',
    TimeToLiveAttribute: 'expiresAt',
  };
}
