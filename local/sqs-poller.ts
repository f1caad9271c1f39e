/**
 * Lambda's SQS event source, locally: one poller per event source mapping of the template, with its
 * batch size, batching window and maximum concurrency. Each batch invokes the function; with
 * ReportBatchItemFailures only the records the function names as failed stay on the queue (the rest are
 * deleted); an invocation that fails, times out or crashes leaves the whole batch to come back after the
 * queue's visibility timeout, and the queue's redrive policy moves it to the DLQ when its receives run out.
 *
 * FIFO queues: a receive never returns a message of a group that has one in flight (SQS's group lock; the
 * embedded emulator is fixed to keep it, see emulators/sqs.ts), so a group is never in two batches at once
 * and its records reach the function in order; the number of batches in flight grows with the number of
 * active groups, up to the source's maximum concurrency, as Lambda's does
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
 *
 * FilterCriteria: records that match none of the patterns are deleted from the queue without invoking the
 * function, as Lambda does (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html).
 *
 * Payload: an invocation's event stays within Lambda's 6 MB synchronous payload limit; a batch that would be
 * larger goes to the function in several invocations, one after the other (the batching window also stops
 * gathering at 6 MB): "Lambda passes all of the records in the batch to the function in a single call, up to
 * the payload limit for synchronous invocation (6 MB)" (BatchSize,
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html). For a FIFO queue, a
 * group whose record failed in one of them has its later records left for the next receive, in order.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { InvokeResult } from './lambda/function-pool';
import { settleWithin } from './settle-within';
import { matchesFilters, MAX_INVOKE_PAYLOAD_BYTES, toSqsRecord, type FilterPattern } from './lambda/sqs-event';

export interface PollerConfig {
  queueUrl: string;
  queueArn: string;
  region: string;
  batchSize: number;
  batchingWindowSeconds: number;
  maxConcurrency: number;
  reportBatchItemFailures: boolean;
  /** The event source's FilterCriteria patterns; none: every record goes to the function. */
  filters?: readonly FilterPattern[];
}

export interface PollerStats {
  invocations: number;
  records: number;
  largestBatch: number;
  failedRecords: number;
  failedInvocations: number;
  /** Records deleted without an invocation because they match none of the FilterCriteria patterns. */
  filteredRecords: number;
}

/** The bytes `{"Records":[...]}` takes around its records, and each comma between them. */
const EVENT_ENVELOPE_BYTES = Buffer.byteLength('{"Records":[]}');

/**
 * Splits records, in order, into events of at most `limit` bytes each (a record larger than the limit on its
 * own is an event of its own, which the function pool then refuses as Lambda would).
 */
