/**
 * A job's lifecycle after its submit, without HTTP: cancel, retry, list and find by key. What
 * `POST /jobs/{id}/cancel`, `POST /jobs/{id}/retry`, `GET /jobs` and the bulk routes do once the request is
 * understood, and what `JobClient` does from any Lambda or Node process. Every one acts on the caller's own
 * jobs only: another caller's job reads exactly like a job that does not exist.
 */
import { reasonOf } from '../errors';
import { isJobId, jobIdForKey } from '../jobs/job-id';
import type { Logger } from '../log';
import { METRIC } from '../metrics';
import { InvalidCursorError, MAX_LIST_LIMIT, type ListPage } from '../store/job-list';
import type { JobRecord } from '../store/job-record';
import { JOB_STATUSES, type JobStatus } from '../store/job-states';
import { sendJobMessage, type SubmissionDeps } from './submit-job';

export type LifecycleOutcome =
  | { kind: 'done'; job: JobRecord; queued?: boolean }
  | { kind: 'unknown_job' }
  /** The job is in a state the operation cannot leave (e.g. cancel of a SUCCEEDED job). */
  | { kind: 'conflict'; job: JobRecord; reason: string };

/** Transitions `cancel` and `request cancel` (job-states.ts). */
export async function cancelJob(deps: Pick<SubmissionDeps, 'store' | 'log' | 'metrics'>, jobId: string, owner: string): Promise<LifecycleOutcome> {
  if (!isJobId(jobId)) return { kind: 'unknown_job' };
  const outcome = await deps.store.cancel(jobId, owner);
  if (outcome.cancelled) {
    deps.log.info(outcome.cancelled.status === 'CANCELLED' ? 'job cancelled' : 'cancel requested: the job is running', { jobId, type: outcome.cancelled.type });
    // A running job is counted by its worker, when it stops (or not at all, if its handler finishes).
    if (outcome.cancelled.status === 'CANCELLED') deps.metrics?.count(METRIC.cancelled, outcome.cancelled.type);
    return { kind: 'done', job: outcome.cancelled };
  }
  if (!outcome.current) return { kind: 'unknown_job' };
  return { kind: 'conflict', job: outcome.current, reason: `the job is ${outcome.current.status}: only a SCHEDULED, PENDING or RUNNING job can be cancelled` };
}

/** Transition `retry`: a FAILED or CANCELLED job runs again as its next generation; its message is sent. */
export async function retryJob(deps: SubmissionDeps, jobId: string, owner: string): Promise<LifecycleOutcome> {
  if (!isJobId(jobId)) return { kind: 'unknown_job' };
  const outcome = await deps.store.retry(jobId, owner, deps.sweepAfterSeconds * 1000);
  if (!outcome.retried) {
    if (!outcome.current) return { kind: 'unknown_job' };
    return { kind: 'conflict', job: outcome.current, reason: `the job is ${outcome.current.status}: only a FAILED or CANCELLED job can be retried` };
  }
  const job = outcome.retried;
  const queue = deps.queues.get(job.type);
  const log = deps.log.child({ jobId, type: job.type, generation: job.generation });
  // A type no longer deployed: the job stays PENDING for the sweeper to report.
  const queued = queue ? await sendJobMessage(deps, queue, job, log) : false;
  log.info('job retried', { queued });
  return { kind: 'done', job, queued };
}

export interface ListRequest {
  owner: string;
  type?: string;
  state?: string;
  /** Several states at once (bulk operations); `state` wins when both are given. */
  states?: readonly JobStatus[];
  limit?: number;
  cursor?: string;
  createdAfter?: string;
  createdBefore?: string;
}

export type ListOutcome = { kind: 'page'; page: ListPage } | { kind: 'invalid'; reason: string };

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/i;

