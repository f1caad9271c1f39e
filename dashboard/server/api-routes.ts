/**
 * The dashboard server's JSON routes under /api/. Each reads or acts on the target the way the CLI does
 * (cli/target.ts): jobs through the HTTP API with JobApiClient (so the dashboard sees and changes the jobs
 * of the caller it runs as: locally `local`, on a stack the operator's IAM principal), queues through SQS
 * (cli/dlq-queue.ts, cli/job-counts.ts), and a job's payload from its record (job-content.ts).
 *
 *   GET  /api/config                 the target, read-only or not, job types, states
 *   GET  /api/overview               overview.ts
 *   GET  /api/jobs?type&state&createdAfter&createdBefore&limit&cursor   a page of jobs, newest first
 *   GET  /api/search?q&type          by job id or Idempotency-Key
 *   GET  /api/jobs/{id}              the job, its payload and result (capped), its log lines (locally)
 *   POST /api/jobs/{id}/cancel|retry
 *   POST /api/bulk/cancel|retry      body: the filter; a task (tasks.ts)
 *   GET  /api/dlq                    each DLQ's depth
 *   GET  /api/dlq/{type}?limit       peek: the parked messages, nothing removed
 *   POST /api/dlq/{type}/redrive     a task
 *   GET  /api/tasks/{id}
 */
import type { ApiError, ApiJobView, BulkQuery } from '../../shared/client/api-client';
import { countJobs } from '../../cli/job-counts';
import { dlqDepth, dlqDepths, peekDlq, redriveDlq } from '../../cli/dlq-queue';
import { STATES } from '../../cli/states';
import { apiOf, jobTypeOf, type Target } from '../../cli/target';
import { capText, readPayload } from './job-content';
import { findJobLogLines } from './job-logs';
import { buildOverview, type Overview } from './overview';
import { BULK_STATES, parseBulkFilter, parseListQuery, parsePeekLimit, parseSearch, type BulkAction } from './query';
import type { Tasks } from './tasks';

export interface Answer {
  status: number;
  body: unknown;
}

export interface RouteContext {
  target: Target;
  readOnly: boolean;
  tasks: Tasks;
  /** Pages of 100 jobs counted per type and state for the overview (as jobline stats --max-pages). */
  maxPages: number;
  overview: () => Promise<Overview>;
}

const ok = (body: unknown): Answer => ({ status: 200, body });
export const problem = (status: number, code: string, message: string): Answer => ({ status, body: { error: { code, message } } });

/** The overview, computed at most once per `ttlMs` however many pages ask (each costs the API a dozen list calls per type). */
export function cachedOverview(target: () => Target, maxPages: number, ttlMs: number): () => Promise<Overview> {
  let last: { at: number; value: Promise<Overview> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > ttlMs) {
      const t = target();
      const value = countJobs(t, maxPages).then((counts) => buildOverview(counts, t.label, Date.now()));
      last = { at: now, value };
      // A failure is not kept: the next ask tries again.
      value.catch(() => (last = undefined));
    }
    return last.value;
  };
}

export async function route(method: string, url: URL, body: unknown, context: RouteContext): Promise<Answer> {
  const { target } = context;
  const parts = url.pathname.split('/').slice(2).map(decodeURIComponent); // after /api/
  const types = target.jobTypes.map((t) => t.type);
  const [first, second, third] = parts;

  if (method === 'GET' && first === 'config' && parts.length === 1) {
    return ok({ target: target.label, kind: target.kind, readOnly: context.readOnly, jobTypes: types, states: STATES, hasApi: !!target.apiClient, logs: !!target.logDir });
  }
  if (method === 'GET' && first === 'overview' && parts.length === 1) return ok(await context.overview());

  if (first === 'jobs') {
    if (method === 'GET' && parts.length === 1) {
      const query = parseListQuery(url.searchParams, types);
      if (!query.ok) return problem(400, 'invalid_query', query.message);
      const page = await apiOf(target).list(query.value);
      return ok({ jobs: page.jobs.map(summary), ...(page.cursor ? { cursor: page.cursor } : {}) });
    }
    if (method === 'GET' && second !== undefined && parts.length === 2) return jobDetail(target, second);
    if (method === 'POST' && second !== undefined && (third === 'cancel' || third === 'retry') && parts.length === 3) {
      const api = apiOf(target);
      const answer = third === 'cancel' ? await api.cancel(second) : await api.retry(second);
      return ok({ job: answer });
    }
  }

  if (method === 'GET' && first === 'search' && parts.length === 1) {
    const search = parseSearch(url.searchParams, types);
    if (!search.ok) return problem(400, 'invalid_query', search.message);
    const api = apiOf(target);
    if (search.value.kind === 'jobId') {
      const job = await api.get(search.value.jobId);
      return ok({ jobs: job ? [summary(job)] : [] });
    }
    const { key } = search.value;
    const found = await Promise.all(search.value.types.map(async (type) => (await api.list({ type, key })).jobs));
    return ok({ jobs: found.flat().map(summary) });
  }

  if (method === 'POST' && first === 'bulk' && (second === 'cancel' || second === 'retry') && parts.length === 2) {
    const filter = parseBulkFilter(body, second, types);
    if (!filter.ok) return problem(400, 'invalid_body', filter.message);
    return startBulk(context, second, filter.value);
  }

  if (first === 'dlq') {
    if (method === 'GET' && parts.length === 1) return ok({ dlqs: await dlqDepths(target) });
    if (method === 'GET' && second !== undefined && parts.length === 2) {
      const limit = parsePeekLimit(url.searchParams);
      if (!limit.ok) return problem(400, 'invalid_query', limit.message);
      const peek = await peekDlq(target, second, limit.value);
      return ok({ ...peek, messages: peek.messages.map((m) => ({ ...m, body: capText(m.body, 4096).text })) });
    }
    if (method === 'POST' && second !== undefined && third === 'redrive' && parts.length === 3) return startRedrive(context, second);
  }

  if (method === 'GET' && first === 'tasks' && second !== undefined && parts.length === 2) {
    const task = context.tasks.get(second);
    return task ? ok(task) : problem(404, 'unknown_task', `there is no task ${second} (finished tasks are forgotten after a while)`);
  }
  return problem(404, 'not_found', `no route ${method} ${url.pathname}`);
}