export function payloadChunks(records: readonly SQSRecord[], limit = MAX_INVOKE_PAYLOAD_BYTES): SQSRecord[][] {
  const chunks: SQSRecord[][] = [];
  let current: SQSRecord[] = [];
  let size = EVENT_ENVELOPE_BYTES;
  for (const record of records) {
    const bytes = Buffer.byteLength(JSON.stringify(record));
    // Each record after the first takes a comma too.
    if (current.length > 0 && size + 1 + bytes > limit) {
      chunks.push(current);
      current = [];
      size = EVENT_ENVELOPE_BYTES;
    }
    size += (current.length > 0 ? 1 : 0) + bytes;
    current.push(record);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const LONG_POLL_SECONDS = 20;

export class SqsPoller {
  readonly stats: PollerStats = { invocations: 0, records: 0, largestBatch: 0, failedRecords: 0, failedInvocations: 0, filteredRecords: 0 };
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly config: PollerConfig,
    private readonly invoke: (event: unknown) => Promise<InvokeResult>,
    private readonly log: (message: string) => void = () => {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * New batching settings, from the next receive on (watch mode): the poller keeps its queue and the messages
   * it holds, where stopping it would leave a long poll that still takes messages for nobody.
   */
  reconfigure(settings: Partial<Pick<PollerConfig, 'batchSize' | 'batchingWindowSeconds' | 'maxConcurrency' | 'reportBatchItemFailures' | 'filters'>>): void {
    Object.assign(this.config, settings);
  }

  /** Stops receiving; waits for the batches in flight up to `graceMs` (the rest fail when their functions stop). */
  async stop(graceMs = 2000): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
    await settleWithin([...this.inFlight], graceMs);
  }

  private get stopped() {
    return this.abort.signal.aborted;
  }

  /** Resolves when a batch in flight ends or stop() is called, whichever comes first (not only the former: a batch can last its function's timeout). */
  private placeOrStop(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      this.abort.signal.addEventListener('abort', done, { once: true });
      void Promise.race(this.inFlight).then(done, done);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      while (this.inFlight.size >= this.config.maxConcurrency && !this.stopped) await this.placeOrStop();
      if (this.stopped) break;
      let messages: Message[];
      try {
        messages = await this.collectBatch();
      } catch (error) {
        if (this.stopped) break;
        this.log(`receive failed: ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length === 0) continue;
      const batch = this.dispatch(messages).finally(() => this.inFlight.delete(batch));
      this.inFlight.add(batch);
    }
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const { Messages } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.config.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return Messages ?? [];
  }

  /**
   * Waits for a first message; then, with a batching window, keeps gathering until the batch is full, the
   * window closes or the batch reaches Lambda's 6 MB payload limit. Without a window Lambda invokes with
   * what the receive returned. Records that match no filter are deleted on the way and do not count.
   */
  private async collectBatch(): Promise<Message[]> {
    const { batchSize, batchingWindowSeconds } = this.config;
    const batch = await this.filtered(await this.receive(batchSize, LONG_POLL_SECONDS));
    if (batch.length === 0 || batchingWindowSeconds === 0) return batch;
    const windowEnds = Date.now() + batchingWindowSeconds * 1000;
    let bytes = batch.reduce((sum, m) => sum + recordBytes(m, this.config), EVENT_ENVELOPE_BYTES);
    while (batch.length < batchSize && bytes < MAX_INVOKE_PAYLOAD_BYTES && !this.stopped) {
      const left = windowEnds - Date.now();
      if (left <= 0) break;
      const more = await this.filtered(await this.receive(batchSize - batch.length, Math.min(LONG_POLL_SECONDS, Math.ceil(left / 1000))));
      for (const m of more) bytes += recordBytes(m, this.config);
      batch.push(...more);
    }
    return batch;
  }

  /** The messages that match the source's filters; the others are deleted, as Lambda deletes them. */
  private async filtered(messages: Message[]): Promise<Message[]> {
    const filters = this.config.filters ?? [];
    if (filters.length === 0 || messages.length === 0) return messages;
    const kept: Message[] = [];
    const dropped: Message[] = [];
    for (const m of messages) (matchesFilters(toSqsRecord(m, this.config.queueArn, this.config.region), filters) ? kept : dropped).push(m);
    this.stats.filteredRecords += dropped.length;
    await this.delete(dropped);
    return kept;
  }

  private async delete(messages: readonly Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      try {
        await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.config.queueUrl, Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }));
      } catch (error) {
        this.log(`delete failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private async dispatch(messages: Message[]): Promise<void> {
    const records = messages.map((m) => toSqsRecord(m, this.config.queueArn, this.config.region));
    const byId = new Map(messages.map((m) => [m.MessageId!, m]));
    // FIFO: once a record of a group fails, the group's later records wait for their next receive, in order.
    const failedGroups = new Set<string>();
    for (const chunk of payloadChunks(records)) {
      const runnable = chunk.filter((r) => r.attributes.MessageGroupId === undefined || !failedGroups.has(r.attributes.MessageGroupId));
      if (runnable.length === 0) continue;
      const failed = await this.invokeWith(runnable, byId);
      for (const r of runnable) if (failed.has(r.messageId) && r.attributes.MessageGroupId !== undefined) failedGroups.add(r.attributes.MessageGroupId);
    }
  }

  /** One invocation; deletes the records that succeeded and returns the ids of those left on the queue. */
  private async invokeWith(records: SQSRecord[], byId: Map<string, Message>): Promise<Set<string>> {
    this.stats.invocations++;
    this.stats.records += records.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, records.length);
    const ids = records.map((r) => r.messageId);
    const outcome = await this.invoke({ Records: records });
    if (!outcome.ok) {
      // The whole batch returns after its visibility timeout, as in Lambda.
      this.stats.failedInvocations++;
      this.stats.failedRecords += records.length;
      this.log(`invocation failed (${outcome.errorType}: ${outcome.errorMessage}); ${records.length} records will be retried`);
      return new Set(ids);
    }
    const failed = this.failedIds(outcome.result, ids);
    this.stats.failedRecords += failed.size;
    await this.delete(ids.filter((id) => !failed.has(id)).map((id) => byId.get(id)!));
    return failed;
  }

  /**
   * The records to keep on the queue. Lambda's rules: no partial response (or an empty one) means all
   * succeeded; an identifier that is empty or not in the batch makes the whole batch fail.
   */
  private failedIds(result: unknown, ids: string[]): Set<string> {
    if (!this.config.reportBatchItemFailures || result === null || typeof result !== 'object') return new Set();
    const failures = (result as Partial<SQSBatchResponse>).batchItemFailures;
    if (!Array.isArray(failures)) return new Set();
    const failed = new Set<string>();
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown })?.itemIdentifier;
      if (typeof id !== 'string' || !ids.includes(id)) return new Set(ids);
      failed.add(id);
    }
    return failed;
  }
}

/** The bytes a message takes in an event, with the comma before it. */
function recordBytes(message: Message, config: PollerConfig): number {
  return Buffer.byteLength(JSON.stringify(toSqsRecord(message, config.queueArn, config.region))) + 1;
}
