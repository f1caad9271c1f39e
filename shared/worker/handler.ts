/**
 * Builds a job type's SQS worker from its environment, once per execution environment: the job type,
 * the table, the queues and the clients are set up at init and reused by every invocation.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoClient } from '../aws/clients';
import { faultConfig } from '../aws/fault-injection';
import { ENV, numberEnv, requireEnv } from '../config';
import { findJobType } from '../jobs';
import { createLogger } from '../log';
import { JobStore } from '../store/job-store';
import { abandonedHandlers } from './deadline';
import { processBatch, type WorkerDeps } from './process-batch';
import { delayRetries, sendToDeadLetterQueue } from './queue-actions';

export function workerDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerDeps {
  const typeName = requireEnv(ENV.jobType, env);
  const jobType = findJobType(typeName);
  if (!jobType) throw new Error(`unknown job type ${typeName}`);
  const queueUrl = requireEnv(ENV.queueUrl, env);
  const dlqUrl = requireEnv(ENV.deadLetterQueueUrl, env);
  return {
    jobType,
    store: new JobStore(dynamoClient(), requireEnv(ENV.tableName, env)),
    queue: {
      sendToDeadLetterQueue: (letters) => sendToDeadLetterQueue(dlqUrl, jobType.queue.fifo, letters),
      delayRetries: (delays) => delayRetries(queueUrl, delays),
    },
    maxReceiveCount: numberEnv(ENV.maxReceiveCount, jobType.queue.maxReceiveCount, env, 1),
    backoff: {
      baseSeconds: numberEnv(ENV.backoffBaseSeconds, jobType.queue.backoff.baseSeconds, env),
      maxSeconds: numberEnv(ENV.backoffMaxSeconds, jobType.queue.backoff.maxSeconds, env),
    },
    concurrency: numberEnv(ENV.workerConcurrency, 10, env, 1),
    log: createLogger({ component: 'worker', type: typeName }),
    // The chaos suite's short leases, where its fault injection is compiled in (deployed bundles define
    // JOBLINE_BUILD_FAULT_INJECTION as "false", so this folds away; see infra/jobline-function.ts).
    ...(process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false' && faultConfig()?.leaseMs ? { leaseMs: faultConfig()!.leaseMs } : {}),
  };
}

export function createWorkerHandler(deps: WorkerDeps = workerDepsFromEnv()) {
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    if (abandonedHandlers() > 0) {
      // A handler that ran past its deadline in an earlier invocation is still going: ending this
      // environment is the only way to stop it. This batch comes back after its visibility timeout.
      deps.log.error('a handler abandoned at its deadline is still running; ending this execution environment', { abandoned: abandonedHandlers() });
      process.exit(1);
    }
    return processBatch(event.Records, context, deps);
  };
}
