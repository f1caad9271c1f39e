/**
 * The capacity plan of one job type: what a workload (planner/workload.ts) needs of the settings the stack
 * declares (its template: batch size, concurrency, timeouts, retries), and what it costs. Pure arithmetic on
 * the formulas of planner/queueing.ts; docs/planner.md explains the model and where it is approximate.
 *
 * The model, in short. A job's attempts arrive as a Poisson stream (retries included). Lambda's SQS poller
 * hands each invocation a batch; the worker runs a batch's records side by side (up to the worker's in-batch
 * concurrency), so an invocation lasts as long as its slowest record. Invocations are the servers of an
 * M/G/c queue with c = the event source's maximum concurrency; Allen–Cunneen gives its wait. Batches are as
 * small as the arrivals make them (one record when there is no batching window) until the queue would not
 * keep up, and grow to the batch size under load, as a backlog fills them: the plan takes the smallest batch
 * that keeps up.
 */
import { PRICES, SECONDS_PER_MONTH } from './prices';
import { LIST_SHARDS } from '../shared/store/job-record';
import { busyServersQuantile, logNormalCdf, logNormalFromPercentiles, logNormalMean, maxOfMoments, mgcWait, type LogNormal, type Moments } from './queueing';
import type { JobTypeWorkload } from './workload';
import type { LimitNumbers } from '../shared/limits/limits';

/** What the template declares for a job type (local/preflight.ts's jobTypeSettings, with the worker function's memory). */
export interface PlanSettings {
  type: string;
  fifo: boolean;
  batchSize: number;
  batchingWindowSeconds: number;
  maxConcurrency: number;
  /** Records of one batch run side by side (JOBLINE_WORKER_CONCURRENCY). */
  workerConcurrency: number;
  workerTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  maxReceiveCount?: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  retentionSeconds: number;
  memoryMb: number;
  /** The job type's deployed limits (JOBLINE_LIMITS), per limit key; none: no limits. */
  limits?: LimitNumbers;
}

/** What a job type's limits (shared/limits/) let through, and what they cost. */
export interface LimitsPlan {
  /** Limit keys the jobs spread over (the workload's limitKeys). */
  keys: number;
  /** Records a second that take a slot: every run, and on the leased path every duplicate too (refused at the claim, after admission). */
  admissionsPerSecond: number;
  /** Most admissions a second the limits allow, all keys together, and which limit sets it. */
  ceilingPerSecond: number;
  binding: 'rate' | 'concurrency';
  /** admissionsPerSecond / ceilingPerSecond. */
  utilisation: number;
  /** Conditional writes a second to the busiest limit item (one item per key and limit). */
  writesPerKeyItemPerSecond: number;
}

export interface JobTypePlan {
  type: string;
  workload: JobTypeWorkload;
  settings: PlanSettings;
  /** Handler runs per job (retries included) and the share of jobs that end in the DLQ. */
  attemptsPerJob: number;
  deadLetteredShare: number;
  /** Records per invocation in steady state, and the invocations per second. */
  recordsPerBatch: number;
  invocationsPerSecond: number;
  /** The mean handler duration and the mean invocation duration (the slowest record of a batch), seconds. */
  meanHandlerSeconds: number;
  meanInvocationSeconds: number;
  /** Handler runs per second the settings can take at most (full batches at maximum concurrency). */
  capacityPerSecond: number;
  /** What sets capacityPerSecond: full batches at maximum concurrency, or a limit. */
  capacityBoundBy: 'batches' | 'rate' | 'concurrency';
  keepsUp: boolean;
  /** Present when the job type has limits: the ceiling they set (capacityPerSecond includes it). */
  limits?: LimitsPlan;
  /** Invocations in flight / maximum concurrency. */
  utilisation: number;
  /** Little's law: mean handlers running at once (records) and mean Lambda concurrency (invocations); their 99th percentiles. */
  handlersRunning: { mean: number; p99: number };
  lambdaConcurrency: { mean: number; p99: number };
  /** Time in the queue before a handler starts, seconds (M/G/c by Allen–Cunneen, plus the batching window's fill). */
  queueWaitSeconds: { mean: number; median: number; p95: number };
  /** Seconds for a burst on top of the steady rate to drain (Lambda's scale-up included); undefined without a burst. */
  burstDrainSeconds?: number;
  /** P(an invocation with a full batch runs past the worker timeout). */
  batchTimeoutProbability: number;
  /** Seconds from a job's first attempt to its last allowed one, backoff included. */
  retrySpanSeconds: number;
  requestsPerSecond: { api: number; sqs: number; dynamoWriteUnits: number; dynamoReadUnits: number; events: number };
  /** Writes per second into the busiest partition of the list index (a GSI partition takes 1,000 a second). */
  hottestIndexPartitionWritesPerSecond: number;
  lambdaGbSecondsPerSecond: number;
  monthlyCostUsd: { lambda: number; sqs: number; dynamodb: number; api: number; events: number; total: number };
  warnings: string[];
}

