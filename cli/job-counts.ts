/**
 * Per job type: jobs by state (from the API's GET /jobs, a page of 100 at a time, at most `maxPages` per
 * type and state: a count that reaches the cap means "at least"), when the counted jobs ended, the oldest
 * PENDING job, and the depth of the type's queue and DLQ (SQS GetQueueAttributes). `jobline stats` prints
 * it (cli/commands/stats.ts); the dashboard's overview charts it (dashboard/server/overview.ts).
 *
 * Counting through the API keeps both on the path a client has (and within its IAM rights): it costs one
 * keys-only index query and a read per job, so the cap keeps a busy stack's count cheap. SQS has no queue
 * attribute for the age of the oldest message (that is a CloudWatch metric), so the oldest age is the
 * oldest PENDING job's, from the same pages. An API without GET /jobs (older than the lifecycle endpoints)
 * gets the queue columns only.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApiError, type ApiJobView } from '../shared/client/api-client';
import { STATES } from './states';
import { apiOf, type JobTypeQueues, type Target } from './target';

export const PAGE = 100;

export interface QueueDepth {
  waiting: number;
  inFlight: number;
  delayed: number;
}

export interface TypeCounts {
  type: string;
  /** Jobs per state (the caller's); null when the API cannot list jobs. */
  jobs: Record<string, number> | null;
  /** The states whose count reached maxPages: at least that many. */
  capped: string[];
  /** The counted SUCCEEDED and FAILED jobs: when each ended (epoch ms). */
  finished: { at: number; status: 'SUCCEEDED' | 'FAILED' }[];
  /** When the oldest counted PENDING job was submitted (epoch ms). */
  oldestPendingAt?: number;
  queue: QueueDepth;
  dlq: { messages: number };
}

export interface JobCounts {
  /** Whether the API can list jobs (false: queue columns only). */
  listing: boolean;
  types: TypeCounts[];
}

async function queueDepth(sqs: SQSClient, url: string, local: boolean): Promise<QueueDepth> {
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

/**
 * Since when a PENDING job has waited to run: from when it became PENDING in its generation (a retried job
 * waits from its retry), or from its run time when that is later (a delayed job is not waiting before it).
 */
export function waitingSince(job: Pick<ApiJobView, 'createdAt' | 'runAt' | 'generation' | 'history'>): number {
  const entered = job.history?.find((h) => h.state === 'PENDING' && h.generation === job.generation)?.at ?? job.createdAt;
  return Math.max(Date.parse(entered), job.runAt !== undefined ? Date.parse(job.runAt) : -Infinity);
}

async function typeCounts(target: Target, sqs: SQSClient, t: JobTypeQueues, maxPages: number, listing: boolean): Promise<TypeCounts> {
  const [queue, dlq] = await Promise.all([queueDepth(sqs, t.queueUrl, target.kind === 'local'), queueDepth(sqs, t.dlqUrl, target.kind === 'local')]);
  const base = { type: t.type, queue, dlq: { messages: dlq.waiting + dlq.inFlight } };
  if (!listing) return { ...base, jobs: null, capped: [], finished: [] };
  const counted = await Promise.all(STATES.map(async (state) => ({ state, ...(await countState(target, t.type, state, maxPages)) })));
  const finished = counted
    .filter((c) => c.state === 'SUCCEEDED' || c.state === 'FAILED')
    .flatMap((c) => c.jobs.map((j) => ({ at: j.finishedAt ? Date.parse(j.finishedAt) : NaN, status: c.state as 'SUCCEEDED' | 'FAILED' })))
    .filter((f) => !Number.isNaN(f.at));
  const pending = counted.find((c) => c.state === 'PENDING')!;
  const oldest = pending.jobs.reduce<number | undefined>((min, j) => Math.min(min ?? Infinity, waitingSince(j)), undefined);
  return {
    ...base,
    jobs: Object.fromEntries(counted.map((c) => [c.state, c.count])),
    capped: counted.filter((c) => c.capped).map((c) => c.state),
    finished,
    ...(oldest !== undefined ? { oldestPendingAt: oldest } : {}),
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

export async function countJobs(target: Target, maxPages: number): Promise<JobCounts> {
  const sqs = await target.sqs();
  const listing = await canList(target, target.jobTypes[0]?.type);
  const types = await Promise.all(target.jobTypes.map((t) => typeCounts(target, sqs, t, maxPages, listing)));
  return { listing, types };
}
