/**
 * How a job type is declared: once, here, with its payload schema, its handler and its queue options.
 * The API validates submits with the schema, the worker runs the handler, and infra/ derives one queue,
 * one DLQ and one worker function per job type from the options.
 */
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { limitProblems, type JobLimits } from '../limits/limits';
import type { Logger } from '../log';
import './zod';
import type { Infer, Schema } from './zod';

/**
 * - transactional: the job's only effects are DynamoDB writes. The handler returns them and the worker
 *   commits them in one transaction with the job's SUCCEEDED mark: one write per job, and no duplicate
 *   delivery can pass it. No lease is needed.
 * - leased: the job has effects outside DynamoDB (an HTTP call, an email). The worker claims a lease first
 *   so two workers never run it at once, and the handler gets the job id to use as its idempotency key.
 */
export type JobKind = 'transactional' | 'leased';

export interface QueueOptions {
  /** A FIFO queue: jobs of one message group (see `groupKey`) run one at a time, in order. */
  fifo: boolean;
  /** Records per worker invocation (FIFO: at most 10). */
  batchSize: number;
  /** How long Lambda gathers records before invoking (standard queues only; required when batchSize > 10). */
  batchingWindowSeconds: number;
  /** The worker function's timeout. The queue's visibility timeout is six times this, as AWS advises. */
  timeoutSeconds: number;
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  /** Most concurrent worker invocations the event source starts (2 to 1000). */
  maxConcurrency: number;
  /** Exponential backoff between retries: base * 2^(attempt-1), capped, with jitter. */
  backoff: { baseSeconds: number; maxSeconds: number };
  memoryMb: number;
}

/**
 * With these, a job that keeps failing is retried for about 5-10 minutes (7 backoffs of 5 s doubling to
 * 300 s, each a random point in its upper half) before it is FAILED: long enough to ride out a downstream
 * restart or a short outage, short enough that a real failure reaches the DLQ within minutes.
 */
export const DEFAULT_QUEUE_OPTIONS: QueueOptions = {
  fifo: false,
  batchSize: 10,
  batchingWindowSeconds: 0,
  timeoutSeconds: 30,
  maxReceiveCount: 8,
  maxConcurrency: 10,
  backoff: { baseSeconds: 5, maxSeconds: 300 },
  memoryMb: 512,
};

/** How long SQS keeps a job's message (infra/ creates every queue with it): 14 days, SQS's longest. */
export const MESSAGE_RETENTION_SECONDS = 14 * 86_400;

/**
 * The longest a message can live through its retries: every receive can hold it for the visibility
 * timeout, and every retry waits its full backoff. SQS deletes a message older than its retention without
 * a trace, so this must stay below it.
 */
export function worstCaseRetrySeconds(q: QueueOptions): number {
  let total = q.maxReceiveCount * visibilityTimeoutSeconds(q);
  for (let attempt = 1; attempt < q.maxReceiveCount; attempt++) total += Math.min(q.backoff.maxSeconds, q.backoff.baseSeconds * 2 ** Math.min(30, attempt - 1));
  return total;
}

export interface JobContext {
  jobId: string;
  type: string;
  /** 1 on the first delivery (SQS ApproximateReceiveCount). */
  attempt: number;
  /** Epoch milliseconds by which the handler must have returned. */
  deadline: number;
  /**
   * Aborted at the deadline, and (leased jobs) when the job's caller cancels it: pass it to fetch and other
   * cancellable calls. Its reason tells which (DeadlineExceededError or CancelledError). A handler that
   * throws after a cancel leaves the job CANCELLED; one that returns leaves it SUCCEEDED.
   */
  signal: AbortSignal;
  /** The DynamoDB table of this stack (jobs and the examples' own items). */
  tableName: string;
  log: Logger;
}

export interface TransactionalOutcome<R> {
  result: R;
  /** Committed in one TransactWriteItems with the job's completion (at most 99 items). */
  writes: TransactWriteItem[];
}

/**
 * A job type's declaration: its name, kind, payload schema and queue options. It is what the API and
 * `JobClient` need to accept a job, and holds no handler code, so that a bundle built from it (the API's)
 * stays small. Declare it with `defineJobType`, in a module of its own when the handler imports much.
 *
 * `groupKey` is a method (bivariant in its parameter), so a declaration of any payload type is a
 * `JobDeclaration` without a cast.
 */
export interface JobDeclaration<S extends Schema = Schema, K extends JobKind = JobKind> {
  /** Lower-case letters, digits and dashes: it names the route, the queue and the worker. */
  readonly name: string;
  readonly kind: K;
  readonly schema: S;
  readonly queue: QueueOptions;
  /** FIFO only: the message group of a payload. Jobs of one group run one at a time, in order. */
  groupKey?(payload: Infer<S>): string;
  /**
   * Standard queues only: the tenant of a job, from its payload or its caller (the submitting identity), e.g.
   * `tenantKey: (p) => p.customerId` or `tenantKey: (_, caller) => caller`. It becomes the message's
   * MessageGroupId, which turns on SQS fair queues: a tenant with a backlog does not hold back the others'
   * jobs (docs/fairness.md). Jobs of one tenant still run side by side; order is not kept.
   */
  tenantKey?(payload: Infer<S>, caller: string): string;
  /**
   * Standard queues only: most jobs running at once and most started per second, optionally per key
   * (e.g. `{ key: (p) => new URL(p.url).host, rate: { perSecond: 10 } }`), across every worker (docs/limits.md).
   * A job over a limit waits in its queue; it uses none of its retries.
   */
  readonly limits?: JobLimits<Infer<S>>;
  /** The module that declared it (found at synth time, for the API's bundle); undefined inside a bundle. */
  readonly declaredIn?: string;
}

