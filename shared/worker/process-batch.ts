/**
 * One SQS batch through a job type's handler, exactly once per job:
 *
 *  1. decode every record; a record that is not a job message of this type is poison (DLQ at once);
 *  2. records of one job inside the batch run once: the first carries the job, the others are acknowledged;
 *  3. transactional jobs: one BatchGetItem finds the jobs already SUCCEEDED (acknowledged, no write), then
 *     each job's handler runs and its writes commit with the SUCCEEDED mark in one transaction;
 *     leased jobs: claim (one conditional write), run the handler, complete while still holding the lease;
 *  4. outcomes: done (deleted by Lambda), retry (backoff via the message's visibility, reported in
 *     batchItemFailures; on the last allowed receive the job is marked FAILED first), or dead-letter
 *     (job FAILED with the reason, message copied to the DLQ with it, then acknowledged).
 *
 * Records run in parallel up to `concurrency`. In a FIFO batch the records of one message group run in
 * order, and the first one that must be retried makes the rest of its group retry too.
 */
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { PermanentError, TransientError, isPermanent, reasonOf, shortReason } from '../errors';
import { faultConfig, injectHandlerFaults } from '../aws/fault-injection';
import type { JobContext, JobType } from '../jobs/define';
import { safeParse } from 'zod/mini';
import { decodeMessage, jobIdOf, type JobMessage } from '../jobs/message';
import type { Logger } from '../log';
import type { JobStore } from '../store/job-store';
import type { JobRecord } from '../store/job-record';
import { retryDelaySeconds, type BackoffOptions } from './backoff';
import { DeadlineExceededError, withDeadline } from './deadline';
import { mapLimit } from './map-limit';
import type { DeadLetter } from './queue-actions';

export interface QueueActions {
  sendToDeadLetterQueue(letters: readonly DeadLetter[]): Promise<Set<string>>;
  delayRetries(delays: readonly { record: SQSRecord; seconds: number }[]): Promise<void>;
}

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
  now?: () => number;
}

export type InvocationContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

type Outcome =
  | { kind: 'done'; note: string }
  | {
      kind: 'retry';
      reason: string;
      /** False when the job did not fail (held by another worker, lease lost): never marked FAILED for it. */
      mayFail: boolean;
      retryAfterSeconds?: number;
      /** A fixed delay instead of the backoff. */
      delaySeconds?: number;
      owner?: string;
      countAttempt?: boolean;
      /** Write the reason to the job record (and release the lease) so the retry can start at once. */
      recordRetry?: boolean;
    }
  | { kind: 'dead-letter'; reason: string; jobId?: string; owner?: string; countAttempt?: boolean };

interface Item {
  record: SQSRecord;
  message?: JobMessage;
  malformed?: string;
  /** A later record of a job that an earlier record of this batch carries. */
  duplicateOf?: SQSRecord;
}

/** Time kept back from the handler for the completion write and the batch report. */
function reserveMs(remaining: number): number {
  return Math.min(5000, Math.max(200, Math.floor(remaining * 0.2)));
}

const TRANSACTION_CONFLICT_TRIES = 3;

