import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { startSqsEmulator } from '../../local/emulators/sqs';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    /** DynamoDB Local's JVM, for tests of how it was started. */
    dynamodbPid: number;
    sqsEndpoint: string;
  }
}

type Emulators = { dynamodb: Awaited<ReturnType<typeof startDynamoDbLocal>>; sqs: Awaited<ReturnType<typeof startSqsEmulator>> };

/**
 * Vitest runs a global setup once per project (the root one and vitest.config.ts's two): they share one
 * pair of emulators, stopped when the last of them is done. Kept on globalThis, since each project may load this
 * module anew.
 */
const SHARED = Symbol.for('jobline.test.emulators');
interface Shared {
  started: Promise<Emulators>;
  users: number;
}
const registry = globalThis as typeof globalThis & { [SHARED]?: Shared };

export default async function setup(project: TestProject) {
  const shared = (registry[SHARED] ??= {
    started: Promise.all([startDynamoDbLocal(), startSqsEmulator()]).then(([dynamodb, sqs]) => ({ dynamodb, sqs })),
    users: 0,
  });
  shared.users++;
  const { dynamodb, sqs } = await shared.started;
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  project.provide('dynamodbPid', dynamodb.process.pid!);
  project.provide('sqsEndpoint', sqs.endpoint);
  return async () => {
    if (--shared.users > 0) return;
    delete registry[SHARED];
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  };
}
