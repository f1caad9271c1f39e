/**
 * The worker's composition root: builds a job type's SQS worker from its environment, once per execution
 * environment (the table, the queues and the clients are set up at init and reused by every invocation).
 * The job type comes from the entry point that bundles it, not from a registry, so a worker's bundle holds
 * its own job type only. This is the one worker module that reads the chaos suite's fault configuration.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoClient } from '../aws/clients';
import { faultConfig, injectHandlerFaults, injectResultFaults, type FaultConfig } from '../aws/fault-injection';
import { ENV, numberEnv, requireEnv } from '../config';
import type { JobType } from '../jobs/define';
import { createLogger } from '../log';
import { createMetrics } from '../metrics';
import { JobStore } from '../store/job-store';
import { abandonedHandlers } from './deadline';
import type { WorkerDeps } from './deps';
import { processBatch } from './process-batch';
import { delayRetries, sendDeferredCopies, sendToDeadLetterQueue } from './queue-actions';
import { Limiter } from '../limits/admission';
import { deployedLimits } from '../limits/limits';

export function workerDepsFromEnv(declared: JobType, env: NodeJS.ProcessEnv = process.env): WorkerDeps {
  // The stack names the function's job type too: a mismatch means a bundle wired to another type's queue.
  const named = env[ENV.jobType];
  if (named && named !== declared.name) throw new Error(`this worker runs ${declared.name} jobs, but ${ENV.jobType} is ${named}`);
  // The limits as deployed: the declared key with this deployment's numbers.
  const limits = deployedLimits(declared.limits, env[ENV.limits]);
  const jobType = limits ? ({ ...declared, limits } as JobType) : declared;
  const queueUrl = requireEnv(ENV.queueUrl, env);
  const dlqUrl = requireEnv(ENV.deadLetterQueueUrl, env);
  return {
    jobType,
    store: new JobStore(dynamoClient(), requireEnv(ENV.tableName, env)),
    queue: {
      sendToDeadLetterQueue: (letters) => sendToDeadLetterQueue(dlqUrl, jobType.queue.fifo, letters),
      delayRetries: (delays) => delayRetries(queueUrl, delays),
      sendDeferredCopies: (copies) => sendDeferredCopies(queueUrl, copies),
    },
    ...(jobType.limits ? { limiter: new Limiter(dynamoClient(), requireEnv(ENV.tableName, env)) } : {}),
    maxReceiveCount: numberEnv(ENV.maxReceiveCount, jobType.queue.maxReceiveCount, env, 1),
    backoff: {
      baseSeconds: numberEnv(ENV.backoffBaseSeconds, jobType.queue.backoff.baseSeconds, env),
      maxSeconds: numberEnv(ENV.backoffMaxSeconds, jobType.queue.backoff.maxSeconds, env),
    },
    concurrency: numberEnv(ENV.workerConcurrency, 10, env, 1),
    log: createLogger({ component: 'worker', type: jobType.name }),
    metrics: createMetrics({ namespace: env[ENV.metricsNamespace] }),
    // The chaos suite's faults, where compiled in (deployed bundles define JOBLINE_BUILD_FAULT_INJECTION as
    // "false", so this folds away and fault-injection.ts is left out; see infra/jobline-function.ts).
    ...(process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false' ? chaosDeps(faultConfig()) : {}),
  };
}

/** The chaos suite's short leases and handler faults, handed to the steps as plain deps. */
function chaosDeps(faults: FaultConfig | null): Partial<WorkerDeps> {
  if (!faults) return {};
  return {
    ...(faults.leaseMs ? { leaseMs: faults.leaseMs } : {}),
    aroundHandler: async (ctx, run) => {
      await injectHandlerFaults(faults, ctx, ctx.signal);
      return injectResultFaults(faults, await run(), ctx.jobId);
    },
  };
}

export function createWorkerHandler(jobType: JobType, deps: WorkerDeps = workerDepsFromEnv(jobType)) {
  if (deps.jobType.name !== jobType.name) throw new Error(`worker deps for ${deps.jobType.name} jobs given to the ${jobType.name} worker`);
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    if (abandonedHandlers() > 0) {
      // A handler that ran past its deadline in an earlier invocation is still going: ending this
      // environment is the only way to stop it. This batch comes back after its visibility timeout.
      deps.log.error('a handler abandoned at its deadline is still running; ending this execution environment', { abandoned: abandonedHandlers() });
      process.exit(1);
    }
    // The batch's metrics go out with it, as one EMF line per job type, whatever the batch's end.
    return processBatch(event.Records, context, deps).finally(() => deps.metrics?.flush());
  };
}