/** Lambda's SQS scaling: 5 concurrent batches at first, then up to 300 more a minute (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). */
export const LAMBDA_SQS_START_CONCURRENCY = 5;
export const LAMBDA_SQS_SCALE_UP_PER_SECOND = 300 / 60;
/** A job record's size beyond its payload (keys, state, timeline, result), bytes: what the write units are counted on. */
export const RECORD_OVERHEAD_BYTES = 700;
/** DynamoDB's per-partition write limit (write units a second). */
export const PARTITION_WRITE_LIMIT = 1000;
/** AWS's advice for an SQS event source: a visibility timeout of at least six times the function's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** DynamoDB's per-item (per-partition) write limit, in writes a second: what one limit key's item can take. */
export const ITEM_WRITE_LIMIT = 1000;
/** Above this share of a limit, starts wait for slots and copies are deferred (delayed and sent again) more and more often. */
export const LIMIT_BUSY_SHARE = 0.8;

/**
 * The ceiling a job type's limits put on its admissions (records a second that take a slot), all keys
 * together: `rate.perSecond` per key, and `concurrency` per key over the mean handler time (Little's law).
 * The jobs are taken as spread evenly over `keys`; a skewed spread makes the busiest key's share the one to plan.
 */
export function limitsCeiling(limits: LimitNumbers, keys: number, meanHandlerSeconds: number): { ceilingPerSecond: number; binding: 'rate' | 'concurrency' } {
  const byRate = limits.rate ? limits.rate.perSecond * keys : Infinity;
  const byConcurrency = limits.concurrency !== undefined ? (limits.concurrency * keys) / meanHandlerSeconds : Infinity;
  return byRate <= byConcurrency ? { ceilingPerSecond: byRate, binding: 'rate' } : { ceilingPerSecond: byConcurrency, binding: 'concurrency' };
}

/** An invocation's duration with n records run k at a time: the slowest of n when n <= k, else rounds of k. */
export function invocationMoments(d: LogNormal, n: number, k: number): Moments {
  if (n <= k) return maxOfMoments(d, n);
  const rounds = Math.ceil(n / k);
  const one = maxOfMoments(d, k);
  return { mean: rounds * one.mean, scv: one.scv / rounds };
}

const attemptsOf = (failureRate: number, maxAttempts: number) => (failureRate === 0 ? 1 : failureRate >= 1 ? maxAttempts : (1 - failureRate ** maxAttempts) / (1 - failureRate));

