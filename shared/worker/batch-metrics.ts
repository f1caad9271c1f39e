/**
 * What a batch tells CloudWatch (shared/metrics.ts): how each record ended (succeeded, duplicate absorbed,
 * cancelled; settle.ts counts the FAILED marks and the retries), how long each job waited in its queue
 * before its first run, and how long each run took.
 */
import type { SQSRecord } from 'aws-lambda';
import { DELAY_ATTRIBUTE } from '../jobs/message';
import { METRIC, type Metrics } from '../metrics';
import type { Outcome } from './outcome';

/** The notes of a `done` outcome whose job was done already: a duplicate delivery, absorbed. */
const DUPLICATE_NOTES = new Set(['already succeeded', 'duplicate within the batch', 'completed by another delivery', 'duplicate']);

export function countOutcome(metrics: Metrics, jobType: string, outcome: Outcome): void {
  if (outcome.kind === 'defer') metrics.count(METRIC.deferred, jobType);
  if (outcome.kind !== 'done') return;
  if (outcome.note === 'cancelled') metrics.count(METRIC.cancelled, jobType);
  else metrics.count(DUPLICATE_NOTES.has(outcome.note) ? METRIC.duplicatesAbsorbed : METRIC.succeeded, jobType);
}

/** Whether the outcome comes from a run of the job's handler (not a duplicate, a refusal or a wait). */
function ran(outcome: Outcome): boolean {
  if (outcome.kind === 'done') return !DUPLICATE_NOTES.has(outcome.note);
  if (outcome.kind === 'retry') return outcome.mayFail && outcome.binding !== undefined;
  return outcome.kind === 'dead-letter' && outcome.binding !== undefined;
}

/**
 * A run's duration, and on a job's first receive its queue wait: from when SQS could first deliver the
 * message (its SentTimestamp, plus the delay it was sent with) to the run's start.
 */
export function timeRun(metrics: Metrics, jobType: string, record: SQSRecord, outcome: Outcome, startedAt: number, endedAt: number): void {
  if (!ran(outcome)) return;
  metrics.timing(METRIC.runDuration, jobType, endedAt - startedAt);
  const sentAt = Number(record.attributes.SentTimestamp);
  if (record.attributes.ApproximateReceiveCount !== '1' || !Number.isFinite(sentAt)) return;
  const delaySeconds = Number(record.messageAttributes?.[DELAY_ATTRIBUTE]?.stringValue ?? 0) || 0;
  metrics.timing(METRIC.queueWait, jobType, startedAt - sentAt - delaySeconds * 1000);
}
