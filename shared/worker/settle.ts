/**
 * The second half of a batch: turns each record's outcome into what SQS and the job record must show.
 * Drops: acknowledged with a log line (the message is not its job's to run). Dead letters: the message
 * copied to the DLQ with the reason, then (for a message bound to its job) the job FAILED. Retries: backoff
 * through the message's visibility; on the last allowed receive the job is marked FAILED first, so SQS's
 * move to the DLQ leaves no job PENDING behind; a message whose job another worker holds is acknowledged
 * on its last receive instead (that worker's own message carries the job), so it leaves no RUNNING job
 * behind in the DLQ.
 */
import type { SQSRecord } from 'aws-lambda';
import { reasonOf } from '../errors';
import { jobIdOf } from '../jobs/message';
import { METRIC } from '../metrics';
import { MAX_VISIBILITY_SECONDS, retryDelaySeconds } from './backoff';
import type { SettleDeps } from './deps';
import { mapLimit } from './map-limit';
import type { Outcome } from './outcome';
import type { DeadLetter, DeferredCopy } from './queue-actions';

type DeadLetterOutcome = Extract<Outcome, { kind: 'dead-letter' }>;

/**
 * Applies the outcomes: drops, DLQ copies and FAILED marks, and backoff. Returns the records that must be
 * reported as batch item failures (every retry, and every dead letter that could not be parked or failed).
 */
export async function settle(entries: readonly (readonly [SQSRecord, Outcome])[], deps: SettleDeps): Promise<SQSRecord[]> {
  const failures: SQSRecord[] = [];
  const delays: { record: SQSRecord; seconds: number }[] = [];
  const letters: (DeadLetter & { outcome: DeadLetterOutcome })[] = [];
  const deferred: DeferredCopy[] = [];
  const count = (name: typeof METRIC.failed | typeof METRIC.retried) => deps.metrics?.count(name, deps.jobType.name);

  await mapLimit(entries, deps.concurrency, async ([record, outcome]) => {
    if (outcome.kind === 'done') return;
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    const jobId = outcome.kind === 'dead-letter' ? outcome.jobId : jobIdOf(record.body);
    const log = deps.log.child({ messageId: record.messageId, attempt, ...(jobId ? { jobId } : {}) });
    // A failure that threw is logged once, at error level, with the frames of its stack (never its payload).
    const failed = (msg: string, fields: Record<string, unknown>) =>
      'stack' in outcome && outcome.stack !== undefined ? log.error(msg, { ...fields, stack: outcome.stack }) : log.warn(msg, fields);

    if (outcome.kind === 'drop') {
      log.warn('message dropped without running', { reason: outcome.reason });
      return;
    }
    if (outcome.kind === 'defer') {
      log.info('job over its limit; sending it back delayed', { reason: outcome.reason, delaySeconds: outcome.delaySeconds });
      deferred.push({ record, delaySeconds: outcome.delaySeconds, attributes: outcome.attributes });
      return;
    }
    if (outcome.kind === 'dead-letter') {
      failed('job failed permanently; parking its message in the DLQ', { reason: outcome.reason });
      letters.push({ record, reason: outcome.reason, jobId, outcome });
      return;
    }

    const lastReceive = attempt >= deps.maxReceiveCount;
    if (lastReceive && outcome.heldElsewhere) {
      log.info("last receive of a job another worker holds: acknowledged; that worker's message carries the job", { reason: outcome.reason });
      return;
    }
    failures.push(record);
    const { binding } = outcome;
    try {
      if (lastReceive && outcome.mayFail && binding) {
        const reason = `gave up after ${attempt} attempts: ${outcome.reason}`;
        failed('job failed on its last allowed attempt; SQS moves its message to the DLQ', { reason });
        await deps.store.fail(binding, reason, { owner: outcome.owner, countAttempt: outcome.countAttempt, attempt });
        count(METRIC.failed);
        delays.push({ record, seconds: 0 });
        return;
      }
      if (binding && outcome.record === 'release') await deps.store.recordRetry(binding, outcome.reason, outcome.owner, attempt);
      if (binding && outcome.record === 'time out' && outcome.owner) await deps.store.recordTimeout(binding, outcome.reason, outcome.owner, attempt);
    } catch (error) {
      log.warn('could not record the failed attempt', { reason: reasonOf(error) });
    }
    const seconds = outcome.delaySeconds ?? retryDelaySeconds(attempt, deps.backoff ?? deps.jobType.queue.backoff, outcome.retryAfterSeconds);
    if ((outcome.retryAfterSeconds ?? 0) > MAX_VISIBILITY_SECONDS) {
      log.warn('the target asked to wait longer than SQS can hold a message back; retrying after the longest visibility timeout instead', {
        retryAfterSeconds: outcome.retryAfterSeconds,
        retryInSeconds: seconds,
      });
    }
    if (outcome.mayFail) {
      failed('job attempt failed; retrying with backoff', { reason: outcome.reason, retryInSeconds: seconds });
      count(METRIC.retried);
    }
    delays.push({ record, seconds });
  });

  // The DLQ copy first, then the FAILED mark: a job is never FAILED without its message in the DLQ. If the
  // mark cannot be written, the message is retried (and parked again): FIFO DLQs deduplicate the copy.
  let parked = new Set<string>();
  try {
    parked = await deps.queue.sendToDeadLetterQueue(letters);
  } catch (error) {
    deps.log.warn('could not park messages in the DLQ; they will be retried', { reason: reasonOf(error) });
  }
  await mapLimit(letters, deps.concurrency, async (letter) => {
    if (!parked.has(letter.record.messageId)) {
      deps.log.warn('the DLQ did not take a message; it will be retried', { messageId: letter.record.messageId });
      failures.push(letter.record);
      return;
    }
    const { binding, owner, countAttempt } = letter.outcome;
    if (!binding) return;
    try {
      await deps.store.fail(binding, letter.reason, { owner, countAttempt, attempt: Number(letter.record.attributes.ApproximateReceiveCount) || 1 });
      count(METRIC.failed);
    } catch (error) {
      deps.log.warn('could not mark the job FAILED; its message will be retried', { jobId: binding.jobId, reason: reasonOf(error) });
      failures.push(letter.record);
    }
  });
  // A deferred job whose copy is in its queue is acknowledged; one whose copy SQS did not take waits out the
  // same delay through its visibility instead (a receive used, but nothing lost).
  let copied = new Set<string>();
  try {
    copied = await deps.queue.sendDeferredCopies(deferred);
  } catch (error) {
    deps.log.warn('could not send deferred copies; their messages wait through their visibility', { reason: reasonOf(error) });
  }
  for (const copy of deferred) {
    if (copied.has(copy.record.messageId)) continue;
    failures.push(copy.record);
    delays.push({ record: copy.record, seconds: Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(copy.delaySeconds)) });
  }
  try {
    await deps.queue.delayRetries(delays);
  } catch (error) {
    deps.log.warn("could not apply backoff; the queue's visibility timeout applies", { reason: reasonOf(error) });
  }
  return failures;
}
