/**
 * The transactional path, for jobs whose only effects are DynamoDB writes. The handlers of a round of jobs
 * run side by side; then their writes and SUCCEEDED marks commit in as few transactions as DynamoDB allows
 * (group commit: items of one transaction must not overlap, 100 at most). One round trip completes a whole
 * batch of unrelated jobs, at the same write units as one transaction per job.
 *
 * A cancelled group commit tells each job's fate by its own items: another delivery completed it (a
 * duplicate), its record does not exist, or its own condition refused it. A job the cancellation decides
 * nothing about (it was only cancelled along with another) commits on its own, where a TransactionConflict
 * is retried at once with freshly computed writes, up to three times.
 */
import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { PermanentError, TransactionConflictError, TransientError, reasonOf } from '../errors';
import { sleep } from '../sleep';
import type { JobType } from '../jobs/define';
import { canonicalJson } from '../jobs/payload-hash';
import type { Binding } from '../store/binding';
import { MAX_JOB_WRITES, MAX_TRANSACTION_ITEMS, storedResult } from '../store/job-store';
import type { GroupVerdict } from '../store/cancellation';
import type { AroundHandler, TransactionalDeps } from './deps';
import { mapLimit } from './map-limit';
import { failureOutcome, refused, unknownJob, type Outcome } from './outcome';
import { runHandler, type ContextBase } from './run-handler';

export interface TransactionalJob {
  binding: Binding;
  payload: unknown;
  ctx: ContextBase;
}

interface Prepared {
  job: TransactionalJob;
  /** Serialized here, per job: a result too large to keep is replaced by a note, and fails no one. */
  result: AttributeValue;
  writes: TransactWriteItem[];
}

const TRANSACTION_CONFLICT_TRIES = 3;

/** Runs one round of jobs (at most one per FIFO message group) and returns their outcomes, in order. */
export async function runTransactionalRound(jobs: readonly TransactionalJob[], type: JobType, deps: TransactionalDeps): Promise<Outcome[]> {
  if (type.kind !== 'transactional') throw new Error('not a transactional job type');
  const outcomes = new Array<Outcome>(jobs.length);
  const prepared: { index: number; prepared: Prepared }[] = [];
  await mapLimit(jobs, deps.concurrency, async (job, index) => {
    try {
      prepared.push({ index, prepared: await prepare(job, type, deps.aroundHandler) });
    } catch (error) {
      outcomes[index] = failureOutcome(error, { binding: job.binding, countAttempt: true });
    }
  });
  prepared.sort((a, b) => a.index - b.index);

  for (const group of planCommitGroups(prepared.map((p) => [completionKey(deps.store.tableName, p.prepared.job.ctx.jobId), ...p.prepared.writes.map(itemKey)]))) {
    const members = group.map((i) => prepared[i]!);
    const results =
      members.length === 1
        ? [await commitAlone(members[0]!.prepared, type, deps)]
        : await commitTogether(
            members.map((m) => m.prepared),
            type,
            deps,
          );
    members.forEach((m, i) => (outcomes[m.index] = results[i]!));
  }
  return outcomes;
}

async function prepare(job: TransactionalJob, type: JobType, around: AroundHandler | undefined): Promise<Prepared> {
  if (type.kind !== 'transactional') throw new Error('not a transactional job type');
  const { result, writes } = await runHandler(job.ctx, (c) => type.handler(job.payload, c), around);
  if (writes.length > MAX_JOB_WRITES) throw new PermanentError(`a job may commit at most ${MAX_JOB_WRITES} writes with its completion, not ${writes.length}`);
  return { job, result: storedResult(result), writes };
}

