/**
 * The environment variables that infra/ gives the functions and the functions read. One list, so the two
 * sides cannot drift apart. The local runtime reads the same variables from the synthesized template.
 */
export const ENV = {
  tableName: 'JOBLINE_TABLE_NAME',
  jobType: 'JOBLINE_JOB_TYPE',
  queueUrl: 'JOBLINE_QUEUE_URL',
  deadLetterQueueUrl: 'JOBLINE_DLQ_URL',
  maxReceiveCount: 'JOBLINE_MAX_RECEIVE_COUNT',
  backoffBaseSeconds: 'JOBLINE_BACKOFF_BASE_SECONDS',
  backoffMaxSeconds: 'JOBLINE_BACKOFF_MAX_SECONDS',
  workerConcurrency: 'JOBLINE_WORKER_CONCURRENCY',
  /** A job type's limits as deployed (JSON of their numbers, shared/limits/limits.ts); the key stays the declared one. */
  limits: 'JOBLINE_LIMITS',
  retentionDays: 'JOBLINE_RETENTION_DAYS',
  /** When the sweeper first looks at a job that has not finished (seconds after submit or retry). */
  sweepAfterSeconds: 'JOBLINE_SWEEP_AFTER_SECONDS',
  /** The sweeper's view of every job type: JSON, see shared/sweeper/config.ts. */
  sweepTypes: 'JOBLINE_SWEEP_TYPES',
  logLevel: 'JOBLINE_LOG_LEVEL',
  /** The CloudWatch namespace of the functions' EMF metrics (shared/metrics.ts); `Jobline` when unset. */
  metricsNamespace: 'JOBLINE_METRICS_NAMESPACE',
} as const;

/**
 * How the stack outputs that the Jobline construct adds for the operator's CLI (`jobline ... --stack NAME`,
 * cli/stack-outputs.ts) begin their description: `jobline:api`, `jobline:table`, `jobline:queues:<type>`.
 */
export const OUTPUT_MARKER = 'jobline:';

/** The API function finds each job type's queue in JOBLINE_QUEUE_URL_<TYPE>, e.g. JOBLINE_QUEUE_URL_TRANSFER. */
export function queueUrlVariable(jobType: string): string {
  return `JOBLINE_QUEUE_URL_${jobType.toUpperCase().replace(/-/g, '_')}`;
}

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A number from the environment, or `fallback` when it is unset, not a number, or below `min`. */
export function numberEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env, min = 0): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value >= min ? value : fallback;
}
