/**
 * `JobClient`: submit and read jobs from any Lambda function or Node.js process with AWS credentials,
 * straight to the stack's table and queues, with the API's validation, idempotency rules and outcomes
 * (shared/submission/submit-job.ts runs both).
 *
 * ```ts
 * const jobs = new JobClient({ jobTypes: [transferType, webhookType] });
 * const { jobId, replayed } = await jobs.submit('transfer', { from: 'alice', to: 'bob', amount: 100 }, { idempotencyKey: 'order-42' });
 * const view = await jobs.get(jobId); // { jobId, type, status, attempts, result?, error?, ... } | undefined
 * ```
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { input } from 'zod/v4/core';
import { PUBLIC_CALLER } from '../api/caller';
import { isServiceFailure } from '../api/service-failure';
import { dynamoClient, sqsClient } from '../aws/clients';
import { reasonOf } from '../errors';
import { ENV, numberEnv, queueUrlVariable, requireEnv } from '../config';
import type { JobDeclaration } from '../jobs/define';
import { createLogger, type Logger } from '../log';
import { toJobView, type JobStatus } from '../store/job-record';
import { SubmissionStore } from '../store/submission-store';
import { sqsBatchSender, sqsSender } from '../submission/sqs-send';
import { submitJobs } from '../submission/submit-batch';
import { cancelJob, findJobByKey, listOwnJobs, retryJob, type LifecycleOutcome } from '../submission/lifecycle';
import {
  getJob,
  jsonValueOf,
  submitJob,
  submittableType,
  type PayloadIssue,
  type QueueTarget,
  type SubmissionDeps,
  type SubmitRefusal,
  type SubmitRequest,
} from '../submission/submit-job';

export type { PayloadIssue } from '../submission/submit-job';

/** What `get` returns: the view `GET /jobs/{id}` answers with. */
export type JobView = ReturnType<typeof toJobView>;

/** The declarations among `T` that a type named `N` may be (any whose name is not a literal type). */
export type DeclarationNamed<T extends JobDeclaration, N extends string> = T extends unknown ? (N extends T['name'] ? T : never) : never;

/** What `submit` takes as the payload of type `N`: the schema's input (defaults may be left out). */
export type PayloadOf<T extends JobDeclaration, N extends string> = input<DeclarationNamed<T, N>['schema']>;

export interface JobClientOptions<T extends readonly JobDeclaration[] = readonly JobDeclaration[]> {
  /** The declared job types (`defineJobType` or `defineJob` results); only these can be submitted. */
  jobTypes: T;
  /** The stack's job table. Default: JOBLINE_TABLE_NAME. */
  tableName?: string;
  /** Each job type's queue URL by type name. Default: the API function's variables, JOBLINE_QUEUE_URL_<TYPE>. */
  queueUrls?: Record<string, string>;
  /**
   * Who submits: the owner of the jobs and the scope of their idempotency keys. Default `public`, the one
   * caller of an API deployed without authorization: such jobs can be read over HTTP there, and their keys
   * are the HTTP callers' keys. With IAM authorization (the default) every HTTP caller is their IAM
   * principal (an assumed role's session name dropped), another caller than `public`: pass that principal's
   * ARN here to share jobs and keys with it.
   */
  caller?: string;
  /** Default: the process's shared client (endpoint from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL). */
  dynamodb?: DynamoDBClient;
  /** Default: the process's shared client (endpoint from AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL). */
  sqs?: SQSClient;
  /** Days a job record is kept. Default: JOBLINE_RETENTION_DAYS, else 30 (as the API). */
  retentionDays?: number;
  /** When the sweeper first looks at an unfinished job. Default: JOBLINE_SWEEP_AFTER_SECONDS, else 300 (as the API). */
  sweepAfterSeconds?: number;
  /** Default: JSON lines on stdout, component `client`, level JOBLINE_LOG_LEVEL. */
  log?: Logger;
}

export interface SubmitOptions {
  /**
   * Makes retries of one submit the same job: the job id is derived from (caller, type, key). The same key
   * with the same payload gives that job again (`replayed: true`); with another payload it is refused
   * (`idempotency_key_reused`). 1-255 printable ASCII characters without commas.
   */
  idempotencyKey?: string;
  /**
   * POSTed the job's final view, signed (Jobline-Signature), at each terminal state: an absolute https URL
   * of at most 2048 characters (http only to loopback, locally). See docs/callbacks-and-events.md.
   */
  callbackUrl?: string;
  /** Run the job no earlier than this (a Date, or epoch milliseconds), at most a year ahead. */
  runAt?: Date | number;
  /** Run the job no earlier than this many seconds from now (instead of `runAt`). */
  delaySeconds?: number;
}

