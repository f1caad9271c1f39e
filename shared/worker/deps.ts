/**
 * What the worker's steps depend on, in one module that imports none of them: the composition root
 * (handler.ts, or a test) builds a WorkerDeps, and each step takes only the part it uses.
 */
import type { SQSRecord } from 'aws-lambda';
import type { JobContext, JobType } from '../jobs/define';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { JobStore } from '../store/job-store';
import type { BackoffOptions } from './backoff';
import type { DeadLetter, DeferredCopy } from './queue-actions';
import type { Limiter } from '../limits/admission';

export interface QueueActions {
  sendToDeadLetterQueue(letters: readonly DeadLetter[]): Promise<Set<string>>;
  delayRetries(delays: readonly { record: SQSRecord; seconds: number }[]): Promise<void>;
  /** Sends delayed copies of messages to the job type's own queue; returns the message ids whose copy is there. */
  sendDeferredCopies(copies: readonly DeferredCopy[]): Promise<Set<string>>;
}

/**
 * Wraps every handler run, within its deadline: `run` calls the handler with `ctx`. The chaos suite's
 * handler and result faults come through here, so that no step reads the fault configuration itself.
 */
export type AroundHandler = <R>(ctx: JobContext, run: () => Promise<R>) => Promise<R>;

export interface WorkerDeps {
  jobType: JobType;
  store: JobStore;
  queue: QueueActions;
  /** The queue's maxReceiveCount (from its RedrivePolicy): the last receive marks the job FAILED. */
  maxReceiveCount: number;
  log: Logger;
  /** Records processed at once within a batch. */
  concurrency: number;
  /** Backoff between retries; the job type's declared backoff unless the deployment sets another. */
  backoff?: BackoffOptions;
  /** Leases shorter than the invocation (the chaos suite's, so that they run out mid-job). */
  leaseMs?: number;
  aroundHandler?: AroundHandler;
  /** Where the batch's counts and timings go (EMF lines, shared/metrics.ts); none when unset. */
  metrics?: Metrics;
  /** Enforces the job type's limits (required when it declares any). */
  limiter?: Limiter;
  now?: () => number;
}

/** The leased path (leased.ts): claim, run, complete. */
export type LeasedDeps = Pick<WorkerDeps, 'store' | 'leaseMs' | 'aroundHandler'>;

/** The transactional path (transactional.ts): run a round side by side, group commit. */
export type TransactionalDeps = Pick<WorkerDeps, 'store' | 'concurrency' | 'aroundHandler'>;

/** Applying outcomes (settle.ts): DLQ copies, FAILED marks and backoff. */
export type SettleDeps = Pick<WorkerDeps, 'jobType' | 'store' | 'queue' | 'maxReceiveCount' | 'log' | 'concurrency' | 'backoff' | 'metrics'>;