export async function processBatch(records: readonly SQSRecord[], invocation: InvocationContext, deps: WorkerDeps): Promise<SQSBatchResponse> {
  const now = deps.now ?? Date.now;
  const remaining = invocation.getRemainingTimeInMillis();
  const invocationEnd = now() + remaining;
  const handlerDeadline = invocationEnd - reserveMs(remaining);
  const type = deps.jobType;

  const items = decodeAll(records, type.name);
  const primaries = items.filter((i) => i.message && !i.duplicateOf);

  // Transactional jobs: one read for the whole batch, so duplicates of finished jobs cost no write. If the
  // read fails, the batch's jobs are retried; its malformed records still go to the DLQ.
  let known: Map<string, JobRecord> | undefined;
  let unreadable: string | undefined;
  if (type.kind === 'transactional' && primaries.length > 0) {
    try {
      known = await deps.store.getMany(primaries.map((i) => i.message!.jobId));
    } catch (error) {
      unreadable = `could not read the batch's job records: ${reasonOf(error)}`;
      deps.log.warn(unreadable);
    }
  }

  const runOne = async (item: Item): Promise<Outcome> => {
    if (item.malformed !== undefined) return { kind: 'dead-letter', reason: item.malformed, jobId: jobIdOf(item.record.body) };
    if (item.duplicateOf) return { kind: 'done', note: 'duplicate within the batch' };
    const message = item.message!;
    const attempt = Number(item.record.attributes.ApproximateReceiveCount) || 1;
    const log = deps.log.child({ jobId: message.jobId, type: type.name, attempt, messageId: item.record.messageId });
    let parsed: ReturnType<typeof safeParse>;
    try {
      parsed = safeParse(type.schema, message.payload);
    } catch (error) {
      return { kind: 'dead-letter', reason: `the payload could not be validated: ${reasonOf(error)}`, jobId: message.jobId };
    }
    if (!parsed.success) {
      return { kind: 'dead-letter', reason: shortReason(`payload does not match the ${type.name} schema: ${summarizeIssues(parsed.error)}`), jobId: message.jobId };
    }
    if (unreadable !== undefined) return { kind: 'retry', reason: unreadable, mayFail: true };
    const ctxBase = { jobId: message.jobId, type: type.name, attempt, deadline: handlerDeadline, tableName: deps.store.tableName, log };
    return type.kind === 'transactional'
      ? runTransactional(type, parsed.data, ctxBase, known!.get(message.jobId), deps)
      : runLeased(type, parsed.data, ctxBase, `${invocation.awsRequestId}/${item.record.messageId}`, invocationEnd, deps, now);
  };

  const outcomes = new Map<SQSRecord, Outcome>();
  if (type.queue.fifo) {
    // One lane per message group: in order within a group, groups side by side.
    const groups = new Map<string, Item[]>();
    for (const item of items) {
      const group = item.record.attributes.MessageGroupId ?? '';
      groups.set(group, [...(groups.get(group) ?? []), item]);
    }
    await mapLimit([...groups.values()], deps.concurrency, async (group) => {
      let blockedBy: string | undefined;
      for (const item of group) {
        if (blockedBy !== undefined && item.malformed === undefined) {
          // Retried like the message it waits for; if its receives run out first it fails as well, since
          // SQS will park it in the DLQ.
          outcomes.set(item.record, { kind: 'retry', reason: `waits for message ${blockedBy} of its group`, mayFail: true });
          continue;
        }
        const outcome = await runOne(item);
        outcomes.set(item.record, outcome);
        if (outcome.kind === 'retry') blockedBy = item.record.messageId;
      }
    });
  } else {
    await mapLimit(items, deps.concurrency, async (item) => {
      outcomes.set(item.record, await runOne(item));
    });
  }

  const settled = await settle(records.map((r) => [r, outcomes.get(r)!] as const), deps);
  return { batchItemFailures: settled.map((r) => ({ itemIdentifier: r.messageId })) };
}

/**
 * Decodes a batch. A record whose body is identical to an earlier record's is a duplicate delivery of the
 * same message and rides on it; records that only share a job id are each validated and run on their own
 * (the job record's conditions decide between them).
 */
function decodeAll(records: readonly SQSRecord[], typeName: string): Item[] {
  const firstOf = new Map<string, SQSRecord>();
  return records.map((record) => {
    let message: JobMessage;
    try {
      message = decodeMessage(record.body);
    } catch (error) {
      return { record, malformed: error instanceof PermanentError ? shortReason(error.message) : reasonOf(error) };
    }
    if (message.type !== typeName) return { record, malformed: shortReason(`malformed message: a ${message.type} job on the ${typeName} queue`) };
    const first = firstOf.get(record.body);
    if (first) return { record, message, duplicateOf: first };
    firstOf.set(record.body, record);
    return { record, message };
  });
}

function summarizeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(payload)'}: ${issue.message}`)
    .join('; ');
}

type ContextBase = Omit<JobContext, 'signal'>;

// Deployed bundles are built with JOBLINE_BUILD_FAULT_INJECTION defined as "false" (infra/jobline-function.ts):
// the checks below then fold to false and the chaos suite's fault injection is left out of them.