export function planJobType(workload: JobTypeWorkload, settings: PlanSettings): JobTypePlan {
  const warnings: string[] = [];
  const lambda = workload.arrivalsPerSecond;
  const maxAttempts = settings.maxReceiveCount ?? 100;
  const attemptsPerJob = attemptsOf(workload.failureRate, maxAttempts);
  const deadLetteredShare = settings.maxReceiveCount === undefined ? 0 : workload.failureRate ** maxAttempts;
  const runsPerSecond = lambda * attemptsPerJob;
  // Duplicates take a place in a batch, not a handler's time (their claim is refused at once).
  const recordsPerSecond = runsPerSecond + lambda * workload.duplicateRate;
  const duration = logNormalFromPercentiles(workload.durationMs.p50 / 1000, workload.durationMs.p99 / 1000);
  const meanHandlerSeconds = logNormalMean(duration);
  const b = settings.batchSize;
  const k = Math.max(1, Math.min(settings.workerConcurrency, b));
  const c = settings.maxConcurrency;

  const full = invocationMoments(duration, b, k);
  const batchCapacityPerSecond = (c * b) / full.mean;
  // Limits count admissions: every run, and on the leased path duplicates too (refused at the claim, after it).
  const admissionsPerSecond = runsPerSecond + (workload.kind === 'leased' ? lambda * workload.duplicateRate : 0);
  const limits = settings.limits ? planLimits(settings.limits, workload.limitKeys, admissionsPerSecond, meanHandlerSeconds) : undefined;
  // The limits' ceiling, in records a second (the batch capacity's unit): the same share of the records.
  const limitCapacityPerSecond = limits && admissionsPerSecond > 0 ? (limits.ceilingPerSecond * recordsPerSecond) / admissionsPerSecond : (limits?.ceilingPerSecond ?? Infinity);
  const capacityPerSecond = Math.min(batchCapacityPerSecond, limitCapacityPerSecond);
  const keepsUp = recordsPerSecond < capacityPerSecond;

  // The smallest batch that keeps up, from what the batching window gathers (one record without one).
  const gathered = Math.min(b, Math.max(1, Math.round(recordsPerSecond * settings.batchingWindowSeconds)));
  let n = gathered;
  let moments = invocationMoments(duration, n, k);
  while (n < b && (recordsPerSecond / n) * moments.mean >= c) moments = invocationMoments(duration, ++n, k);
  const invocationsPerSecond = recordsPerSecond / n;
  const offered = invocationsPerSecond * moments.mean;
  const wait = mgcWait(c, invocationsPerSecond, moments.mean, moments.scv);
  // A batching window holds the first record of a batch until the rest arrive (or the window ends): half the fill on average.
  const fill = settings.batchingWindowSeconds > 0 && n > 1 ? Math.min(settings.batchingWindowSeconds, (n - 1) / recordsPerSecond) / 2 : 0;
  const handlerLoad = runsPerSecond * meanHandlerSeconds;

  const plan: JobTypePlan = {
    type: settings.type,
    workload,
    settings,
    attemptsPerJob,
    deadLetteredShare,
    recordsPerBatch: n,
    invocationsPerSecond,
    meanHandlerSeconds,
    meanInvocationSeconds: moments.mean,
    capacityPerSecond,
    capacityBoundBy: limits && limitCapacityPerSecond < batchCapacityPerSecond ? limits.binding : 'batches',
    keepsUp,
    ...(limits ? { limits } : {}),
    utilisation: offered / c,
    // A queue that does not keep up runs at most c × k handlers, however many are offered.
    handlersRunning: { mean: Math.min(handlerLoad, c * k), p99: keepsUp ? busyServersQuantile(c * k, handlerLoad, 0.99) : c * k },
    lambdaConcurrency: { mean: Math.min(offered, c), p99: keepsUp ? busyServersQuantile(c, offered, 0.99) : c },
    queueWaitSeconds: { mean: wait.meanSeconds + fill, median: wait.medianSeconds + fill, p95: wait.p95Seconds + fill },
    batchTimeoutProbability: 1 - (1 - exceedance(duration, settings.workerTimeoutSeconds / Math.ceil(b / k))) ** Math.min(b, k),
    retrySpanSeconds: retrySpan(settings, maxAttempts, meanHandlerSeconds),
    ...costs(workload, settings, {
      runsPerSecond,
      recordsPerSecond,
      invocationsPerSecond,
      meanInvocationSeconds: moments.mean,
      meanHandlerSeconds,
      limitWritesPerSecond: limits ? limits.writesPerKeyItemPerSecond * limits.keys : 0,
    }),
    warnings,
  };
  if (workload.burst) plan.burstDrainSeconds = burstDrainSeconds(workload.burst, recordsPerSecond, settings, full.mean, limitCapacityPerSecond);

  // ---- warnings, in plain words ----
  const t = settings.type;
  if (!keepsUp && limits && plan.capacityBoundBy !== 'batches') {
    warnings.push(
      `${t}: its ${describeLimit(settings.limits!, limits.binding)} over ${limits.keys} key(s) admits at most ${fmt(limits.ceilingPerSecond)} jobs/s and ${fmt(admissionsPerSecond)} arrive: the queue grows by ${fmt(admissionsPerSecond - limits.ceilingPerSecond)}/s (jobs are deferred, not failed, until their messages outlive the queue's retention); raise the limit, or spread the jobs over more keys`,
    );
  } else if (!keepsUp) {
    warnings.push(
      `${t}: the queue does not keep up: ${fmt(recordsPerSecond)} records/s arrive and ${c} concurrent batches of ${b} take at most ${fmt(capacityPerSecond)}/s; raise maxConcurrency to at least ${Math.ceil((recordsPerSecond * full.mean) / b / 0.8)} (80% busy) or make the handler faster`,
    );
  } else if (plan.utilisation > 0.8) {
    warnings.push(
      `${t}: ${Math.round(plan.utilisation * 100)}% of maxConcurrency (${c}) is busy on average: waits grow fast above 80%, and a burst has little room; maxConcurrency ${Math.ceil(offered / 0.7)} would make it 70%`,
    );
  }
  if (keepsUp && limits && limits.utilisation > LIMIT_BUSY_SHARE) {
    warnings.push(
      `${t}: ${Math.round(limits.utilisation * 100)}% of its ${describeLimit(settings.limits!, limits.binding)} (over ${limits.keys} key(s)) is used on average: starts wait for their slots and more and more copies are deferred (each a send, a receive and a write more); the queue waits above do not count that`,
    );
  }
  if (limits && limits.writesPerKeyItemPerSecond > ITEM_WRITE_LIMIT * LIMIT_BUSY_SHARE) {
    warnings.push(
      `${t}: each limit key's item takes ${fmt(limits.writesPerKeyItemPerSecond)} conditional writes/s (DynamoDB throttles one item at about ${ITEM_WRITE_LIMIT}): a hot key; spread the jobs over more keys`,
    );
  }
  if (settings.fifo && plan.lambdaConcurrency.p99 > 1)
    warnings.push(`${t}: a FIFO queue runs one batch per message group at a time: these figures hold only with at least ${Math.ceil(plan.lambdaConcurrency.p99)} active groups`);
  if (plan.batchTimeoutProbability > 0.001) {
    warnings.push(
      `${t}: ${pct(plan.batchTimeoutProbability)} of full batches run past the worker timeout (${settings.workerTimeoutSeconds} s): their records are retried; raise timeoutSeconds or lower batchSize`,
    );
  }
  if (settings.visibilityTimeoutSeconds < VISIBILITY_TIMEOUT_FACTOR * settings.workerTimeoutSeconds) {
    warnings.push(
      `${t}: the visibility timeout (${settings.visibilityTimeoutSeconds} s) is under ${VISIBILITY_TIMEOUT_FACTOR}x the worker timeout (${settings.workerTimeoutSeconds} s), as AWS advises for SQS event sources: throttled batches may be retried early`,
    );
  }
  if (settings.maxReceiveCount === undefined) warnings.push(`${t}: the queue has no dead-letter queue: a poison message is retried until the queue's retention drops it`);
  else if (lambda * deadLetteredShare * 86_400 >= 1) {
    warnings.push(
      `${t}: about ${fmt(lambda * deadLetteredShare * 86_400)} jobs a day use up all ${maxAttempts} attempts and end in the DLQ (failure rate ${pct(workload.failureRate)}); raise maxReceiveCount if their errors are transient`,
    );
  }
  if (plan.retrySpanSeconds > settings.retentionSeconds)
    warnings.push(`${t}: the retries' backoff (${fmt(plan.retrySpanSeconds)} s) outlasts the queue's retention (${settings.retentionSeconds} s): late retries would be dropped`);
  if (plan.burstDrainSeconds !== undefined) {
    if (!Number.isFinite(plan.burstDrainSeconds)) warnings.push(`${t}: a burst of ${workload.burst} never drains: the steady rate already takes all the capacity`);
    else if (plan.burstDrainSeconds > settings.retentionSeconds) warnings.push(`${t}: a burst of ${workload.burst} takes longer to drain than the queue keeps messages`);
    else if (plan.burstDrainSeconds > 900)
      warnings.push(`${t}: a burst of ${workload.burst} takes ${humanDuration(plan.burstDrainSeconds)} to drain: its last jobs wait that long`);
  }
  if (plan.hottestIndexPartitionWritesPerSecond > PARTITION_WRITE_LIMIT * 0.8) {
    warnings.push(
      `${t}: the list index's busiest partition takes ${fmt(plan.hottestIndexPartitionWritesPerSecond)} writes/s (DynamoDB throttles a partition at ${PARTITION_WRITE_LIMIT}; an index throttle slows the table's writes too)`,
    );
  }
  if (c * k > 1000 && plan.lambdaConcurrency.p99 > 1000) warnings.push(`${t}: needs more than 1,000 concurrent executions, the default account limit: ask for a quota increase`);
  return plan;
}