export interface JobTypeSpec<S extends Schema, K extends JobKind> {
  name: string;
  kind: K;
  schema: S;
  queue?: Partial<QueueOptions>;
  groupKey?(payload: Infer<S>): string;
  tenantKey?(payload: Infer<S>, caller: string): string;
  limits?: JobLimits<Infer<S>>;
}

export type TransactionalHandler<S extends Schema, R> = (payload: Infer<S>, ctx: JobContext) => Promise<TransactionalOutcome<R>>;
export type LeasedHandler<S extends Schema, R> = (payload: Infer<S>, ctx: JobContext) => Promise<R>;

interface JobCommon<S extends Schema> extends JobDeclaration<S> {
  /** The declaration this job implements (itself when declared and defined in one call). */
  readonly declaration: JobDeclaration<S>;
  /** The module that defined the handler: the worker's bundle is built from it (undefined inside a bundle). */
  readonly definedIn?: string;
}

export interface TransactionalJob<S extends Schema = Schema, R = unknown> extends JobCommon<S> {
  readonly kind: 'transactional';
  handler(payload: Infer<S>, ctx: JobContext): Promise<TransactionalOutcome<R>>;
}

export interface LeasedJob<S extends Schema = Schema, R = unknown> extends JobCommon<S> {
  readonly kind: 'leased';
  handler(payload: Infer<S>, ctx: JobContext): Promise<R>;
}

/** A job type with its handler: what a worker runs and what `Jobline.addJobType` takes. */
export type JobType<S extends Schema = Schema, R = unknown> = TransactionalJob<S, R> | LeasedJob<S, R>;

export interface TransactionalJobSpec<S extends Schema, R> extends JobTypeSpec<S, 'transactional'> {
  handler: TransactionalHandler<S, R>;
}
export interface LeasedJobSpec<S extends Schema, R> extends JobTypeSpec<S, 'leased'> {
  handler: LeasedHandler<S, R>;
}
export type JobSpec<S extends Schema, R> = TransactionalJobSpec<S, R> | LeasedJobSpec<S, R>;

/** Declares a job type without its handler: resolves its queue options and rejects settings AWS would refuse. */
export function defineJobType<S extends Schema, K extends JobKind, const N extends string>(spec: JobTypeSpec<S, K> & { name: N }): JobDeclaration<S, K> & { readonly name: N } {
  return declare(spec, definingModule()) as JobDeclaration<S, K> & { readonly name: N };
}

function declare<S extends Schema, K extends JobKind>(spec: JobTypeSpec<S, K>, declaredIn: string | undefined): JobDeclaration<S, K> {
  const queue = resolveQueueOptions(spec.queue);
  const problems = [...validateJobType(spec.name, queue, spec.groupKey !== undefined, spec.tenantKey !== undefined), ...limitProblems(spec.limits, queue.fifo)];
  if (problems.length > 0) throw new Error(`job type "${spec.name}": ${problems.join('; ')}`);
  const declaration: JobDeclaration<S, K> = {
    name: spec.name,
    kind: spec.kind,
    schema: spec.schema,
    queue,
    ...(spec.limits ? { limits: spec.limits } : {}),
    ...(declaredIn ? { declaredIn } : {}),
  };
  const groupKey = spec.groupKey?.bind(spec);
  const tenantKey = spec.tenantKey?.bind(spec);
  return { ...declaration, ...(groupKey ? { groupKey } : {}), ...(tenantKey ? { tenantKey } : {}) };
}

/**
 * Defines a job type's handler. Either for a declaration made with `defineJobType` (the handler's module
 * is then the only one in its worker's bundle that the API never loads), or with the declaration inline:
 * `defineJob({ name, kind, schema, queue, handler })`.
 */
export function defineJob<S extends Schema, R>(declaration: JobDeclaration<S, 'transactional'>, handler: TransactionalHandler<S, R>): TransactionalJob<S, R>;
export function defineJob<S extends Schema, R>(declaration: JobDeclaration<S, 'leased'>, handler: LeasedHandler<S, R>): LeasedJob<S, R>;
export function defineJob<S extends Schema, R>(spec: TransactionalJobSpec<S, R>): TransactionalJob<S, R>;
export function defineJob<S extends Schema, R>(spec: LeasedJobSpec<S, R>): LeasedJob<S, R>;
export function defineJob<S extends Schema, R>(specOrDeclaration: JobSpec<S, R> | JobDeclaration<S>, handler?: TransactionalHandler<S, R> | LeasedHandler<S, R>): JobType<S, R> {
  const definedIn = definingModule();
  if (handler === undefined) {
    const spec = specOrDeclaration as JobSpec<S, R>;
    const declaration = declare(spec, definedIn);
    return { ...declaration, declaration, handler: spec.handler, ...(definedIn ? { definedIn } : {}) } as JobType<S, R>;
  }
  const declaration = specOrDeclaration as JobDeclaration<S>;
  if (typeof handler !== 'function') throw new Error(`job type "${declaration.name}": the handler must be a function`);
  return { ...declaration, declaration, handler, ...(definedIn ? { definedIn } : {}) } as JobType<S, R>;
}

