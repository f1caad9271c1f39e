/**
 * `JobApiClient`: the jobline HTTP API from any Node.js process: submit, get, list, cancel and retry jobs.
 * Transport only, no AWS dependency: against an API with IAM authorization pass `sign`, which adds the
 * SigV4 headers of each request (cli/api.ts builds one from the user's credentials). Without it requests go
 * unsigned, as curl sends them (the local runtime's caller `local`, or an API deployed without authorization).
 *
 * Every answer that is not 2xx is an `ApiError` with the API's problem code; a request that reached no
 * server is an `ApiUnreachableError`.
 */
import type { JobView } from './job-client';

export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface JobApiClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000 or https://abc.execute-api.eu-west-1.amazonaws.com. */
  apiUrl: string;
  /** Returns the headers to send (SigV4 for IAM APIs). */
  sign?: (request: SignableRequest) => Promise<Record<string, string>>;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
}

/** What the API answers: the job view, with the lifecycle's fields where the API has them. */
export type ApiJobView = Omit<JobView, 'status'> & {
  /** One of the states of shared/store/job-states.ts (an API may know states this client does not). */
  status: string;
};

export interface SubmitAnswer {
  jobId: string;
  type: string;
  status: string;
  statusUrl: string;
  runAt?: string | number;
  queued?: boolean;
  /** The Idempotency-Key named a job that existed: this is that job. */
  replayed: boolean;
}

export interface JobPage {
  jobs: ApiJobView[];
  cursor?: string;
}

export interface ListQuery {
  type?: string;
  state?: string;
  limit?: number;
  cursor?: string;
  key?: string;
  /** ISO 8601 bounds on the creation time (inclusive). */
  createdAfter?: string;
  createdBefore?: string;
}

export interface BulkQuery {
  /** Absent: every job type. */
  type?: string;
  state?: string;
  createdAfter?: string;
  createdBefore?: string;
  cursor?: string;
}

export interface BulkAnswer {
  matched: number;
  changed: number;
  skipped: number;
  cursor?: string;
}

/** The API answered with an error: its HTTP status, its problem code and message, and any details. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** The request that was answered, e.g. `GET /jobs`. */
    readonly request?: string,
  ) {
    super(message);
  }
}

/** No answer: the API could not be reached (refused, reset, timed out, name not resolved). */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`the API at ${url} could not be reached: ${causeOf(cause)}`, { cause });
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return cause.code;
  return error instanceof Error ? error.message : String(error);
}

export class JobApiClient {
  readonly apiUrl: string;
  private readonly options: JobApiClientOptions;

  constructor(options: JobApiClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.options = options;
  }

  /** POST /jobs/{type}: `delaySeconds` or `runAt` (ISO 8601) schedule it; `idempotencyKey` makes retries the same job. */
  async submit(type: string, payload: unknown, options: { idempotencyKey?: string; delaySeconds?: number; runAt?: string; callbackUrl?: string } = {}): Promise<SubmitAnswer> {
    const query: Record<string, string> = {};
    if (options.delaySeconds !== undefined) query.delay = String(options.delaySeconds);
    if (options.runAt !== undefined) query.runAt = options.runAt;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    if (options.callbackUrl !== undefined) headers['callback-url'] = options.callbackUrl;
    const answer = await this.request<Omit<SubmitAnswer, 'replayed'>>('POST', `/jobs/${encodeURIComponent(type)}`, { query, headers, body: JSON.stringify(payload) });
    return { ...answer.body, replayed: answer.headers.get('idempotent-replayed') === 'true' };
  }

  /** GET /jobs/{id}; undefined when there is no such job (or it is another caller's). */
  async get(jobId: string): Promise<ApiJobView | undefined> {
    try {
      return (await this.request<ApiJobView>('GET', `/jobs/${encodeURIComponent(jobId)}`)).body;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.code === 'unknown_job') return undefined;
      throw error;
    }
  }

  /** GET /jobs?type=&state=&limit=&cursor=&key=&createdAfter=&createdBefore=: the caller's jobs, newest first, a page at a time. */
  async list(query: ListQuery = {}): Promise<JobPage> {
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params[name] = String(value);
    return (await this.request<JobPage>('GET', '/jobs', { query: params })).body;
  }

  /** POST /jobs/{id}/cancel: CANCELLED, or RUNNING with cancelRequested when a leased job is running. */
  async cancel(jobId: string): Promise<ApiJobView> {
    return (await this.request<ApiJobView>('POST', `/jobs/${encodeURIComponent(jobId)}/cancel`)).body;
  }

  /** POST /jobs/{id}/retry: a FAILED (or CANCELLED) job runs again as its next generation. */
  async retry(jobId: string): Promise<SubmitAnswer> {
    const answer = await this.request<Omit<SubmitAnswer, 'replayed'>>('POST', `/jobs/${encodeURIComponent(jobId)}/retry`);
    return { ...answer.body, replayed: false };
  }

  /** POST /bulk/cancel or /bulk/retry: one time-bounded call; call again with `cursor` while it returns one. */
  async bulk(action: 'cancel' | 'retry', query: BulkQuery): Promise<BulkAnswer> {
    return (await this.request<BulkAnswer>('POST', `/bulk/${action}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(query) })).body;
  }

  private async request<T>(
    method: string,
    path: string,
    options: { query?: Record<string, string>; headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; headers: Headers; body: T }> {
    const url = new URL(`${this.apiUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    let headers = options.headers ?? {};
    if (this.options.sign) headers = await this.options.sign({ method, url, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: options.body, signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch (error) {
      throw new ApiUnreachableError(this.apiUrl, error);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    if (!response.ok) {
      // jobline's problem+json ({error: {code, message, details}}), or API Gateway's own ({message}).
      const problem = (body as { error?: { code?: string; message?: string; details?: unknown }; message?: string } | undefined) ?? {};
      const code = problem.error?.code ?? (response.status === 404 ? 'not_found' : response.status === 403 ? 'forbidden' : `http_${response.status}`);
      throw new ApiError(
        response.status,
        code,
        problem.error?.message ?? problem.message ?? `${method} ${path} answered ${response.status}`,
        problem.error?.details,
        `${method} ${path}`,
      );
    }
    return { status: response.status, headers: response.headers, body: body as T };
  }
}
