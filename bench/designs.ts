/**
 * The two designs behind one interface, so the throughput loop treats them alike. `prepare` does
 * everything a run needs before the clock starts (tables, and for jobline the job records that the API
 * would have created); `process` is one Lambda invocation on one SQS batch; `verify` is the correctness
 * check. Each design keeps one counted client for all its runs, like a warm Lambda execution environment.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { ensureTable } from '../local/provision';
import type { JobType } from '../shared/jobs/define';
import { transfer } from '../app/jobs/transfer/handler';
import { webhook } from '../app/jobs/webhook/handler';
import { payloadHash } from '../shared/jobs/payload-hash';
import { createLogger } from '../shared/log';
import { JobStore } from '../shared/store/job-store';
import { LIST_INDEX, SWEEP_INDEX } from '../shared/store/job-record';
import { jobTableSchema } from '../shared/store/table-schema';
import { SubmissionStore } from '../shared/store/submission-store';
import { mapLimit } from '../shared/worker/map-limit';
import type { QueueActions } from '../shared/worker/deps';
import { processBatch } from '../shared/worker/process-batch';
import { benchDynamoClient } from './clients';
import { createPowertoolsWorker } from './powertools-worker';
import type { Receiver } from './receiver';
import { countRequests, type RequestCounter } from './round-trip-counter';
import { checkTransfers, checkWebhooks, type Check } from './verify';
import type { Kind, Workload } from './workload';

export interface PreparedRun {
  process(batch: SQSRecord[]): Promise<SQSBatchResponse>;
  verify(): Promise<Check>;
  cleanup(): Promise<void>;
}

export interface Design {
  name: string;
  counter: RequestCounter;
  /** Calls that would have reached SQS (backoff, DLQ): none are expected on the happy path. */
  queueCalls: number;
  prepare(workload: Workload): Promise<PreparedRun>;
}

export interface Shared {
  /** An uncounted client for setup and checks. */
  admin: DynamoDBClient;
  receiver: Receiver;
}

/** Worker timeout of both job types (30 s), as an invocation sees it. */
const INVOCATION_MS = 30_000;
let tableSeq = 0;

/**
 * The job type a workload runs, without its limits: the peer (Powertools) has none, so the engines are
 * compared on the same work (bench/limits.ts measures the limiter on its own). The webhook example declares
 * a per-host rate: kept, it would hold every design's webhook round to 100 jobs a second, and without a
 * limiter in the bench's worker it retried every record (the full bench of 2026-12-06 caught it: receiver
 * never called).
 */
export function jobTypeOf(kind: Kind): JobType {
  const { limits: _limits, ...type } = kind === 'transfer' ? transfer : webhook;
  return type;
}

async function createTable(admin: DynamoDBClient, prefix: string, key: string, ttl: string, options: { jobIndexes?: readonly string[] } = {}): Promise<string> {
  const name = `bench-${prefix}-${++tableSeq}-${randomUUID().slice(0, 6)}`;
  // jobline's table carries its sweep and list indexes, as infra/jobs-table.ts declares them: its writes pay for them.
  if (options.jobIndexes && options.jobIndexes.length > 0) {
    const schema = jobTableSchema(name);
    const indexes = (schema.GlobalSecondaryIndexes ?? []).filter((index) => options.jobIndexes!.includes(index.IndexName!));
    // DynamoDB refuses an attribute definition that no key uses.
    const keyNames = new Set([...schema.KeySchema, ...indexes.flatMap((index) => index.KeySchema ?? [])].map((k) => k.AttributeName));
    await ensureTable(admin, { ...schema, GlobalSecondaryIndexes: indexes, AttributeDefinitions: schema.AttributeDefinitions.filter((a) => keyNames.has(a.AttributeName)) });
    return name;
  }
  await ensureTable(admin, {
    TableName: name,
    KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
    TimeToLiveAttribute: ttl,
  });
  return name;
}

const dropTables = (admin: DynamoDBClient, names: string[]) => Promise.all(names.map((TableName) => admin.send(new DeleteTableCommand({ TableName })))).then(() => undefined);

