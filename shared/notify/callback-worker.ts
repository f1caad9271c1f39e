/**
 * The callback worker: the callback queue in, one signed POST per message (deliver.ts). Delivered and
 * permanent failures are acknowledged (a permanent one after its copy is in the callback DLQ with its
 * reason as `jobline-reason`); a retryable failure gets the next backoff delay (ChangeMessageVisibility) and
 * is reported as a batch item failure, until its last allowed attempt, which parks it in the DLQ too.
 * Each outcome is counted per job type (CallbacksDelivered, CallbacksRetried, CallbacksParked, and the
 * CallbackDelay from the job's end to its delivery), flushed at the end of the batch.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { reasonOf } from '../errors';
import type { Logger } from '../log';
import { METRIC, noMetrics, type Metrics } from '../metrics';
import type { Allow } from '../net/address-guard';
import { retryDelaySeconds, type BackoffOptions } from '../worker/backoff';
import type { DeadLetter } from '../worker/queue-actions';
import { deliverCallback, type Delivery } from './deliver';
import { notificationKey, parseCallbackMessage } from './notification';

export interface CallbackWorkerDeps {
  /** The signing secret (read once per execution environment; a failed read is tried again next time). */
  secret(): Promise<string>;
  allow(): Allow;
  maxAttempts: number;
  backoff: BackoffOptions;
  timeoutMs: number;
  deliver?: typeof deliverCallback;
  deadLetter(letters: readonly DeadLetter[]): Promise<Set<string>>;
  delay(delays: readonly { record: SQSRecord; seconds: number }[]): Promise<void>;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** The job type a callback is counted under (a message without one, under `unknown`). */
const typeOf = (view: Record<string, unknown>) => (typeof view.type === 'string' ? view.type : 'unknown');

export async function deliverCallbacks(event: SQSEvent, deps: CallbackWorkerDeps): Promise<SQSBatchResponse> {
  const records = event.Records ?? [];
  let secret: string;
  let allow: Allow;
  try {
    [secret, allow] = [await deps.secret(), deps.allow()];
  } catch (error) {
    // Configuration, not the callbacks: every record is retried later.
    deps.log.error('callbacks not sent: the signing secret or the address setting could not be read', { reason: reasonOf(error) });
    return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
  }
  const deliver = deps.deliver ?? deliverCallback;
  const metrics = deps.metrics ?? noMetrics;
  const now = deps.now ?? Date.now;
  const parked: (DeadLetter & { type: string })[] = [];
  const retries: { record: SQSRecord; seconds: number }[] = [];
  await Promise.all(
    records.map(async (record) => {
      const attempt = Number(record.attributes.ApproximateReceiveCount || '1');
      const message = parseCallbackMessage(record.body);
      if (!message) {
        parked.push({ record, reason: 'not a jobline callback message', type: 'unknown' });
        return;
      }
      const log = deps.log.child({ jobId: message.jobId, generation: message.generation, attempt, key: notificationKey(message.jobId, message.generation) });
      let outcome: Delivery;
      try {
        outcome = await deliver(message, { secret, allow, timeoutMs: deps.timeoutMs });
      } catch (error) {
        outcome = { kind: 'retry', reason: reasonOf(error) };
      }
      const type = typeOf(message.view);
      if (outcome.kind === 'delivered') {
        log.info('callback delivered', { status: outcome.status });
        metrics.count(METRIC.callbacksDelivered, type);
        if (typeof message.view.finishedAt === 'string') metrics.timing(METRIC.callbackDelay, type, now() - Date.parse(message.view.finishedAt));
      } else if (outcome.kind === 'permanent') {
        log.warn('callback refused; parked in the callback DLQ', { reason: outcome.reason });
        parked.push({ record, reason: outcome.reason, jobId: message.jobId, type });
      } else if (attempt >= deps.maxAttempts) {
        log.warn('callback given up; parked in the callback DLQ', { reason: outcome.reason });
        parked.push({ record, reason: `gave up after ${attempt} attempts: ${outcome.reason}`, jobId: message.jobId, type });
      } else {
        const seconds = retryDelaySeconds(attempt, deps.backoff, outcome.retryAfterSeconds);
        log.info('callback will be retried', { reason: outcome.reason, delaySeconds: seconds });
        retries.push({ record, seconds });
        metrics.count(METRIC.callbacksRetried, type);
      }
    }),
  );
  const failed = new Set(retries.map((r) => r.record.messageId));
  if (parked.length > 0) {
    // Counted as parked once its copy is in the DLQ; otherwise it is delivered again and tried once more.
    const safe = await deps.deadLetter(parked).catch(() => new Set<string>());
    for (const letter of parked) {
      if (safe.has(letter.record.messageId)) metrics.count(METRIC.callbacksParked, letter.type);
      else failed.add(letter.record.messageId);
    }
  }
  await deps.delay(retries).catch((error: unknown) => deps.log.warn('could not set the retry delays (the queue visibility timeout applies)', { reason: reasonOf(error) }));
  metrics.flush();
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}