/** A page of the caller's jobs, newest first, of one type or all, in one state or all. */
export async function listOwnJobs(deps: Pick<SubmissionDeps, 'store' | 'jobTypes'>, request: ListRequest): Promise<ListOutcome> {
  const types = deps.jobTypes.map((t) => t.name);
  if (request.type !== undefined && !types.includes(request.type)) return { kind: 'invalid', reason: `there is no job type "${request.type}" (declared: ${types.join(', ')})` };
  if (request.state !== undefined && !(JOB_STATUSES as readonly string[]).includes(request.state)) {
    return { kind: 'invalid', reason: `there is no state "${request.state}" (states: ${JOB_STATUSES.join(', ')})` };
  }
  const limit = request.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) return { kind: 'invalid', reason: `limit is a whole number from 1 to ${MAX_LIST_LIMIT}` };
  const bounds: { createdAfter?: string; createdBefore?: string } = {};
  for (const name of ['createdAfter', 'createdBefore'] as const) {
    const value = request[name];
    if (value === undefined) continue;
    if (!ISO_TIME.test(value) || Number.isNaN(Date.parse(value))) return { kind: 'invalid', reason: `${name} is an ISO 8601 time with its zone, e.g. 2026-12-03T10:00:00Z` };
    bounds[name] = new Date(value).toISOString(); // the index holds UTC times in this form
  }
  // DynamoDB refuses a BETWEEN whose bounds are reversed (a ValidationException, which would be a 503).
  if (bounds.createdAfter !== undefined && bounds.createdBefore !== undefined && bounds.createdAfter > bounds.createdBefore) {
    return { kind: 'invalid', reason: `createdAfter (${request.createdAfter}) is later than createdBefore (${request.createdBefore})` };
  }
  try {
    const page = await deps.store.list({
      owner: request.owner,
      types: request.type !== undefined ? [request.type] : types,
      states: request.state !== undefined ? [request.state as JobStatus] : (request.states ?? JOB_STATUSES),
      limit,
      ...bounds,
      ...(request.cursor !== undefined ? { cursor: request.cursor } : {}),
    });
    return { kind: 'page', page };
  } catch (error) {
    if (error instanceof InvalidCursorError) return { kind: 'invalid', reason: error.message };
    throw error;
  }
}

/** The caller's job of type `type` submitted with Idempotency-Key `key` (its id is derived from both). */
export async function findJobByKey(deps: Pick<SubmissionDeps, 'store'>, owner: string, type: string, key: string): Promise<JobRecord | undefined> {
  return deps.store.get(jobIdForKey(owner, type, key), owner);
}

export interface BulkRequest extends Omit<ListRequest, 'limit'> {
  /** Stop taking new pages after this long (an API call has a timeout); the cursor says where to go on. */
  budgetMs?: number;
}

export interface BulkReport {
  /** Jobs the filter matched in this call. */
  matched: number;
  /** Jobs the operation moved (cancelled, or cancel requested; retried). */
  changed: number;
  /** Jobs it could not move (finished meanwhile, or not in a state it applies to). */
  skipped: number;
  /** Set when there is more: call again with it. */
  cursor?: string;
}

/**
 * Cancel or retry every job of the caller that a filter matches, a page at a time, until the filter is
 * exhausted or the time budget is spent (then the report's cursor goes on from there). Each job moves by
 * its own conditional write, exactly as a single cancel or retry, so a bulk run racing workers or another
 * bulk run is as safe as many single calls.
 */
export async function bulkChange(
  deps: SubmissionDeps,
  operation: 'cancel' | 'retry',
  request: BulkRequest,
  log: Logger,
): Promise<{ kind: 'report'; report: BulkReport } | { kind: 'invalid'; reason: string }> {
  const applicable: readonly JobStatus[] = operation === 'cancel' ? ['SCHEDULED', 'PENDING', 'RUNNING'] : ['FAILED', 'CANCELLED'];
  if (request.state !== undefined && !applicable.includes(request.state as JobStatus)) {
    return { kind: 'invalid', reason: `${operation} applies to ${applicable.join(', ')} jobs, not ${request.state}` };
  }
  const deadline = Date.now() + (request.budgetMs ?? 5000);
  const report: BulkReport = { matched: 0, changed: 0, skipped: 0 };
  let cursor = request.cursor;
  const listed = await (async () => {
    for (;;) {
      const outcome = await listOwnJobs(deps, { ...request, states: applicable, limit: MAX_LIST_LIMIT, ...(cursor !== undefined ? { cursor } : {}) });
      if (outcome.kind === 'invalid') return outcome;
      // The index may lag: a job that moved on since is not this operation's any more.
      const jobs = outcome.page.jobs.filter((job) => applicable.includes(job.status));
      report.matched += jobs.length;
      for (const job of jobs) {
        try {
          const result = operation === 'cancel' ? await cancelJob(deps, job.jobId, request.owner) : await retryJob(deps, job.jobId, request.owner);
          if (result.kind === 'done') report.changed++;
          else report.skipped++;
        } catch (error) {
          report.skipped++;
          log.warn(`bulk ${operation}: a job could not be changed`, { jobId: job.jobId, reason: reasonOf(error) });
        }
      }
      cursor = outcome.page.cursor;
      if (cursor === undefined || Date.now() > deadline) return undefined;
    }
  })();
  if (listed) return listed;
  return { kind: 'report', report: { ...report, ...(cursor !== undefined ? { cursor } : {}) } };
}