/** True for a value made by `defineJob` (what a generated worker entry looks for among a module's exports). */
export function isJobType(value: unknown): value is JobType {
  return typeof value === 'object' && value !== null && typeof (value as JobType).handler === 'function' && typeof (value as JobType).declaration === 'object';
}

/** True for a value made by `defineJobType` or `defineJob` (both carry a declaration). */
export function isJobDeclaration(value: unknown): value is JobDeclaration {
  const v = value as JobDeclaration | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.name === 'string' &&
    (v.kind === 'leased' || v.kind === 'transactional') &&
    typeof v.queue === 'object' &&
    typeof v.schema === 'object'
  );
}

/**
 * The file of the module that called defineJob/defineJobType, from the call stack (as aws-cdk-lib's
 * NodejsFunction finds its default entry). Used at synth time only: inside a bundle every frame is the bundle.
 */
function definingModule(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const self = fileOf(stack[0] ?? '');
  for (const frame of stack.slice(1)) {
    const file = fileOf(frame);
    if (file && file !== self) return file;
  }
  return undefined;
}

function fileOf(frame: string): string | undefined {
  const match = /\(?((?:file:\/\/)?\/[^()]*?):\d+:\d+\)?\s*$/.exec(frame);
  if (!match) return undefined;
  const location = match[1]!;
  return location.startsWith('file://') ? decodeURIComponent(new URL(location).pathname) : location;
}

export function resolveQueueOptions(options: Partial<QueueOptions> = {}): QueueOptions {
  return {
    ...DEFAULT_QUEUE_OPTIONS,
    ...options,
    backoff: { ...DEFAULT_QUEUE_OPTIONS.backoff, ...options.backoff },
  };
}

const NAME = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
const between = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;

/** The limits of SQS, Lambda and event source mappings, as a list of what is wrong (empty when fine). */
export function validateJobType(name: string, q: QueueOptions, hasGroupKey: boolean, hasTenantKey = false): string[] {
  const problems: string[] = [];
  if (!NAME.test(name)) problems.push('name must be 2-40 lower-case letters, digits or dashes, starting with a letter');
  if (!between(q.timeoutSeconds, 1, 900)) problems.push('timeoutSeconds must be 1-900');
  if (!between(q.maxReceiveCount, 1, 1000)) problems.push('maxReceiveCount must be 1-1000');
  if (!between(q.maxConcurrency, 2, 1000)) problems.push('maxConcurrency must be 2-1000');
  if (!between(q.batchingWindowSeconds, 0, 300)) problems.push('batchingWindowSeconds must be 0-300');
  if (!between(q.memoryMb, 128, 10240)) problems.push('memoryMb must be 128-10240');
  if (!(q.backoff.baseSeconds >= 0 && q.backoff.maxSeconds >= q.backoff.baseSeconds && q.backoff.maxSeconds <= 43200)) {
    problems.push('backoff needs 0 <= baseSeconds <= maxSeconds <= 43200');
  }
  if (visibilityTimeoutSeconds(q) > 43200) problems.push('6 x timeoutSeconds + batchingWindowSeconds must be at most 43200 (the longest visibility timeout)');
  else if (worstCaseRetrySeconds(q) > MESSAGE_RETENTION_SECONDS) {
    problems.push(`maxReceiveCount x (visibility timeout + backoff) must fit SQS's 14-day message retention (given ${worstCaseRetrySeconds(q)} s)`);
  }
  if (q.fifo) {
    if (!between(q.batchSize, 1, 10)) problems.push('a FIFO queue takes batchSize 1-10');
    if (q.batchingWindowSeconds !== 0) problems.push('a FIFO queue takes no batching window');
    if (!hasGroupKey) problems.push('a FIFO job type needs a groupKey');
    if (hasTenantKey) problems.push("tenantKey is for standard queues: a FIFO queue's groupKey already keeps each group's jobs apart");
  } else {
    if (!between(q.batchSize, 1, 10000)) problems.push('batchSize must be 1-10000');
    if (q.batchSize > 10 && q.batchingWindowSeconds < 1) problems.push('batchSize above 10 needs batchingWindowSeconds >= 1');
    if (hasGroupKey) problems.push('groupKey is for FIFO queues only');
  }
  return problems;
}

/** AWS advises a visibility timeout of at least six times the function timeout, plus the batching window. */
export function visibilityTimeoutSeconds(q: QueueOptions): number {
  return 6 * q.timeoutSeconds + q.batchingWindowSeconds;
}
