/**
 * For a bench part that can run by itself (`npx tsx bench/<part>.ts`): true when that module is the one
 * node was started with, and a DynamoDB Local of its own to print its rows against.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Row } from './table';

export const isMainModule = (moduleUrl: string) => process.argv[1] !== undefined && moduleUrl === pathToFileURL(path.resolve(process.argv[1])).href;

/** Starts DynamoDB Local, prints the rows `measure` returns as the bench's table, stops it. */
export async function printRowsAlone(measure: (dynamodbEndpoint: string) => Promise<Row[]>): Promise<void> {
  process.env.JOBLINE_LOG_LEVEL ??= 'error';
  // As bench/run.ts: the SDK wants a region and credentials even for DynamoDB Local.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const { startDynamoDbLocal } = await import('../local/emulators/dynamodb-local');
  const { renderTable } = await import('./table');
  const dynamodb = await startDynamoDbLocal();
  try {
    process.stdout.write(`${renderTable(await measure(dynamodb.endpoint))}\n`);
  } finally {
    await dynamodb.stop();
  }
}