async function runHandler<R>(ctx: ContextBase, run: (ctx: JobContext) => Promise<R>): Promise<R> {
  return withDeadline(ctx.deadline, async (signal) => {
    if (process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false') {
      const injected = faultConfig();
      if (injected) await injectHandlerFaults(injected, ctx.jobId, signal);
    }
    return run({ ...ctx, signal });
  });
}

function failureOutcome(error: unknown, extra: { owner?: string; jobId: string; countAttempt: boolean }): Outcome {
  const reason = reasonOf(error);
  if (isPermanent(error)) return { kind: 'dead-letter', reason, jobId: extra.jobId, owner: extra.owner, countAttempt: extra.countAttempt };
  return {
    kind: 'retry',
    reason,
    mayFail: true,
    retryAfterSeconds: error instanceof TransientError ? error.retryAfterSeconds : undefined,
    owner: extra.owner,
    countAttempt: extra.countAttempt,
    // A handler that timed out may still be running: its lease must run out rather than be released.
    recordRetry: !(extra.owner !== undefined && error instanceof DeadlineExceededError),
  };
}

async function runTransactional(type: JobType, payload: unknown, ctx: ContextBase, existing: JobRecord | undefined, deps: WorkerDeps): Promise<Outcome> {
  if (type.kind !== 'transactional') throw new Error('not a transactional job type');
  if (!existing) return { kind: 'dead-letter', reason: `unknown job ${ctx.jobId}: no job record`, jobId: ctx.jobId };
  if (existing.status === 'SUCCEEDED') return { kind: 'done', note: 'already succeeded' };
  try {
    for (let attempt = 1; ; attempt++) {
      const { result, writes } = await runHandler(ctx, (c) => type.handler(payload, c));
      try {
        const completed = await deps.store.completeTransactional(ctx.jobId, result, writes);
        if (completed === 'missing') return { kind: 'dead-letter', reason: `unknown job ${ctx.jobId}: no job record`, jobId: ctx.jobId };
        if (completed === 'completed') ctx.log.info('job succeeded');
        return { kind: 'done', note: completed === 'duplicate' ? 'completed by another delivery' : 'completed' };
      } catch (error) {
        // Another transaction touched the same items: compute the writes again and retry at once.
        const conflict = error instanceof TransientError && error.message.includes('TransactionConflict');
        if (!conflict || attempt >= TRANSACTION_CONFLICT_TRIES) throw error;
        await sleep(10 * 2 ** attempt * Math.random());
      }
    }
  } catch (error) {
    return failureOutcome(error, { jobId: ctx.jobId, countAttempt: true });
  }
}

async function runLeased(type: JobType, payload: unknown, ctx: ContextBase, owner: string, invocationEnd: number, deps: WorkerDeps, now: () => number): Promise<Outcome> {
  if (type.kind !== 'leased') throw new Error('not a leased job type');
  const leaseMs = process.env.JOBLINE_BUILD_FAULT_INJECTION !== 'false' ? faultConfig()?.leaseMs : undefined;
  // The lease lasts as long as this invocation can: once Lambda has stopped it, another worker may take over.
  const leaseUntil = leaseMs ? Math.min(invocationEnd, now() + leaseMs) : invocationEnd;
  let claim;
  try {
    claim = await deps.store.claim(ctx.jobId, owner, leaseUntil);
  } catch (error) {
    return { kind: 'retry', reason: reasonOf(error), mayFail: true };
  }
  if (claim.outcome === 'succeeded') return { kind: 'done', note: 'already succeeded' };
  if (claim.outcome === 'missing') return { kind: 'dead-letter', reason: `unknown job ${ctx.jobId}: no job record`, jobId: ctx.jobId };
  if (claim.outcome === 'leased') {
    // Another worker runs it now. Come back once its lease has run out, without counting this as a failure.
    return { kind: 'retry', reason: 'another worker holds the job', delaySeconds: Math.max(1, Math.ceil((claim.leaseUntil - now()) / 1000) + 1), mayFail: false };
  }
  const log = ctx.log.child({ attempt: claim.attempts });
  try {
    const result = await runHandler({ ...ctx, log }, (c) => type.handler(payload, c));
    const completed = await deps.store.completeLeased(ctx.jobId, owner, result);
    if (completed === 'completed') log.info('job succeeded');
    if (completed === 'lost-lease') {
      log.warn('lease lost before completion; the job will be checked again');
      return { kind: 'retry', reason: 'lease lost before completion', mayFail: false };
    }
    if (completed === 'missing') return { kind: 'dead-letter', reason: `unknown job ${ctx.jobId}: no job record`, jobId: ctx.jobId };
    return { kind: 'done', note: completed };
  } catch (error) {
    return failureOutcome(error, { jobId: ctx.jobId, owner, countAttempt: false });
  }
}

