/**
 * Lambda's SQS event source, locally: one poller per event source mapping of the template, with its
 * batch size, batching window and maximum concurrency. Each batch invokes the function; with
 * ReportBatchItemFailures only the records the function names as failed stay on the queue (the rest are
 * deleted); an invocation that fails, times out or crashes leaves the whole batch to come back after the
 * queue's visibility timeout, and the queue's redrive policy moves it to the DLQ when its receives run out.
 *
 * FIFO queues: a receive never returns a message of a group that has one in flight (SQS's group lock; the
 * embedded emulator is fixed to keep it, see emulators/sqs.ts), so a group is never in two batches at once
 * and its records reach the function in order.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import type { InvokeResult } from './lambda/function-pool';
import { toSqsRecord } from './lambda/sqs-event';

export interface PollerConfig {
  queueUrl: string;
  queueArn: string;
  region: string;
  batchSize: number;
  batchingWindowSeconds: number;
  maxConcurrency: number;
  reportBatchItemFailures: boolean;
}

export interface PollerStats {
  invocations: number;
  records: number;
  largestBatch: number;
  failedRecords: number;
  failedInvocations: number;
}

const LONG_POLL_SECONDS = 20;

export class SqsPoller {
  readonly stats: PollerStats = { invocations: 0, records: 0, largestBatch: 0, failedRecords: 0, failedInvocations: 0 };
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

  /** Stops receiving; waits for the batches in flight up to `graceMs` (the rest fail when their functions stop). */
  async stop(graceMs = 2000): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  private get stopped() {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      while (this.inFlight.size >= this.config.maxConcurrency && !this.stopped) await Promise.race(this.inFlight);
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
   * Waits for a first message; then, with a batching window, keeps gathering until the batch is full or
   * the window closes. Without a window Lambda invokes with what the receive returned.
   */
  private async collectBatch(): Promise<Message[]> {
    const { batchSize, batchingWindowSeconds } = this.config;
    const batch = await this.receive(batchSize, LONG_POLL_SECONDS);
    if (batch.length === 0 || batchingWindowSeconds === 0) return batch;
    const windowEnds = Date.now() + batchingWindowSeconds * 1000;
    while (batch.length < batchSize && !this.stopped) {
      const left = windowEnds - Date.now();
      if (left <= 0) break;
      batch.push(...(await this.receive(batchSize - batch.length, Math.min(LONG_POLL_SECONDS, Math.ceil(left / 1000)))));
    }
    return batch;
  }

  private async dispatch(messages: Message[]): Promise<void> {
    const records = messages.map((m) => toSqsRecord(m, this.config.queueArn, this.config.region));
    this.stats.invocations++;
    this.stats.records += records.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, records.length);
    const outcome = await this.invoke({ Records: records });
    if (!outcome.ok) {
      // The whole batch returns after its visibility timeout, as in Lambda.
      this.stats.failedInvocations++;
      this.stats.failedRecords += records.length;
      this.log(`invocation failed (${outcome.errorType}: ${outcome.errorMessage}); ${records.length} records will be retried`);
      return;
    }
    const failed = this.failedIds(
      outcome.result,
      records.map((r) => r.messageId),
    );
    this.stats.failedRecords += failed.size;
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      try {
        await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.config.queueUrl, Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }));
      } catch (error) {
        this.log(`delete failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
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