function planLimits(numbers: LimitNumbers, keys: number, admissionsPerSecond: number, meanHandlerSeconds: number): LimitsPlan {
  const { ceilingPerSecond, binding } = limitsCeiling(numbers, keys, meanHandlerSeconds);
  // A rate slot is one conditional update of the key's rate item; a concurrency place one to take and one to give back.
  const perKey = admissionsPerSecond / keys;
  const writesPerKeyItemPerSecond = Math.max(numbers.rate ? perKey : 0, numbers.concurrency !== undefined ? 2 * perKey : 0);
  return { keys, admissionsPerSecond, ceilingPerSecond, binding, utilisation: admissionsPerSecond / ceilingPerSecond, writesPerKeyItemPerSecond };
}

const describeLimit = (numbers: LimitNumbers, binding: 'rate' | 'concurrency') =>
  binding === 'rate' ? `rate limit of ${fmt(numbers.rate!.perSecond)}/s a key` : `concurrency limit of ${numbers.concurrency} a key`;

/** P(one record runs longer than `seconds`). */
const exceedance = (d: LogNormal, seconds: number) => 1 - logNormalCdf(d, seconds);

/** From the first attempt to the last: each failed attempt's run plus its backoff (base·2^(i-1), capped, three quarters of it on average with jitter). */
function retrySpan(settings: PlanSettings, maxAttempts: number, meanRun: number): number {
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) total += meanRun + 0.75 * Math.min(settings.backoffMaxSeconds, settings.backoffBaseSeconds * 2 ** (attempt - 1));
  return total;
}

