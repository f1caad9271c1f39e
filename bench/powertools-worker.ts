/**
 * The peer: the idempotent SQS consumer that Powertools for AWS Lambda documents, in its default
 * configuration. `BatchProcessor` + `processPartialResponse` (records of a batch in parallel) around a
 * record handler made idempotent by `makeIdempotent` + `DynamoDBPersistenceLayer`, keyed on the job id in
 * the message body. Per new record that is a conditional put (INPROGRESS), the effect, and an update
 * (COMPLETED) in its own idempotency table.
 *
 * The record handler does the same work as jobline's worker: it decodes the same message, validates it
 * with the job type's schema and runs the job type's own handler. For the transfer it commits the
 * handler's two balance updates in one TransactWriteItems; the webhook handler makes its HTTP POST itself.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { TransactWriteItemsCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parse } from 'zod/mini';
import type { JobContext, JobType } from '../shared/jobs/define';
import { decodeMessage } from '../shared/jobs/message';
import { createLogger } from '../shared/log';

export interface PowertoolsWorkerOptions {
  jobType: JobType;
  client: DynamoDBClient;
  /** Powertools' own table: partition key `id`, TTL `expiration`. */
  idempotencyTable: string;
  /** Where the job's own items live (the transfer's accounts). */
  dataTable: string;
}

export function createPowertoolsWorker(options: PowertoolsWorkerOptions): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const { jobType, client } = options;
  const processor = new BatchProcessor(EventType.SQS);
  const persistenceStore = new DynamoDBPersistenceLayer({ tableName: options.idempotencyTable, awsSdkV3Client: client });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'powertools_json(body).jobId' });
  const log = createLogger({ component: 'powertools-worker', type: jobType.name }, 'error');

  const recordHandler = async (record: SQSRecord, context: Context): Promise<unknown> => {
    const message = decodeMessage(record.body);
    // zod/mini's functional parse takes any zod schema, classic or mini, as jobline's worker does.
    const payload = parse(jobType.schema, message.payload);
    const remaining = context.getRemainingTimeInMillis();
    const ctx: JobContext = {
      jobId: message.jobId,
      type: jobType.name,
      attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
      deadline: Date.now() + remaining,
      signal: AbortSignal.timeout(remaining),
      tableName: options.dataTable,
      log,
    };
    if (jobType.kind === 'leased') return jobType.handler(payload, ctx);
    const { result, writes } = await jobType.handler(payload, ctx);
    await client.send(new TransactWriteItemsCommand({ TransactItems: writes }));
    return result;
  };

  const processIdempotently = makeIdempotent(recordHandler, { persistenceStore, config });
  return (event, context) => processPartialResponse(event, processIdempotently, processor, { context });
}
