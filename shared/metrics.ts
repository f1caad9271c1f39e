/**
 * jobline's CloudWatch metrics, written as embedded metric format (EMF) log lines: Lambda sends stdout to
 * CloudWatch Logs, which turns each such line into metric data, with no PutMetricData call, no extra
 * latency and no IAM permission. One line per job type per invocation (flush), dimension `JobType`.
 *
 * Why not Powertools' Metrics: this is the one EMF feature jobline uses (counts and timings per job type),
 * in a few hundred bytes of bundle; the worker's bundle and init are measured against Powertools' worker
 * (`npm run bench`, cold start), with these metrics inside.
 *
 * The names are the construct's metric* methods' (infra/job-worker.ts): keep the two in step.
 */
export const METRIC = {
  /** A new job recorded and queued by the API (a replay is DuplicatesAbsorbed instead). */
  submitted: 'JobsSubmitted',
  /** A submit the Idempotency-Key answered with the existing job, or a delivery of a job already done. */
  duplicatesAbsorbed: 'DuplicatesAbsorbed',
  succeeded: 'JobsSucceeded',
  /** Jobs marked FAILED: a permanent error, or the last allowed attempt failed. */
  failed: 'JobsFailed',
  /** Failed attempts that will be tried again (with backoff). */
  retried: 'JobsRetried',
  cancelled: 'JobsCancelled',
  /** Jobs the sweeper sent to their queue again: no progress for their stale time (a message never sent or lost, a worker gone). */
  resent: 'JobsResent',
  /** Jobs over a limit of their type, sent back to their queue delayed (not failures: no receive used). */
  deferred: 'JobsDeferred',
  /** From the moment SQS could deliver a job's message (after its delay) to its first run, in ms. */
  queueWait: 'QueueWait',
  /** A job's run: its handler and its completion write, in ms. */
  runDuration: 'RunDuration',
  /** Completion callbacks the receiver took (2xx). */
  callbacksDelivered: 'CallbacksDelivered',
  /** Callback deliveries that failed and will be tried again (with backoff). */
  callbacksRetried: 'CallbacksRetried',
  /** Callbacks parked in the callback DLQ: refused (4xx, an address not allowed) or out of attempts. */
  callbacksParked: 'CallbacksParked',
  /** From a job's end (finishedAt) to its callback's delivery, in ms: how late receivers hear of it. */
  callbackDelay: 'CallbackDelay',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export const DEFAULT_METRICS_NAMESPACE = 'Jobline';

/** EMF allows at most 100 values of one metric in one line. */
const MAX_VALUES_PER_LINE = 100;

const UNIT: Record<MetricName, 'Count' | 'Milliseconds'> = {
  JobsSubmitted: 'Count',
  DuplicatesAbsorbed: 'Count',
  JobsDeferred: 'Count',
  JobsResent: 'Count',
  JobsSucceeded: 'Count',
  JobsFailed: 'Count',
  JobsRetried: 'Count',
  JobsCancelled: 'Count',
  QueueWait: 'Milliseconds',
  RunDuration: 'Milliseconds',
  CallbacksDelivered: 'Count',
  CallbacksRetried: 'Count',
  CallbacksParked: 'Count',
  CallbackDelay: 'Milliseconds',
};

export interface Metrics {
  /** Adds `n` to a count of `jobType`. */
  count(name: MetricName, jobType: string, n?: number): void;
  /** Records one timing of `jobType`, in milliseconds. */
  timing(name: MetricName, jobType: string, ms: number): void;
  /** Writes what was recorded since the last flush, and forgets it. */
  flush(): void;
}

export interface MetricsOptions {
  namespace?: string;
  write?: (line: string) => void;
  now?: () => number;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const namespace = options.namespace || DEFAULT_METRICS_NAMESPACE;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const counts = new Map<string, Map<MetricName, number>>();
  const timings = new Map<string, Map<MetricName, number[]>>();
  const slot = <V>(by: Map<string, Map<MetricName, V>>, jobType: string) => by.get(jobType) ?? by.set(jobType, new Map()).get(jobType)!;

  return {
    count(name, jobType, n = 1) {
      const of = slot(counts, jobType);
      of.set(name, (of.get(name) ?? 0) + n);
    },
    timing(name, jobType, ms) {
      if (!Number.isFinite(ms)) return;
      const of = slot(timings, jobType);
      (of.get(name) ?? of.set(name, []).get(name)!).push(Math.max(0, Math.round(ms)));
    },
    flush() {
      for (const jobType of new Set([...counts.keys(), ...timings.keys()])) {
        // The counts and the first 100 values of each timing in one line; further values in more lines.
        let values: Record<string, number | number[]> = Object.fromEntries(counts.get(jobType) ?? []);
        const pending: [MetricName, number[]][] = [...(timings.get(jobType) ?? [])].map(([name, list]) => [name, [...list]]);
        do {
          for (const [name, list] of pending) if (list.length > 0) values[name] = list.splice(0, MAX_VALUES_PER_LINE);
          if (Object.keys(values).length > 0) write(emfLine(namespace, jobType, values, now()));
          values = {};
        } while (pending.some(([, list]) => list.length > 0));
      }
      counts.clear();
      timings.clear();
    },
  };
}

function emfLine(namespace: string, jobType: string, values: Record<string, number | number[]>, timestamp: number): string {
  const metrics = Object.keys(values).map((name) => ({ Name: name, Unit: UNIT[name as MetricName] }));
  return JSON.stringify({
    _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [['JobType']], Metrics: metrics }] },
    JobType: jobType,
    ...values,
  });
}

/** Metrics that go nowhere: the default of tests and of code that has none to give. */
export const noMetrics: Metrics = { count() {}, timing() {}, flush() {} };