/**
 * Seconds until a burst on top of the steady rate has been worked off, with Lambda's concurrency growing
 * from 5 by 5 a second, and never faster than the limits' ceiling (`ceilingPerSecond`, records a second;
 * a rate limit's burst allowance is not counted: steady traffic may have used it).
 */
function burstDrainSeconds(burst: number, steadyPerSecond: number, settings: PlanSettings, fullBatchSeconds: number, ceilingPerSecond: number): number {
  const perBatchPerSecond = settings.batchSize / fullBatchSeconds;
  if (Math.min(settings.maxConcurrency * perBatchPerSecond, ceilingPerSecond) <= steadyPerSecond) return Infinity;
  let left = burst;
  let t = 0;
  const step = 0.05;
  while (left > 0) {
    const concurrency = Math.min(settings.maxConcurrency, LAMBDA_SQS_START_CONCURRENCY + LAMBDA_SQS_SCALE_UP_PER_SECOND * t);
    left -= Math.max(0, Math.min(concurrency * perBatchPerSecond, ceilingPerSecond) - steadyPerSecond) * step;
    t += step;
    if (t > 1e7) return Infinity;
  }
  return t;
}

interface Rates {
  runsPerSecond: number;
  recordsPerSecond: number;
  invocationsPerSecond: number;
  meanInvocationSeconds: number;
  meanHandlerSeconds: number;
  /** Conditional writes to limit items, all keys together (one small item: a write unit each). */
  limitWritesPerSecond: number;
}