/**
 * Applies the outcomes: FAILED marks, DLQ copies and backoff. Returns the records that must be reported
 * as batch item failures (every retry, and every dead letter that could not be parked).
 */
async function settle(entries: readonly (readonly [SQSRecord, Outcome])[], deps: WorkerDeps): Promise<SQSRecord[]> {
  const failures: SQSRecord[] = [];
  const delays: { record: SQSRecord; seconds: number }[] = [];
  const letters: DeadLetter[] = [];

  await mapLimit(entries, deps.concurrency, async ([record, outcome]) => {
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    const log = deps.log.child({ messageId: record.messageId, attempt, ...(outcome.kind !== 'done' && 'jobId' in outcome && outcome.jobId ? { jobId: outcome.jobId } : {}) });
    if (outcome.kind === 'done') return;
    const jobId = outcome.kind === 'dead-letter' ? outcome.jobId : jobIdOf(record.body);

    if (outcome.kind === 'dead-letter') {
      log.warn('job failed permanently; parking its message in the DLQ', { jobId, reason: outcome.reason });
      try {
        if (jobId) await deps.store.fail(jobId, outcome.reason, { owner: outcome.owner, countAttempt: outcome.countAttempt });
        letters.push({ record, reason: outcome.reason, jobId });
      } catch (error) {
        log.warn('could not mark the job FAILED; the message will be retried', { jobId, reason: reasonOf(error) });
        failures.push(record);
      }
      return;
    }

    failures.push(record);
    const lastReceive = attempt >= deps.maxReceiveCount;
    try {
      if (lastReceive && outcome.mayFail && jobId) {
        const reason = `gave up after ${attempt} attempts: ${outcome.reason}`;
        log.warn('job failed on its last allowed attempt; SQS moves its message to the DLQ', { jobId, reason });
        await deps.store.fail(jobId, reason, { owner: outcome.owner, countAttempt: outcome.countAttempt });
        delays.push({ record, seconds: 0 });
        return;
      }
      if (jobId && outcome.recordRetry) {
        await deps.store.recordRetry(jobId, outcome.reason, outcome.owner);
      }
    } catch (error) {
      log.warn('could not record the failed attempt', { jobId, reason: reasonOf(error) });
    }
    const seconds = outcome.delaySeconds ?? retryDelaySeconds(attempt, deps.backoff ?? deps.jobType.queue.backoff, outcome.retryAfterSeconds);
    if (outcome.mayFail) log.warn('job attempt failed; retrying with backoff', { jobId, reason: outcome.reason, retryInSeconds: seconds });
    delays.push({ record, seconds });
  });

  try {
    const parked = await deps.queue.sendToDeadLetterQueue(letters);
    const refused = letters.filter((letter) => !parked.has(letter.record.messageId));
    if (refused.length > 0) deps.log.warn('the DLQ did not take some messages; they will be retried', { messageIds: refused.map((l) => l.record.messageId) });
    failures.push(...refused.map((l) => l.record));
  } catch (error) {
    deps.log.warn('could not park messages in the DLQ; they will be retried', { reason: reasonOf(error) });
    failures.push(...letters.map((l) => l.record));
  }
  try {
    await deps.queue.delayRetries(delays);
  } catch (error) {
    deps.log.warn('could not apply backoff; the queue\'s visibility timeout applies', { reason: reasonOf(error) });
  }
  return failures;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
