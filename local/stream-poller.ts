/**
 * Lambda's DynamoDB stream event source, locally: one poller per event source mapping on a table's stream,
 * reading it with the DynamoDB Streams API (DynamoDB Local serves it on its own port). Per shard, in order:
 * records that match none of the FilterCriteria patterns are dropped without an invocation (as Lambda
 * does; they count as processed); the others go to the function in batches of up to BatchSize, as
 * Lambda's event (`{"Records": [...]}`, eventSource `aws:dynamodb`). With ReportBatchItemFailures, the batch
 * is retried from the first record the function named (the ones before it are done); an invocation that
 * fails is retried, split in halves first with BisectBatchOnFunctionError; after MaximumRetryAttempts, or
 * once the records are older than MaximumRecordAgeInSeconds, the batch's description (shard, sequence
 * numbers) goes to the on-failure queue and the shard moves on. New shards are picked up as DynamoDB adds
 * them, a child after its parent.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvokeResult } from './lambda/function-pool';
import { settleWithin } from './settle-within';
import { matchesPatterns, type FilterPattern } from './lambda/sqs-event';

export interface StreamPollerConfig {
  streamArn: string;
  region: string;
  functionArn: string;
  batchSize: number;
  batchingWindowSeconds: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  reportBatchItemFailures: boolean;
  bisectBatchOnError: boolean;
  maximumRetryAttempts: number;
  maximumRecordAgeSeconds: number;
  filters: readonly FilterPattern[];
  /** Where a batch that ran out of retries is described (Lambda's on-failure destination). */
  onFailureQueueUrl?: string;
}

export interface StreamPollerStats {
  invocations: number;
  records: number;
  filteredRecords: number;
  failedInvocations: number;
  retries: number;
  discardedBatches: number;
}

/** A stream record as Lambda gives it to a function. */
export type LambdaStreamRecord = Record<string, unknown> & { dynamodb: Record<string, unknown> & { SequenceNumber: string } };

const IDLE_POLL_MS = 250;
const SHARD_DISCOVERY_MS = 2000;

/** The SDK's record as Lambda's event shows it: dates in epoch seconds, binary values in base64. */
export function toLambdaRecord(record: StreamRecord, streamArn: string, region: string): LambdaStreamRecord {
  const json = JSON.parse(JSON.stringify(record.dynamodb ?? {}, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value))) as Record<
    string,
    unknown
  >;
  const created = record.dynamodb?.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    dynamodb: { ...json, ...(created ? { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) } : {}), SequenceNumber: record.dynamodb?.SequenceNumber ?? '' },
    eventSourceARN: streamArn,
  };
}

export class StreamPoller {
  readonly stats: StreamPollerStats = { invocations: 0, records: 0, filteredRecords: 0, failedInvocations: 0, retries: 0, discardedBatches: 0 };
  /** Told of every record read, and whether it passed the filters (tests and debugging). */
  onRecord?: (record: LambdaStreamRecord, passed: boolean) => void;
  private readonly abort = new AbortController();
  private readonly shards = new Map<string, { parent?: string; done: boolean; loop?: Promise<void> }>();
  private loop?: Promise<void>;
  private readonly streams: DynamoDBStreamsClient;
  /** Shards seen at start are read from `startingPosition`; shards created later from their start. */
  private firstDiscovery = true;

  constructor(
    endpoint: string,
    credentials: { accessKeyId: string; secretAccessKey: string },
    private readonly sqs: SQSClient,
    private readonly config: StreamPollerConfig,
    private readonly invoke: (event: unknown) => Promise<InvokeResult>,
    private readonly log: (message: string) => void = () => {},
  ) {
    this.streams = new DynamoDBStreamsClient({ region: config.region, endpoint, credentials });
  }

  start(): void {
    this.loop ??= this.discover();
  }