export interface SubmittedJob<N extends string = string> {
  jobId: string;
  type: N;
  /** PENDING for a new job; a replay reports the job's real status. */
  status: JobStatus;
  /** True when the idempotency key named a job that already existed: this is that job. */
  replayed: boolean;
  /**
   * False when the job is recorded but its message could not be sent (or its outcome is unknown): the
   * sweeper sends it. Poll the job; do not submit it again.
   */
  queued: boolean;
}

export type JobRefusalCode =
  'unknown_job_type' | 'invalid_idempotency_key' | 'invalid_callback_url' | 'invalid_delay' | 'invalid_payload' | 'idempotency_key_reused' | 'payload_too_large';

/** The job was refused; submitting it again as it is would be refused again. */
export class JobRefusedError extends Error {
  override readonly name = 'JobRefusedError';
  readonly code: JobRefusalCode;
  /** invalid_payload: every failing field (at most 20), or the one reason the payload is not JSON as carried. */
  readonly issues: readonly PayloadIssue[];
  /** idempotency_key_reused: the job the key belongs to. */
  readonly jobId: string | undefined;

  constructor(code: JobRefusalCode, message: string, details: { issues?: readonly PayloadIssue[]; jobId?: string } = {}) {
    super(message);
    this.code = code;
    this.issues = details.issues ?? [];
    this.jobId = details.jobId;
  }
}

/** The job is in a state the operation cannot leave (cancel of a finished job, retry of one that did not fail). */
export class JobStateError extends Error {
  override readonly name = 'JobStateError';
  constructor(
    message: string,
    readonly status: JobStatus,
  ) {
    super(message);
  }
}

/**
 * DynamoDB could not be reached or refused the request (unavailable, throttled, no such table): nothing
 * was recorded. `jobId` is the id the job would have had: with an idempotency key, retrying is safe;
 * without one, `get(jobId)` first (a lost answer may have recorded it). The AWS error is the `cause`.
 */
export class JobServiceUnavailableError extends Error {
  override readonly name = 'JobServiceUnavailableError';
  readonly jobId: string;

  constructor(message: string, jobId: string, cause: unknown) {
    super(message, { cause });
    this.jobId = jobId;
  }
}

/**
 * Submits and reads jobs of the declared types. Build it with the declarations as a literal list and
 * `submit` checks the payload against the declaration of the type named (when the declarations' names are
 * literal types).
 *
 * The jobs belong to `caller` (default `public`): `get` sees only that caller's jobs, and idempotency keys
 * are that caller's. HTTP callers authenticated with IAM are other callers (their IAM principal); only an
 * API deployed without authorization (everyone is `public`) shares jobs and keys with a default client.
 */
export class JobClient<const T extends readonly JobDeclaration[] = readonly JobDeclaration[]> {
  /** The owner of the jobs this client submits and the only caller whose jobs it reads. */
  readonly caller: string;
  private readonly deps: SubmissionDeps;

  constructor(options: JobClientOptions<T>) {
    const env = process.env;
    const queues = new Map<string, QueueTarget>();
    for (const type of options.jobTypes) {
      const url = options.queueUrls ? options.queueUrls[type.name] : env[queueUrlVariable(type.name)];
      if (url) queues.set(type.name, { url, fifo: type.queue.fifo });
    }
    const sqs = options.sqs;
    this.caller = options.caller ?? PUBLIC_CALLER;
    if (this.caller === '') throw new Error('JobClient: caller must not be empty');
    this.deps = {
      jobTypes: options.jobTypes,
      queues,
      store: new SubmissionStore(options.dynamodb ?? dynamoClient(), options.tableName ?? requireEnv(ENV.tableName, env)),
      send: sqsSender(sqs ?? sqsClient),
      sendBatch: sqsBatchSender(sqs ?? sqsClient),
      log: options.log ?? createLogger({ component: 'client' }),
      retentionDays: options.retentionDays ?? numberEnv(ENV.retentionDays, 30, env, 1),
      sweepAfterSeconds: options.sweepAfterSeconds ?? numberEnv(ENV.sweepAfterSeconds, 300, env, 1),
    };
  }

