/** `jobline jobs list|show|watch|cancel|retry`: through the HTTP API, as any client of it. */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type ApiJobView, type JobApiClient } from '../../shared/client/api-client';
import { CliError, EXIT, failed, notFound, usageError } from '../exit';
import { colors, fields, note, paintStatus, printJson, table } from '../output';
import { TERMINAL_STATES } from '../states';
import { apiOf, jobTypeOf, type Target } from '../target';

export interface ListOptions {
  type?: string;
  state?: string;
  limit: number;
  cursor?: string;
  key?: string;
  json?: boolean;
}

export interface Listing {
  jobs: ApiJobView[];
  /** Where the next page starts: --cursor. */
  cursor?: string;
}

/** A page of the caller's jobs, newest first (GET /jobs), of one type or all of them. */
export async function listJobs(target: Target, options: ListOptions): Promise<Listing> {
  const api = apiOf(target);
  if (options.type !== undefined) jobTypeOf(target, options.type);
  else if (options.key !== undefined) throw usageError('--key needs --type (an Idempotency-Key belongs to one job type)');
  const page = await api.list({ type: options.type, state: options.state, limit: options.limit, cursor: options.cursor, key: options.key });
  return { jobs: page.jobs, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/** What an empty listing says: every filter it was asked for, so that "none" is not read as "none of the type". */
export function noJobsMatch(options: Pick<ListOptions, 'type' | 'key' | 'state'>): string {
  const filters = [
    options.type !== undefined ? `of type ${options.type}` : '',
    options.key !== undefined ? `with Idempotency-Key ${JSON.stringify(options.key)}` : '',
    options.state !== undefined ? `in state ${options.state}` : '',
  ];
  return ['no jobs', ...filters.filter(Boolean)].join(' ');
}

export async function list(target: Target, options: ListOptions): Promise<void> {
  const listing = await listJobs(target, options);
  if (options.json) return printJson(listing);
  if (listing.jobs.length === 0) {
    note(`${noJobsMatch(options)} (${target.label})`);
    return;
  }
  console.log(
    table(listing.jobs, [
      { header: 'JOB ID', value: (j) => j.jobId },
      { header: 'TYPE', value: (j) => j.type },
      { header: 'STATUS', value: (j) => paintStatus(j.status) },
      { header: 'ATTEMPTS', value: (j) => j.attempts, align: 'right' },
      { header: 'CREATED', value: (j) => j.createdAt },
      { header: 'ERROR', value: (j) => j.error, max: 60 },
    ]),
  );
  if (listing.cursor) {
    const same = [options.type ? `--type ${options.type}` : '', options.state ? `--state ${options.state}` : '', `--limit ${options.limit}`].filter(Boolean).join(' ');
    note(`more: jobline jobs list ${same} --cursor ${listing.cursor}`);
  }
}

async function getOrNotFound(api: JobApiClient, jobId: string, target: Target): Promise<ApiJobView> {
  const job = await api.get(jobId);
  if (!job) throw notFound(`there is no job ${jobId} (${target.label})`, 'a job is seen only by its caller, and its record is kept for the retention period (30 days by default)');
  return job;
}

const time = (at: string | number | undefined) => (at === undefined ? undefined : typeof at === 'number' ? new Date(at).toISOString() : at);

export function renderJob(job: ApiJobView): string {
  const lines = [
    fields([
      ['job', job.jobId],
      ['type', job.type],
      ['status', paintStatus(job.status) + (job.cancelRequested ? colors.yellow(' (cancel requested)') : '')],
      ['generation', job.generation],
      ['attempts', job.attempts],
      ['created', job.createdAt],
      ['runs at', time(job.runAt)],
      ['started', job.startedAt],
      ['finished', job.finishedAt],
      ['updated', job.updatedAt],
      ['error', job.error === undefined ? undefined : colors.red(job.error)],
      ['result', job.result === undefined ? undefined : JSON.stringify(job.result)],
    ]),
  ];
  if (job.history && job.history.length > 0) {
    lines.push(
      '',
      table(job.history, [
        { header: 'AT', value: (h) => time(h.at) },
        { header: 'STATE', value: (h) => paintStatus(h.state) },
        { header: 'RECEIVE', value: (h) => h.attempt, align: 'right' },
        { header: 'REASON', value: (h) => h.reason },
      ]),
    );
  }
  return lines.join('\n');
}

export async function show(target: Target, jobId: string, options: { json?: boolean }): Promise<void> {
  const job = await getOrNotFound(apiOf(target), jobId, target);
  if (options.json) return printJson(job);
  console.log(renderJob(job));
  if (job.status === 'FAILED' || job.status === 'CANCELLED') note(`run it again: jobline jobs retry ${job.jobId}`);
}

/** Polls until the job ends; prints each change. Exit 0 SUCCEEDED, 1 FAILED or CANCELLED (or the timeout). */
export interface WatchOptions {
  interval: number;
  timeout?: number;
  json?: boolean;
}

export async function watchJob(target: Target, jobId: string, options: WatchOptions): Promise<number> {
  const api = apiOf(target);
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout * 1000;
  let last = '';
  for (;;) {
    const job = await getOrNotFound(api, jobId, target);
    const state = `${job.status}|${job.attempts}|${job.generation}|${job.cancelRequested ?? ''}`;
    if (state !== last) {
      last = state;
      if (options.json) printJson(job, false);
      else
        console.log(
          `${new Date().toISOString()}  ${paintStatus(job.status)}  attempts ${job.attempts}${job.generation > 1 ? `, generation ${job.generation}` : ''}${job.cancelRequested ? ', cancel requested' : ''}${job.error && job.status !== 'SUCCEEDED' ? `  ${colors.dim(job.error)}` : ''}`,
        );
    }
    if (TERMINAL_STATES.has(job.status)) return job.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
    if (Date.now() + options.interval * 1000 > deadline) throw failed(`job ${jobId} is still ${job.status} after ${options.timeout} s`);
    await sleep(options.interval * 1000);
  }
}

export const watch = watchJob;

function refusal(error: unknown, jobId: string): unknown {
  if (error instanceof ApiError && error.status === 409) {
    const status = (error.details as { status?: string } | undefined)?.status;
    return new CliError(`${error.message}${status ? '' : ` (job ${jobId})`}`, EXIT.failed);
  }
  if (error instanceof ApiError && error.status === 404 && error.code === 'unknown_job') return notFound(`there is no job ${jobId}`);
  return error;
}

export async function cancel(target: Target, jobId: string, options: { json?: boolean }): Promise<void> {
  const job = await apiOf(target)
    .cancel(jobId)
    .catch((error: unknown) => {
      throw refusal(error, jobId);
    });
  if (options.json) return printJson(job);
  if (job.status === 'CANCELLED') console.log(`cancelled job ${job.jobId}`);
  else console.log(`cancel requested: job ${job.jobId} is ${job.status}; its handler is asked to stop (jobline jobs watch ${job.jobId})`);
}

export async function retry(target: Target, jobId: string, options: { json?: boolean }): Promise<void> {
  const answer = await apiOf(target)
    .retry(jobId)
    .catch((error: unknown) => {
      throw refusal(error, jobId);
    });
  if (options.json) return printJson(answer);
  console.log(`retried job ${answer.jobId}: ${answer.status} again, as its next generation${answer.queued === false ? ' (its message is sent by the sweeper)' : ''}`);
  note(`follow it: jobline jobs watch ${answer.jobId}`);
}
