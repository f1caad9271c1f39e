import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** What both sides of the job records share: the client, the table, and the clock that stamps writes. */
export abstract class JobTable {
  constructor(
    protected readonly client: DynamoDBClient,
    readonly tableName: string,
    protected readonly now: () => number = Date.now,
  ) {}

  protected iso(): string {
    return new Date(this.now()).toISOString();
  }
}