/** A job as a row of the browser shows it: the view without its timeline and result (the detail has them). */
function summary(job: ApiJobView) {
  const { history: _history, result: _result, ...rest } = job;
  return rest;
}

async function jobDetail(target: Target, jobId: string): Promise<Answer> {
  // The API first: it says whether the caller may see the job at all.
  const job = await apiOf(target).get(jobId);
  if (!job) return problem(404, 'unknown_job', `there is no job ${jobId} (a job is seen only by its caller; records expire after the retention period)`);
  const [payload, logs] = await Promise.all([
    readPayload(target, job.jobId).catch((error: Error) => ({ error: error.message })),
    target.logDir ? findJobLogLines(target.logDir, job.jobId) : undefined,
  ]);
  const { result, ...view } = job;
  return ok({
    job: view,
    ...(result !== undefined ? { result: capText(JSON.stringify(result)) } : {}),
    ...(payload ? { payload } : {}),
    ...(logs ? { logs } : {}),
  });
}

function startBulk(context: RouteContext, action: BulkAction, filter: Omit<BulkQuery, 'cursor'>): Answer {
  const api = apiOf(context.target);
  const what = `${filter.state ?? BULK_STATES[action].join(' and ')} jobs${filter.type ? ` of type ${filter.type}` : ''}`;
  const task = context.tasks.start('bulk', `${action} ${what}`, action, async (progress) => {
    const totals = { calls: 0, matched: 0, changed: 0, skipped: 0 };
    let cursor: string | undefined;
    // Each call is bounded in time by the API (5 s); its cursor says where the next goes on.
    do {
      const answer = await api.bulk(action, { ...filter, ...(cursor ? { cursor } : {}) });
      totals.calls++;
      totals.matched += answer.matched;
      totals.changed += answer.changed;
      totals.skipped += answer.skipped;
      cursor = answer.cursor;
      progress({ done: totals.matched, ...(cursor ? {} : { total: totals.matched }), note: `${totals.changed} changed, ${totals.skipped} skipped` });
    } while (cursor);
    return totals;
  });
  return { status: 202, body: task };
}

async function startRedrive(context: RouteContext, type: string): Promise<Answer> {
  const { target } = context;
  const { dlqUrl } = jobTypeOf(target, type);
  apiOf(target); // no API, no retry: refused before anything is received
  const running = context.tasks.running('redrive', type);
  if (running) return problem(409, 'redrive_running', `a redrive of the ${type} DLQ is running already (task ${running.id})`);
  const { messages: depth } = await dlqDepth(await target.sqs(), { type, dlqUrl });
  const task = context.tasks.start('redrive', `redrive ${type}`, type, (progress) =>
    redriveDlq(target, type, depth, ({ done, total, last }) => progress({ done, total, ...(last.jobId ? { note: last.jobId } : {}) })),
  );
  return { status: 202, body: task };
}

/** An API answer the dashboard passes on: its status and problem code (a 409 not retryable, a 404 unknown job). */
export function apiProblem(error: ApiError): Answer {
  return problem(error.status >= 500 ? 502 : error.status, error.code, error.message);
}
