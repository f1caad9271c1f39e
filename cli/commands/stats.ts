/**
 * `jobline stats`: per job type, jobs by state, throughput and the age of the oldest waiting job (from the
 * API's GET /jobs, a page of 100 at a time, at most --max-pages per type and state: a count that reaches
 * the cap is shown as "at least"), and the depth of its queue and DLQ (SQS GetQueueAttributes).
 *
 * Counting through the API keeps the CLI on the path a client has (and within its IAM rights): it costs one
 * keys-only index query and a read per job, so the cap keeps a busy stack's stats cheap. SQS has no queue
 * attribute for the age of the oldest message (that is a CloudWatch metric), so the oldest age shown is
 * the oldest PENDING job's, from the same pages. An API without GET /jobs (older than the lifecycle
 * endpoints) gets the queue columns only.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApiError, type ApiJobView } from '../../shared/client/api-client';
import { STATES } from '../states';
import { age, note, printJson, table } from '../output';
import { apiOf, type JobTypeQueues, type Target } from '../target';

const PAGE = 100;
const THROUGHPUT_WINDOW_MS = 5 * 60_000;

export interface TypeStats {
  type: string;
  /** Jobs per state (the caller's); null when the API cannot list jobs. */
  jobs: Record<string, number> | null;
  /** The states whose count reached --max-pages: at least that many. */
  capped: string[];
  /** Jobs that ended (SUCCEEDED or FAILED) per minute over the last 5 minutes. */
  finishedPerMinute: number | null;
  /** Seconds since the oldest PENDING job was submitted. */
  oldestPendingSeconds: number | null;
  queue: { waiting: number; inFlight: number; delayed: number };
  dlq: { messages: number };
}

async function queueDepth(sqs: SQSClient, url: string, local: boolean) {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const [all, inFlight, delayed] = [Attributes.ApproximateNumberOfMessages, Attributes.ApproximateNumberOfMessagesNotVisible, Attributes.ApproximateNumberOfMessagesDelayed].map(
    (v) => Number(v ?? 0),
  ) as [number, number, number];
  // The SQS emulator counts in-flight messages in ApproximateNumberOfMessages; SQS does not.
  return { waiting: local ? Math.max(0, all - inFlight) : all, inFlight, delayed };
}

/** Counts one type's jobs in one state; the jobs of its pages, for throughput and age. */
async function countState(target: Target, type: string, state: string, maxPages: number): Promise<{ count: number; capped: boolean; jobs: ApiJobView[] }> {
  const api = apiOf(target);
  const jobs: ApiJobView[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const answer = await api.list({ type, state, limit: PAGE, ...(cursor ? { cursor } : {}) });
    jobs.push(...answer.jobs);
    cursor = answer.cursor;
    if (!cursor) return { count: jobs.length, capped: false, jobs };
  }
  return { count: jobs.length, capped: true, jobs };
}

async function typeStats(target: Target, sqs: SQSClient, t: JobTypeQueues, maxPages: number, listing: boolean): Promise<TypeStats> {
  const [queue, dlq] = await Promise.all([queueDepth(sqs, t.queueUrl, target.kind === 'local'), queueDepth(sqs, t.dlqUrl, target.kind === 'local')]);
  const base = { type: t.type, queue, dlq: { messages: dlq.waiting + dlq.inFlight } };
  if (!listing) return { ...base, jobs: null, capped: [], finishedPerMinute: null, oldestPendingSeconds: null };
  const counted = await Promise.all(STATES.map(async (state) => ({ state, ...(await countState(target, t.type, state, maxPages)) })));
  const now = Date.now();
  const finishedRecently = counted
    .filter((c) => c.state === 'SUCCEEDED' || c.state === 'FAILED')
    .flatMap((c) => c.jobs)
    .filter((j) => j.finishedAt && now - Date.parse(j.finishedAt) <= THROUGHPUT_WINDOW_MS).length;
  const pending = counted.find((c) => c.state === 'PENDING')!;
  const oldest = pending.jobs.reduce<number | undefined>((min, j) => (min === undefined || Date.parse(j.createdAt) < min ? Date.parse(j.createdAt) : min), undefined);
  return {
    ...base,
    jobs: Object.fromEntries(counted.map((c) => [c.state, c.count])),
    capped: counted.filter((c) => c.capped).map((c) => c.state),
    finishedPerMinute: Math.round((finishedRecently / (THROUGHPUT_WINDOW_MS / 60_000)) * 10) / 10,
    oldestPendingSeconds: oldest === undefined ? null : Math.max(0, (now - oldest) / 1000),
  };
}

/** Whether the API can list jobs: a GET /jobs it does not route is a 404 `not_found` (or API Gateway's own 404). */
async function canList(target: Target, type: string | undefined): Promise<boolean> {
  if (!type) return false;
  try {
    await apiOf(target).list({ type, limit: 1 });
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === 'not_found') return false;
    throw error;
  }
}

export interface StatsOptions {
  maxPages: number;
  json?: boolean;
}

export async function stats(target: Target, options: StatsOptions): Promise<void> {
  const sqs = await target.sqs();
  const listing = await canList(target, target.jobTypes[0]?.type);
  const rows = await Promise.all(target.jobTypes.map((t) => typeStats(target, sqs, t, options.maxPages, listing)));
  if (options.json) return printJson({ target: target.label, types: rows, ...(listing ? {} : { note: 'the API has no GET /jobs: job counts need a newer jobline' }) });
  const count = (r: TypeStats, state: string) => (r.jobs ? `${r.jobs[state]}${r.capped.includes(state) ? '+' : ''}` : undefined);
  console.log(
    table(rows, [
      { header: 'JOB TYPE', value: (r) => r.type },
      ...(listing ? STATES.map((s) => ({ header: s, value: (r: TypeStats) => count(r, s), align: 'right' as const })) : []),
      ...(listing ? [{ header: 'DONE/MIN', value: (r: TypeStats) => r.finishedPerMinute ?? undefined, align: 'right' as const }] : []),
      ...(listing ? [{ header: 'OLDEST PENDING', value: (r: TypeStats) => age(r.oldestPendingSeconds ?? undefined), align: 'right' as const }] : []),
      { header: 'QUEUED', value: (r) => r.queue.waiting, align: 'right' },
      { header: 'IN FLIGHT', value: (r) => r.queue.inFlight, align: 'right' },
      { header: 'DELAYED', value: (r) => r.queue.delayed, align: 'right' },
      { header: 'DLQ', value: (r) => r.dlq.messages, align: 'right' },
    ]),
  );
  if (!listing) note('job counts need GET /jobs, which this API does not have (a jobline older than the lifecycle endpoints)');
  else if (rows.some((r) => r.capped.length > 0)) note(`counts with + reached --max-pages ${options.maxPages} (pages of ${PAGE}): at least that many`);
}
