/**
 * A job type's limits (declared with `limits` on the job type): how many of its jobs may run at once, and
 * how fast they may start, optionally counted per key (a tenant, a target host). The worker enforces them
 * with conditional writes to the job table before it runs a job (shared/limits/admission.ts); a job over
 * a limit goes back to its queue as a delayed copy and uses none of its retries.
 */
export interface JobLimits<P = unknown> {
  /**
   * What the limits count by: from the payload, e.g. `(p) => new URL(p.url).host` for one rate per target
   * host, or from the job's tenant (its `tenantKey`, which may be the caller's identity), e.g.
   * `(_, tenant) => tenant ?? 'no tenant'` for one limit per tenant. `tenant` is the job's tenant as its
   * message carries it (the MessageGroupId: the tenant itself, or a hash of one that is not a valid group
   * id); undefined for a job type without a tenantKey. Jobs whose key is the same share one count.
   * @default one count for the whole job type
   */
  key?(payload: P, tenant: string | undefined): string;
  /**
   * Most jobs of one key running at once, across every worker.
   * @default no limit
   */
  concurrency?: number;
  /**
   * Most jobs of one key started per second, across every worker, with bursts of up to `burst` jobs
   * started back to back after a quiet spell.
   * @default no limit
   */
  rate?: { perSecond: number; burst?: number };
}

/** Every limit's item in the job table has a key starting with this (the workers' IAM names it). */
export const LIMIT_KEY_PREFIX = 'LIMIT#';

/** The most a limit key may be, in characters (it is part of a DynamoDB key). */
export const MAX_LIMIT_KEY_LENGTH = 512;

/** The burst a rate allows when none is given: one second's worth, at least one job. */
export const defaultBurst = (perSecond: number) => Math.max(1, Math.ceil(perSecond));

/** What AWS and the limiter would refuse, in words, for validateJobType. */
export function limitProblems(limits: JobLimits<never> | undefined, fifo: boolean): string[] {
  if (!limits) return [];
  const problems: string[] = [];
  if (fifo) problems.push("limits are for standard queues: a job over its limit goes back as a new message, which would break a FIFO group's order");
  if (limits.concurrency !== undefined && !(Number.isInteger(limits.concurrency) && limits.concurrency >= 1 && limits.concurrency <= 1000)) {
    problems.push('limits.concurrency must be a whole number 1-1000');
  }
  if (limits.rate !== undefined) {
    const { perSecond, burst } = limits.rate;
    if (!(perSecond > 0 && perSecond <= 10_000)) problems.push('limits.rate.perSecond must be more than 0 and at most 10000');
    if (burst !== undefined && !(Number.isInteger(burst) && burst >= 1 && burst <= 100_000)) problems.push('limits.rate.burst must be a whole number 1-100000');
  }
  if (limits.concurrency === undefined && limits.rate === undefined) problems.push('limits needs a concurrency, a rate, or both');
  return problems;
}

/** A limit's numbers without its key: what a deployment may set for a job type (AddJobTypeOptions.limits). */
export type LimitNumbers = Pick<JobLimits, 'concurrency' | 'rate'>;

/** The numbers of `limits`, for the worker's environment. */
export const limitNumbers = (limits: JobLimits<never>): LimitNumbers => ({
  ...(limits.concurrency !== undefined ? { concurrency: limits.concurrency } : {}),
  ...(limits.rate !== undefined ? { rate: limits.rate } : {}),
});

/**
 * The limits a worker enforces: the declared key with the deployed numbers (JOBLINE_LIMITS, written by
 * infra/ from the declaration and the deployment's override), or the declaration alone when it is unset.
 */
export function deployedLimits<P>(declared: JobLimits<P> | undefined, raw: string | undefined): JobLimits<P> | undefined {
  if (!declared || raw === undefined || raw === '') return declared;
  const numbers = JSON.parse(raw) as LimitNumbers;
  const { concurrency: _concurrency, rate: _rate, ...keyOnly } = declared;
  return { ...keyOnly, ...limitNumbers(numbers) };
}