  /**
   * Validates the payload against the type's schema (as its JSON form: what the worker gets), records the
   * job PENDING and sends its message. Throws `JobRefusedError` when the job is refused and
   * `JobServiceUnavailableError` when it could not be recorded; a message that could not be sent is
   * `queued: false`, not an error (the job is recorded, the sweeper sends it).
   */
  async submit<N extends T[number]['name']>(type: N, payload: PayloadOf<T[number], N>, options: SubmitOptions = {}): Promise<SubmittedJob<N>> {
    if (!submittableType(this.deps, type)) throw this.refused({ kind: 'unknown_job_type', type, jobTypes: this.deps.jobTypes.map((t) => t.name) }, type);
    const json = jsonValueOf(payload);
    if (!json.ok) throw this.refused(json.refusal, type);
    const { idempotencyKey, callbackUrl } = options;
    const runAt = options.delaySeconds !== undefined ? Date.now() + options.delaySeconds * 1000 : options.runAt !== undefined ? Number(options.runAt) : undefined;
    const outcome = await submitJob(this.deps, {
      type,
      payload: json.value,
      owner: this.caller,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(callbackUrl !== undefined ? { callbackUrl } : {}),
      ...(runAt !== undefined ? { runAt } : {}),
    });
    if (outcome.kind !== 'accepted') throw this.refused(outcome, type, idempotencyKey !== undefined);
    const { job, replayed, queued } = outcome;
    return { jobId: job.jobId, type, status: job.status, replayed, queued };
  }

  /**
   * Up to 100 jobs of one type at once (`POST /jobs/{type}/batch` does the same): each is checked, recorded
   * and answered exactly as `submit` would, and their messages go 10 to a SendMessageBatch call. Nothing is
   * thrown for one job: each result, in order, is its `SubmittedJob` or the error `submit` would have
   * thrown for it (JobRefusedError, JobServiceUnavailableError).
   */
  async submitMany<N extends T[number]['name']>(type: N, jobs: readonly { payload: PayloadOf<T[number], N>; options?: SubmitOptions }[]): Promise<(SubmittedJob<N> | Error)[]> {
    if (!submittableType(this.deps, type)) throw this.refused({ kind: 'unknown_job_type', type, jobTypes: this.deps.jobTypes.map((t) => t.name) }, type);
    const results = new Array<SubmittedJob<N> | Error>(jobs.length);
    const requests: { index: number; request: SubmitRequest }[] = [];
    jobs.forEach(({ payload, options = {} }, index) => {
      const json = jsonValueOf(payload);
      if (!json.ok) {
        results[index] = this.refused(json.refusal, type);
        return;
      }
      const runAt = options.delaySeconds !== undefined ? Date.now() + options.delaySeconds * 1000 : options.runAt !== undefined ? Number(options.runAt) : undefined;
      requests.push({
        index,
        request: {
          type,
          payload: json.value,
          owner: this.caller,
          ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
          ...(options.callbackUrl !== undefined ? { callbackUrl: options.callbackUrl } : {}),
          ...(runAt !== undefined ? { runAt } : {}),
        },
      });
    });
    const outcomes = await submitJobs(
      this.deps,
      requests.map((r) => r.request),
    );
    requests.forEach(({ index, request }, i) => {
      const outcome = outcomes[i]!;
      results[index] =
        outcome.kind === 'accepted'
          ? { jobId: outcome.job.jobId, type, status: outcome.job.status, replayed: outcome.replayed, queued: outcome.queued }
          : this.refused(outcome, type, request.idempotencyKey !== undefined);
    });
    return results;
  }

  /** The job as `GET /jobs/{id}` shows it, or undefined when there is none: unknown, expired, or another caller's. */
  async get(jobId: string): Promise<JobView | undefined> {
    try {
      const job = await getJob(this.deps.store, jobId, this.caller);
      return job && toJobView(job);
    } catch (error) {
      if (isServiceFailure(error)) throw new JobServiceUnavailableError(`the job could not be read (${reasonOf(error)}); retry shortly`, jobId, error);
      throw error;
    }
  }

  /** The caller's job of `type` submitted with `idempotencyKey`, or undefined. */
  async findByKey(type: T[number]['name'], idempotencyKey: string): Promise<JobView | undefined> {
    const job = await this.reading(idempotencyKey, () => findJobByKey(this.deps, this.caller, type, idempotencyKey));
    return job && toJobView(job);
  }