/** Request rates and the monthly bill of a job type, from the rates of its jobs, attempts and invocations. */
function costs(workload: JobTypeWorkload, settings: PlanSettings, r: Rates) {
  const lambda = workload.arrivalsPerSecond;
  const itemUnits = Math.ceil((workload.payloadBytes + RECORD_OVERHEAD_BYTES) / 1024);
  const messageUnits = Math.ceil((workload.payloadBytes + 300) / 65_536);
  // A state write moves the job's list-index entry: its old entry deleted, its new one put (keys only, 1 unit each).
  const stateWrite = itemUnits + 2;
  const perAttempt = workload.kind === 'leased' ? 2 * stateWrite : 2 * itemUnits + 2;
  const dynamoWriteUnits = lambda * (itemUnits + 1) + r.runsPerSecond * perAttempt + lambda * workload.duplicateRate * itemUnits + r.limitWritesPerSecond;
  // Leased: the worker reads cancelRequested once a second while a handler runs. Transactional: one batch read per record.
  const dynamoReadUnits = workload.kind === 'leased' ? r.runsPerSecond * r.meanHandlerSeconds : r.recordsPerSecond * 0.5;
  // Sends (each 64 KB a request), a receive and a delete per batch, a visibility change per failed attempt.
  const sqs = lambda * messageUnits + 2 * r.invocationsPerSecond + (r.runsPerSecond - lambda);
  const gbSeconds = r.invocationsPerSecond * r.meanInvocationSeconds * (settings.memoryMb / 1024);
  const month = (perSecond: number, perMillion: number) => (perSecond * SECONDS_PER_MONTH * perMillion) / 1e6;
  const monthly = {
    lambda: gbSeconds * SECONDS_PER_MONTH * PRICES.lambdaArmGbSecond + month(r.invocationsPerSecond, PRICES.lambdaPerMillionRequests),
    sqs: month(sqs, settings.fifo ? PRICES.sqsFifoPerMillion : PRICES.sqsStandardPerMillion),
    dynamodb: month(dynamoWriteUnits, PRICES.dynamoPerMillionWrites) + month(dynamoReadUnits, PRICES.dynamoPerMillionReads),
    api: month(lambda, PRICES.httpApiPerMillion),
    events: month(lambda * Math.ceil((workload.payloadBytes + 1000) / 65_536), PRICES.eventBridgePerMillion),
    total: 0,
  };
  monthly.total = monthly.lambda + monthly.sqs + monthly.dynamodb + monthly.api + monthly.events;
  return {
    requestsPerSecond: { api: lambda, sqs, dynamoWriteUnits, dynamoReadUnits, events: lambda },
    // Every submit puts an entry into one of the PENDING shards, and every claim into a RUNNING one.
    hottestIndexPartitionWritesPerSecond: (2 * Math.max(lambda, r.runsPerSecond)) / LIST_SHARDS,
    lambdaGbSecondsPerSecond: gbSeconds,
    monthlyCostUsd: monthly,
  };
}

export const fmt = (n: number) =>
  !Number.isFinite(n) ? '∞' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toPrecision(2);
const pct = (share: number) => `${(share * 100).toPrecision(2)}%`;
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'never';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