  /**
   * Stops reading; waits for the batch in flight on each shard up to `graceMs` (an invocation can last its
   * function's timeout; the rest fail when their functions stop).
   */
  async stop(graceMs = 2000): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
    const shardLoops = [...this.shards.values()].flatMap((s) => (s.loop ? [s.loop] : []));
    await settleWithin(shardLoops, graceMs);
    this.streams.destroy();
  }

  private get stopped() {
    return this.abort.signal.aborted;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async discover(): Promise<void> {
    while (!this.stopped) {
      try {
        const shards: Shard[] = [];
        let start: string | undefined;
        do {
          const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.config.streamArn, ExclusiveStartShardId: start }), {
            abortSignal: this.abort.signal,
          });
          shards.push(...(StreamDescription?.Shards ?? []));
          start = StreamDescription?.LastEvaluatedShardId;
        } while (start);
        const position = this.firstDiscovery ? this.config.startingPosition : 'TRIM_HORIZON';
        for (const shard of shards) {
          if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
          this.shards.set(shard.ShardId, { ...(shard.ParentShardId ? { parent: shard.ParentShardId } : {}), done: false });
        }
        for (const [id, state] of this.shards) {
          const parent = state.parent ? this.shards.get(state.parent) : undefined;
          if (state.loop || (parent && !parent.done)) continue;
          state.loop = this.readShard(id, position).finally(() => (state.done = true));
        }
        this.firstDiscovery = false;
      } catch (error) {
        if (this.stopped) return;
        this.log(`DescribeStream failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      await this.sleep(SHARD_DISCOVERY_MS);
    }
  }

  private async readShard(shardId: string, position: 'TRIM_HORIZON' | 'LATEST'): Promise<void> {
    let iterator: string | undefined;
    try {
      ({ ShardIterator: iterator } = await this.streams.send(new GetShardIteratorCommand({ StreamArn: this.config.streamArn, ShardId: shardId, ShardIteratorType: position })));
    } catch (error) {
      this.log(`shard ${shardId}: GetShardIterator failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const buffer: LambdaStreamRecord[] = [];
    let windowStarted: number | undefined;
    while (!this.stopped) {
      if (iterator && buffer.length < this.config.batchSize) {
        try {
          const { Records, NextShardIterator } = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }), { abortSignal: this.abort.signal });
          iterator = NextShardIterator;
          for (const record of Records ?? []) {
            const lambdaRecord = toLambdaRecord(record, this.config.streamArn, this.config.region);
            const passed = matchesPatterns(lambdaRecord, this.config.filters);
            if (passed) buffer.push(lambdaRecord);
            else this.stats.filteredRecords++;
            this.onRecord?.(lambdaRecord, passed);
          }
        } catch (error) {
          if (this.stopped) return;
          this.log(`shard ${shardId}: GetRecords failed: ${error instanceof Error ? error.message : String(error)}`);
          await this.sleep(1000);
          continue;
        }
      }
      if (buffer.length === 0) {
        if (!iterator) return; // a closed shard, read to its end
        await this.sleep(IDLE_POLL_MS);
        continue;
      }
      // A batching window gathers records until the batch is full or the window closes.
      if (this.config.batchingWindowSeconds > 0 && buffer.length < this.config.batchSize && iterator) {
        windowStarted ??= Date.now();
        if (Date.now() - windowStarted < this.config.batchingWindowSeconds * 1000) {
          await this.sleep(IDLE_POLL_MS);
          continue;
        }
      }
      windowStarted = undefined;
      const batch = buffer.splice(0, this.config.batchSize);
      await this.process(batch, shardId, 0);
    }
  }

  /** Runs one batch to its end: done, or given up (described on the on-failure queue). */
  private async process(batch: LambdaStreamRecord[], shardId: string, retriesBefore: number): Promise<void> {
    let retries = retriesBefore;
    let pending = batch;
    while (pending.length > 0 && !this.stopped) {
      this.stats.invocations++;
      this.stats.records += pending.length;
      const outcome = await this.invoke({ Records: pending });
      // Stopped meanwhile: an invocation cut short by the stop is neither retried nor given up on.
      if (this.stopped) return;
      let next: LambdaStreamRecord[];
      if (outcome.ok) {
        next = this.retryFrom(outcome.result, pending);
        if (next.length === 0) return;
      } else {
        this.stats.failedInvocations++;
        this.log(`invocation failed (${outcome.errorType}: ${outcome.errorMessage}); ${pending.length} records will be retried`);
        if (this.config.bisectBatchOnError && pending.length > 1) {
          // Each half carries the retries so far (Lambda does not count a split as a retry).
          const half = Math.ceil(pending.length / 2);
          await this.process(pending.slice(0, half), shardId, retries + 1);
          await this.process(pending.slice(half), shardId, retries + 1);
          return;
        }
        next = pending;
      }
      retries++;
      this.stats.retries++;
      const oldest = Number(next[0]!.dynamodb.ApproximateCreationDateTime ?? Date.now() / 1000);
      const tooOld = this.config.maximumRecordAgeSeconds !== -1 && Date.now() / 1000 - oldest > this.config.maximumRecordAgeSeconds;
      if ((this.config.maximumRetryAttempts !== -1 && retries > this.config.maximumRetryAttempts) || tooOld) {
        await this.discard(next, shardId, retries, tooOld ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted', outcome);
        return;
      }
      pending = next;
      await this.sleep(Math.min(5000, 100 * 2 ** Math.min(retries, 6)));
    }
  }

  /**
   * The records to retry after a successful invocation: from the first one the partial response names
   * (Lambda checkpoints before the lowest failed sequence number); an identifier that is empty or not in
   * the batch fails the whole batch, as in Lambda.
   */
  private retryFrom(result: unknown, batch: LambdaStreamRecord[]): LambdaStreamRecord[] {
    if (!this.config.reportBatchItemFailures || result === null || typeof result !== 'object') return [];
    const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
    if (!Array.isArray(failures) || failures.length === 0) return [];
    let first = batch.length;
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown })?.itemIdentifier;
      const index = batch.findIndex((r) => r.dynamodb.SequenceNumber === id);
      if (typeof id !== 'string' || index === -1) return batch;
      first = Math.min(first, index);
    }
    return batch.slice(first);
  }

  private async discard(batch: LambdaStreamRecord[], shardId: string, attempts: number, condition: string, outcome: InvokeResult): Promise<void> {
    this.stats.discardedBatches++;
    this.log(`shard ${shardId}: ${batch.length} records given up after ${attempts} attempts (${condition})`);
    if (!this.config.onFailureQueueUrl) return;
    const arrival = (r: LambdaStreamRecord) => new Date(Number(r.dynamodb.ApproximateCreationDateTime ?? 0) * 1000).toISOString();
    const body = {
      requestContext: { requestId: crypto.randomUUID(), functionArn: this.config.functionArn, condition, approximateInvokeCount: attempts },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: outcome.ok ? '' : outcome.errorType },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: batch[0]!.dynamodb.SequenceNumber,
        endSequenceNumber: batch[batch.length - 1]!.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(batch[0]!),
        approximateArrivalOfLastRecord: arrival(batch[batch.length - 1]!),
        batchSize: batch.length,
        streamArn: this.config.streamArn,
      },
    };
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.config.onFailureQueueUrl, MessageBody: JSON.stringify(body) })).catch((error: unknown) => {
      this.log(`could not describe the discarded batch on the on-failure queue: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}