async function commitTogether(members: readonly Prepared[], type: JobType, deps: TransactionalDeps): Promise<Outcome[]> {
  let verdicts: GroupVerdict[] | 'committed';
  try {
    verdicts = await deps.store.completeTransactionalGroup(members.map((m) => ({ binding: m.job.binding, result: m.result, writes: m.writes, attempt: m.job.ctx.attempt })));
  } catch (error) {
    // A malformed write of one job fails the whole request: let each job find out alone. Anything else
    // (throttling, a network failure) would fail them alone too: retry them all with backoff.
    if (error instanceof Error && error.name === 'ValidationException') return Promise.all(members.map((m) => commitAlone(m, type, deps)));
    return members.map((m) => failureOutcome(new TransientError(`group commit failed: ${reasonOf(error)}`, { cause: error }), { binding: m.job.binding, countAttempt: true }));
  }
  if (verdicts === 'committed') {
    for (const m of members) m.job.ctx.log.info('job succeeded', { committedWith: members.length });
    return members.map(() => ({ kind: 'done', note: 'completed' }));
  }
  const decided = verdicts;
  return Promise.all(
    members.map(async (m, i): Promise<Outcome> => {
      const verdict = decided[i];
      if (verdict?.kind === 'duplicate') return { kind: 'done', note: 'completed by another delivery' };
      if (verdict?.kind === 'unknown-job') return unknownJob(m.job.ctx.jobId);
      if (verdict?.kind === 'not-runnable') return refused(m.job.ctx.jobId, verdict.refusal);
      if (verdict?.kind === 'permanent') return failureOutcome(new PermanentError(verdict.reason), { binding: m.job.binding, countAttempt: true });
      return commitAlone(m, type, deps);
    }),
  );
}

/** One job's completion in its own transaction; a TransactionConflict is retried with fresh writes. */
async function commitAlone(first: Prepared, type: JobType, deps: TransactionalDeps): Promise<Outcome> {
  const { ctx } = first.job;
  let current = first;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const completed = await deps.store.completeTransactional(first.job.binding, current.result, current.writes, ctx.attempt);
        if (completed === 'missing') return unknownJob(ctx.jobId);
        if (typeof completed === 'object') return refused(ctx.jobId, completed.notRunnable);
        if (completed === 'completed') ctx.log.info('job succeeded');
        return { kind: 'done', note: completed === 'duplicate' ? 'completed by another delivery' : 'completed' };
      } catch (error) {
        // Another transaction touched the same items: compute the writes again and retry at once.
        if (!(error instanceof TransactionConflictError) || attempt >= TRANSACTION_CONFLICT_TRIES) throw error;
        await sleep(10 * 2 ** attempt * Math.random());
        current = await prepare(first.job, type, deps.aroundHandler);
      }
    }
  } catch (error) {
    return failureOutcome(error, { binding: first.job.binding, countAttempt: true });
  }
}

const completionKey = (tableName: string, jobId: string) => `${tableName}|${canonicalJson({ pk: { S: `JOB#${jobId}` } })}`;

/** The item a write touches, as far as it can be told without the table's key schema. */
export function itemKey(write: TransactWriteItem): string {
  const target = write.Update ?? write.Delete ?? write.ConditionCheck;
  if (target) return `${target.TableName}|${canonicalJson(target.Key)}`;
  // A Put names its key inside the item; without the key schema the whole item stands for it. An overlap
  // this misses makes DynamoDB refuse the group, and its jobs then commit one by one.
  return `${write.Put?.TableName}|${canonicalJson(write.Put?.Item)}`;
}

/**
 * Packs jobs (each the list of item keys it writes, its completion first) into transactions: in order,
 * each job into the first group it shares no item with and fits in. Returns groups of job indexes.
 */
export function planCommitGroups(jobs: readonly (readonly string[])[], maxItems = MAX_TRANSACTION_ITEMS): number[][] {
  const groups: { members: number[]; keys: Set<string> }[] = [];
  jobs.forEach((keys, index) => {
    const fits = (g: { keys: Set<string> }) => g.keys.size + keys.length <= maxItems && keys.every((k) => !g.keys.has(k));
    const group = groups.find(fits) ?? groups[groups.push({ members: [], keys: new Set() }) - 1]!;
    group.members.push(index);
    for (const k of keys) group.keys.add(k);
  });
  return groups.map((g) => g.members);
}
