/**
 * The second half of a batch: turns each record's outcome into what SQS and the job record must show.
 * Dead letters: the job FAILED with the reason, the message copied to the DLQ (then acknowledged).
 * Retries: backoff through the message's visibility; on the last allowed receive the job is marked FAILED
 * first, so SQS's move to the DLQ leaves no job PENDING behind.
 */
import type { SQSRecord } from 'aws-lambda';
import { reasonOf } from '../errors';
import { jobIdOf } from '../jobs/message';
import { retryDelaySeconds } from './backoff';
import { mapLimit } from './map-limit';
import type { Outcome } from './outcome';
import type { WorkerDeps } from './process-batch';
import type { DeadLetter } from './queue-actions';

/**
 * Applies the outcomes: FAILED marks, DLQ copies and backoff. Returns the records that must be reported
 * as batch item failures (every retry, and every dead letter that could not be parked).
 */
export async function settle(entries: readonly (readonly [SQSRecord, Outcome])[], deps: WorkerDeps): Promise<SQSRecord[]> {
  const failures: SQSRecord[] = [];
  const delays: { record: SQSRecord; seconds: number }[] = [];
  const letters: DeadLetter[] = [];

  await mapLimit(entries, deps.concurrency, async ([record, outcome]) => {
    if (outcome.kind === 'done') return;
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    const jobId = outcome.kind === 'dead-letter' ? outcome.jobId : jobIdOf(record.body);
    const log = deps.log.child({ messageId: record.messageId, attempt, ...(jobId ? { jobId } : {}) });

    if (outcome.kind === 'dead-letter') {
      log.warn('job failed permanently; parking its message in the DLQ', { reason: outcome.reason });
      try {
        if (jobId) await deps.store.fail(jobId, outcome.reason, { owner: outcome.owner, countAttempt: outcome.countAttempt });
        letters.push({ record, reason: outcome.reason, jobId });
      } catch (error) {
        log.warn('could not mark the job FAILED; the message will be retried', { reason: reasonOf(error) });
        failures.push(record);
      }
      return;
    }

    failures.push(record);
    const lastReceive = attempt >= deps.maxReceiveCount;
    try {
      if (lastReceive && outcome.mayFail && jobId) {
        const reason = `gave up after ${attempt} attempts: ${outcome.reason}`;
        log.warn('job failed on its last allowed attempt; SQS moves its message to the DLQ', { reason });
        await deps.store.fail(jobId, reason, { owner: outcome.owner, countAttempt: outcome.countAttempt });
        delays.push({ record, seconds: 0 });
        return;
      }
      if (jobId && outcome.recordRetry) {
        await deps.store.recordRetry(jobId, outcome.reason, outcome.owner);
      }
    } catch (error) {
      log.warn('could not record the failed attempt', { reason: reasonOf(error) });
    }
    const seconds = outcome.delaySeconds ?? retryDelaySeconds(attempt, deps.backoff ?? deps.jobType.queue.backoff, outcome.retryAfterSeconds);
    if (outcome.mayFail) log.warn('job attempt failed; retrying with backoff', { reason: outcome.reason, retryInSeconds: seconds });
    delays.push({ record, seconds });
  });

  try {
    const parked = await deps.queue.sendToDeadLetterQueue(letters);
    const refused = letters.filter((letter) => !parked.has(letter.record.messageId));
    if (refused.length > 0) deps.log.warn('the DLQ did not take some messages; they will be retried', { messageIds: refused.map((l) => l.record.messageId) });
    failures.push(...refused.map((l) => l.record));
  } catch (error) {
    deps.log.warn('could not park messages in the DLQ; they will be retried', { reason: reasonOf(error) });
    failures.push(...letters.map((l) => l.record));
  }
  try {
    await deps.queue.delayRetries(delays);
  } catch (error) {
    deps.log.warn('could not apply backoff; the queue\'s visibility timeout applies', { reason: reasonOf(error) });
  }
  return failures;
}
