/**
 * The notifier: the jobs table's stream in (only the records NOTIFY_FILTERS lets through: terminal
 * transitions of job records), per record one EventBridge event and, when the job has a callback URL, one
 * message to the callback queue. A record whose event or message could not be sent is reported as a batch
 * item failure (its sequence number): Lambda retries the batch from the first of them, so what was sent
 * already may be sent again (at least once; receivers deduplicate on `<jobId>.<generation>`).
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { reasonOf } from '../errors';
import type { Logger } from '../log';
import { fromItem, toJobView, type Item } from '../store/job-record';
import { detailTypeOf, EVENT_SOURCE, isTerminalTransition, type CallbackMessage } from './notification';

export interface EventEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time?: Date;
}

export interface NotifierDeps {
  busName: string;
  /** Puts up to 10 entries; returns, per entry in order, whether it was accepted. */
  putEvents(entries: readonly EventEntry[]): Promise<boolean[]>;
  /** Undefined: callbacks are off. Sends up to 10 messages; returns, per message in order, whether it was accepted. */
  sendCallbacks?: (bodies: readonly string[]) => Promise<boolean[]>;
  log: Logger;
}

/** PutEvents takes 10 entries and 256 KB per request; SendMessageBatch 10 messages and 1 MiB. */
const EVENTS_PER_REQUEST = 10;
const EVENT_REQUEST_BYTES = 256 * 1024;
const MESSAGE_REQUEST_BYTES = 1024 * 1024;

interface Notification {
  record: DynamoDBRecord;
  jobId: string;
  entry: EventEntry;
  callback?: string;
}

/** The notification of one stream record, or undefined when it is not a terminal transition of a job. */
export function notificationOf(record: DynamoDBRecord, busName: string): Notification | undefined {
  const newImage = record.dynamodb?.NewImage as Item | undefined;
  const oldImage = record.dynamodb?.OldImage as Item | undefined;
  if (!newImage || !newImage.pk?.S?.startsWith('JOB#')) return undefined;
  if (!isTerminalTransition(oldImage ? (oldImage.status?.S ?? '') : undefined, newImage.status?.S)) return undefined;
  const job = fromItem(newImage);
  const view = toJobView(job);
  const detailType = detailTypeOf(job.status);
  const at = Date.parse(job.finishedAt ?? job.updatedAt);
  const entry: EventEntry = {
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(view),
    EventBusName: busName,
    ...(Number.isNaN(at) ? {} : { Time: new Date(at) }),
  };
  const url = newImage.callbackUrl?.S;
  const message: CallbackMessage | undefined = url ? { v: 1, jobId: job.jobId, generation: job.generation, status: job.status, event: detailType, url, view } : undefined;
  return { record, jobId: job.jobId, entry, ...(message ? { callback: JSON.stringify(message) } : {}) };
}

const entryBytes = (e: EventEntry) => Buffer.byteLength(e.Source) + Buffer.byteLength(e.DetailType) + Buffer.byteLength(e.Detail) + (e.Time ? 14 : 0);

function chunked<T>(items: readonly T[], max: number, maxBytes: number, size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const s = size(item);
    if (current.length === max || (current.length > 0 && bytes + s > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += s;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export async function notify(event: DynamoDBStreamEvent, deps: NotifierDeps): Promise<DynamoDBBatchResponse> {
  const failed = new Set<DynamoDBRecord>();
  const notifications: Notification[] = [];
  for (const record of event.Records ?? []) {
    try {
      const n = notificationOf(record, deps.busName);
      if (n) notifications.push(n);
    } catch (error) {
      // A record that cannot be read cannot become readable by retrying: logged and skipped.
      deps.log.error('stream record is not a readable job record; skipped', { sequenceNumber: record.dynamodb?.SequenceNumber, reason: reasonOf(error) });
    }
  }

  for (const chunk of chunked(notifications, EVENTS_PER_REQUEST, EVENT_REQUEST_BYTES, (n) => entryBytes(n.entry))) {
    let accepted: boolean[];
    try {
      accepted = await deps.putEvents(chunk.map((n) => n.entry));
    } catch (error) {
      deps.log.warn('PutEvents failed; the records will be retried', { records: chunk.length, reason: reasonOf(error) });
      accepted = chunk.map(() => false);
    }
    chunk.forEach((n, i) => {
      if (!accepted[i]) failed.add(n.record);
    });
  }

  const callbacks = deps.sendCallbacks ? notifications.filter((n) => n.callback !== undefined && !failed.has(n.record)) : [];
  for (const chunk of chunked(callbacks, 10, MESSAGE_REQUEST_BYTES, (n) => Buffer.byteLength(n.callback!))) {
    let accepted: boolean[];
    try {
      accepted = await deps.sendCallbacks!(chunk.map((n) => n.callback!));
    } catch (error) {
      deps.log.warn('could not queue callbacks; the records will be retried', { records: chunk.length, reason: reasonOf(error) });
      accepted = chunk.map(() => false);
    }
    chunk.forEach((n, i) => {
      if (!accepted[i]) failed.add(n.record);
    });
  }

  for (const n of notifications) {
    if (!failed.has(n.record)) deps.log.info('job notified', { jobId: n.jobId, event: n.entry.DetailType, callback: n.callback !== undefined });
  }
  return { batchItemFailures: [...failed].map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' })) };
}
