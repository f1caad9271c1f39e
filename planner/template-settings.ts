/**
 * The settings a plan needs, read from the synthesized template: what `jobline dev` reads and prints for each
 * job type (local/preflight.ts's jobTypeSettings), plus the worker function's memory, its in-batch
 * concurrency and the queue's retention. A plan is of the stack as it would deploy, not of the declarations.
 */
import { DEFAULT_QUEUE_OPTIONS } from '../shared/jobs/define';
import { jobTypeSettings } from '../local/preflight';
import type { StackModel } from '../local/template/stack-model';
import type { PlanSettings } from './plan';
import { ENV } from '../shared/config';
import { defaultBurst, type LimitNumbers } from '../shared/limits/limits';

/** SQS's defaults when a template sets none. */
const SQS_DEFAULT_RETENTION_SECONDS = 345_600;
/** The worker's defaults (shared/worker/handler.ts, shared/jobs/define.ts) when its environment names none. */
const DEFAULT_WORKER_CONCURRENCY = 10;
const DEFAULT_BACKOFF = { base: DEFAULT_QUEUE_OPTIONS.backoff.baseSeconds, max: DEFAULT_QUEUE_OPTIONS.backoff.maxSeconds };

export function planSettingsOf(model: StackModel): PlanSettings[] {
  const settings: PlanSettings[] = [];
  for (const base of jobTypeSettings(model)) {
    const source = model.eventSources.find((s) => model.functions.find((f) => f.logicalId === s.functionLogicalId)?.environment.JOBLINE_JOB_TYPE === base.type);
    const fn = model.functions.find((f) => f.logicalId === source?.functionLogicalId);
    const queue = model.queues.find((q) => q.logicalId === source?.queueLogicalId);
    if (!fn || !queue) continue;
    const number = (value: unknown, fallback: number) => (Number.isFinite(Number(value)) && value !== undefined && value !== '' ? Number(value) : fallback);
    settings.push({
      type: base.type,
      fifo: base.fifo,
      batchSize: base.batchSize,
      batchingWindowSeconds: base.batchingWindowSeconds,
      maxConcurrency: base.maxConcurrency,
      workerConcurrency: number(fn.environment.JOBLINE_WORKER_CONCURRENCY, DEFAULT_WORKER_CONCURRENCY),
      workerTimeoutSeconds: base.workerTimeoutSeconds,
      visibilityTimeoutSeconds: base.visibilityTimeoutSeconds,
      ...(base.maxReceiveCount !== undefined ? { maxReceiveCount: base.maxReceiveCount } : {}),
      backoffBaseSeconds: number(base.backoffBaseSeconds, DEFAULT_BACKOFF.base),
      backoffMaxSeconds: number(base.backoffMaxSeconds, DEFAULT_BACKOFF.max),
      retentionSeconds: number(queue.attributes.MessageRetentionPeriod, SQS_DEFAULT_RETENTION_SECONDS),
      memoryMb: fn.memoryMb,
      ...limitsOf(fn.environment[ENV.limits]),
    });
  }
  return settings;
}

/** The deployed limit numbers a worker's environment carries (JOBLINE_LIMITS, JSON), the burst's default filled in. */
function limitsOf(raw: unknown): { limits?: LimitNumbers } {
  if (typeof raw !== 'string' || raw === '') return {};
  const numbers = JSON.parse(raw) as LimitNumbers;
  const rate = numbers.rate ? { rate: { perSecond: numbers.rate.perSecond, burst: numbers.rate.burst ?? defaultBurst(numbers.rate.perSecond) } } : {};
  return { limits: { ...(numbers.concurrency !== undefined ? { concurrency: numbers.concurrency } : {}), ...rate } };
}
