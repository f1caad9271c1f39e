/** The jobs table: job records (which are the idempotency records) and the example jobs' own items. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LIST_INDEX, LIST_KEYS, SWEEP_INDEX, SWEEP_KEYS } from '../shared/store/job-record';

export const TTL_ATTRIBUTE = 'expiresAt';

export class JobsTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: { removalPolicy?: RemovalPolicy } = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Every change of a job record, for the notifier (infra/job-notifier.ts): terminal transitions become events and callbacks.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // Every job record carries a sweep time; the sweeper walks this index in time order from a cursor
    // (a Query per shard, never a Scan), so each entry is read once when due and the workers never write
    // it. Keys only: the sweeper reads the records it looks at.
    this.table.addGlobalSecondaryIndex({
      indexName: SWEEP_INDEX,
      partitionKey: { name: SWEEP_KEYS.shard, type: AttributeType.STRING },
      sortKey: { name: SWEEP_KEYS.at, type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // GET /jobs?type=&state=: every job by type, state (and shard), then caller and creation time. Every
    // state write moves its entry (one index write); a page is a Query per shard and one BatchGetItem.
    this.table.addGlobalSecondaryIndex({
      indexName: LIST_INDEX,
      partitionKey: { name: LIST_KEYS.partition, type: AttributeType.STRING },
      sortKey: { name: LIST_KEYS.sort, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }
}