  /**
   * Cancels a job: SCHEDULED and PENDING jobs are CANCELLED at once (they never run); a RUNNING leased job
   * gets a cancel request that aborts its handler's signal (the view shows `cancelRequested: true`).
   * Throws `JobStateError` when the job is finished; undefined when there is no such job of this caller.
   */
  async cancel(jobId: string): Promise<JobView | undefined> {
    return this.lifecycle(jobId, () => cancelJob(this.deps, jobId, this.caller));
  }

  /** Runs a FAILED or CANCELLED job again as its next generation. Throws `JobStateError` in any other state. */
  async retry(jobId: string): Promise<JobView | undefined> {
    return this.lifecycle(jobId, () => retryJob(this.deps, jobId, this.caller));
  }

  /** A page of this caller's jobs, newest first; pass `cursor` from the last page for the next. */
  async list(
    query: { type?: T[number]['name']; state?: JobStatus; limit?: number; cursor?: string; createdAfter?: Date; createdBefore?: Date } = {},
  ): Promise<{ jobs: JobView[]; cursor?: string }> {
    const outcome = await this.reading('list', () =>
      listOwnJobs(this.deps, {
        owner: this.caller,
        ...(query.type !== undefined ? { type: query.type } : {}),
        ...(query.state !== undefined ? { state: query.state } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
        ...(query.createdAfter !== undefined ? { createdAfter: query.createdAfter.toISOString() } : {}),
        ...(query.createdBefore !== undefined ? { createdBefore: query.createdBefore.toISOString() } : {}),
      }),
    );
    if (outcome.kind === 'invalid') throw new RangeError(outcome.reason);
    return { jobs: outcome.page.jobs.map(toJobView), ...(outcome.page.cursor !== undefined ? { cursor: outcome.page.cursor } : {}) };
  }

  private async lifecycle(jobId: string, run: () => Promise<LifecycleOutcome>): Promise<JobView | undefined> {
    const outcome = await this.reading(jobId, run);
    if (outcome.kind === 'unknown_job') return undefined;
    if (outcome.kind === 'conflict') throw new JobStateError(outcome.reason, outcome.job.status);
    return toJobView(outcome.job);
  }

  private async reading<R>(subject: string, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (error) {
      if (isServiceFailure(error)) throw new JobServiceUnavailableError(`the job store could not be reached (${reasonOf(error)}); retry shortly`, subject, error);
      throw error;
    }
  }

  private refused(refusal: SubmitRefusal, type: string, keyed = false): Error {
    switch (refusal.kind) {
      case 'unknown_job_type': {
        const declared = this.deps.jobTypes.some((t) => t.name === type);
        return new JobRefusedError(
          'unknown_job_type',
          declared
            ? `job type "${type}" has no queue URL: set ${queueUrlVariable(type)} or pass queueUrls`
            : `there is no job type "${type}" (declared: ${refusal.jobTypes.join(', ') || 'none'})`,
        );
      }
      case 'invalid_idempotency_key':
        return new JobRefusedError('invalid_idempotency_key', refusal.reason);
      case 'invalid_callback_url':
        return new JobRefusedError('invalid_callback_url', refusal.reason);
      case 'invalid_delay':
        return new JobRefusedError('invalid_delay', refusal.reason);
      case 'invalid_payload':
        return new JobRefusedError('invalid_payload', refusal.issues ? `${refusal.reason}: ${summary(refusal.issues)}` : `invalid payload: ${refusal.reason}`, {
          issues: refusal.issues ?? [{ path: '', message: refusal.reason }],
        });
      case 'payload_too_large':
        return new JobRefusedError('payload_too_large', refusal.reason);
      case 'idempotency_key_reused':
        return new JobRefusedError('idempotency_key_reused', 'this idempotency key was used for another payload; use a new key for a new job', { jobId: refusal.jobId });
      case 'unavailable':
        return new JobServiceUnavailableError(
          `the job could not be recorded (${reasonOf(refusal.cause)}); ${keyed ? 'retry with the same idempotency key' : `if the answer was lost it may exist: get("${refusal.jobId}") before submitting again (an idempotency key makes retries safe)`}`,
          refusal.jobId,
          refusal.cause,
        );
    }
  }
}

function summary(issues: readonly PayloadIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}