function verifier(shared: Shared, workload: Workload, dataTable: string): () => Promise<Check> {
  return async () => (workload.kind === 'transfer' ? checkTransfers(shared.admin, dataTable, workload.jobs) : checkWebhooks(shared.receiver.take(), workload.jobs));
}

/** A modified jobline, run under another name by bench/what-if.ts (what DynamoDB Local's time goes to). */
export interface Variant {
  name: string;
  /** The job store to run (default: jobline's). */
  store?: (client: DynamoDBClient, table: string) => JobStore;
  /** The job table's indexes to create (`SWEEP_INDEX`, `LIST_INDEX`); [] for none. @default both */
  indexes?: readonly string[];
}

export function joblineDesign(shared: Shared, variant?: Variant): Design {
  const client = benchDynamoClient();
  const design: Design = {
    name: variant?.name ?? 'jobline',
    counter: countRequests(client),
    queueCalls: 0,
    async prepare(workload) {
      const type = jobTypeOf(workload.kind);
      const table = await createTable(shared.admin, 'jobs', 'pk', 'expiresAt', { jobIndexes: variant?.indexes ?? [SWEEP_INDEX, LIST_INDEX] });
      // The job records as POST /jobs/{type} leaves them: PENDING, message on the queue.
      const setup = new SubmissionStore(shared.admin, table);
      const now = Date.now();
      const at = new Date(now).toISOString();
      await mapLimit(workload.jobs, 16, (job) =>
        setup.create({
          jobId: job.jobId,
          type: type.name,
          status: 'PENDING',
          generation: 1,
          attempts: 0,
          payloadHash: payloadHash(job.payload),
          payloadBytes: Buffer.byteLength(job.body),
          payload: JSON.stringify(job.payload),
          owner: 'bench',
          createdAt: at,
          updatedAt: at,
          sweepAt: now + 300_000,
          expiresAt: Math.floor(now / 1000) + 86_400,
          history: [],
        }),
      );
      const queue: QueueActions = {
        // In-process stand-ins: nothing to wait for, so they answer with settled promises.
        sendToDeadLetterQueue: (letters) => {
          if (letters.length > 0) design.queueCalls++;
          return Promise.resolve(new Set(letters.map((l) => l.record.messageId)));
        },
        delayRetries: (delays) => {
          if (delays.length > 0) design.queueCalls++;
          return Promise.resolve();
        },
        // The benched job types run without limits (jobTypeOf): nothing is ever deferred.
        sendDeferredCopies: () => Promise.resolve(new Set<string>()),
      };
      const deps = {
        jobType: type,
        store: variant?.store ? variant.store(client, table) : new JobStore(client, table),
        queue,
        maxReceiveCount: type.queue.maxReceiveCount,
        concurrency: 10,
        log: createLogger({ component: 'bench-worker' }, 'error'),
      };
      return {
        process: (batch) => {
          const end = Date.now() + INVOCATION_MS;
          return processBatch(batch, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) }, deps);
        },
        verify: verifier(shared, workload, table),
        cleanup: () => dropTables(shared.admin, [table]),
      };
    },
  };
  return design;
}

export function powertoolsDesign(shared: Shared): Design {
  const client = benchDynamoClient();
  return {
    name: 'powertools',
    counter: countRequests(client),
    queueCalls: 0,
    async prepare(workload) {
      const idempotencyTable = await createTable(shared.admin, 'idempotency', 'id', 'expiration');
      const dataTable = await createTable(shared.admin, 'data', 'pk', 'expiresAt');
      const handler = createPowertoolsWorker({ jobType: jobTypeOf(workload.kind), client, idempotencyTable, dataTable });
      return {
        process: (batch) => handler({ Records: batch }, lambdaContext()),
        verify: verifier(shared, workload, dataTable),
        cleanup: () => dropTables(shared.admin, [idempotencyTable, dataTable]),
      };
    },
  };
}

function lambdaContext(): Context {
  const end = Date.now() + INVOCATION_MS;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'powertools-bench-worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:powertools-bench-worker',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/powertools-bench-worker',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
