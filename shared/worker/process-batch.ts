/**
 * One SQS batch through a job type's handler, exactly once per job:
 *
 *  1. decode every record; a record that is not a job message of this type is poison (DLQ at once); a
 *     record identical to an earlier one of the batch rides on it;
 *  2. bind each message to its job (type, payload hash, generation; shared/store/job-states.ts): a message
 *     that is not its job's, or whose job is FAILED, is dropped without running;
 *     transactional jobs: one BatchGetItem finds the jobs already SUCCEEDED (acknowledged, no write) and
 *     the messages not bound to their records; the others run their handlers side by side and commit
 *     their writes with their SUCCEEDED marks in as few transactions as DynamoDB allows (transactional.ts);
 *     leased jobs: claim (which checks the binding), run, complete while holding the lease (leased.ts);
 *  3. outcomes are applied by settle(): done or drop (deleted by Lambda), retry (backoff; reported in
 *     batchItemFailures), or dead-letter (message copied to the DLQ, job FAILED with the reason).
 *
 * In a FIFO batch the records of one message group run in order, and the first one that must be retried
 * makes the rest of its group retry too; groups proceed side by side.
 */
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { safeParse } from 'zod/mini';
import { PermanentError, reasonOf, shortReason } from '../errors';
import { decodeMessage, jobIdOf, type JobMessage } from '../jobs/message';
import { payloadHash } from '../jobs/payload-hash';
import { refusalOf, type Binding } from '../store/binding';
import { isExpired, type JobRecord } from '../store/job-record';
import { countOutcome, timeRun } from './batch-metrics';
import type { WorkerDeps } from './deps';
import { LEASE_CLOCK_SKEW_MS, runLeased } from './leased';
import { mapLimit } from './map-limit';
import { refused, unknownJob, type Outcome } from './outcome';
import type { ContextBase } from './run-handler';
import { settle } from './settle';
import { runTransactionalRound } from './transactional';

export type InvocationContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

interface Item {
  record: SQSRecord;
  message?: JobMessage;
  /** What binds the message to its job (with `message`). */
  binding?: Binding;
  malformed?: string;
  /** A later record of the same message that an earlier record of this batch carries. */
  duplicateOf?: SQSRecord;
}

/** A record that passed every check and runs: its job, its validated payload and its context. */
interface Runnable {
  binding: Binding;
  payload: unknown;
  ctx: ContextBase;
}

/** Time kept back from the handler for the completion write and the batch report. */
function reserveMs(remaining: number): number {
  return Math.min(5000, Math.max(200, Math.floor(remaining * 0.2)));
}

/** A handler is not started with less time than this: it could not finish, and would only use up a lease. */
export const MIN_HANDLER_MS = 250;

const NO_LIMITS = { release: () => Promise.resolve() };

const bindingOf = (message: JobMessage): Binding => ({ jobId: message.jobId, type: message.type, payloadHash: payloadHash(message.payload), generation: message.gen });

/** The outcome a live job record decides for a message without running it: refused, or already SUCCEEDED. */
function settledBy(job: JobRecord, binding: Binding): Outcome | undefined {
  const refusal = refusalOf(job, binding);
  if (refusal) return refused(binding.jobId, refusal);
  if (job.status === 'SUCCEEDED') return { kind: 'done', note: 'already succeeded' };
  return undefined;
}

export async function processBatch(records: readonly SQSRecord[], invocation: InvocationContext, deps: WorkerDeps): Promise<SQSBatchResponse> {
  const now = deps.now ?? Date.now;
  const remaining = invocation.getRemainingTimeInMillis();
  const invocationEnd = now() + remaining;
  const handlerDeadline = invocationEnd - reserveMs(remaining);
  const type = deps.jobType;
  const items = decodeAll(records, type.name);

  // Transactional jobs, and leased jobs with limits: one read for the whole batch, so duplicates of finished
  // jobs cost no write (and, with limits, no rate slot or place: nor do forged or stale messages, which the
  // claim would refuse all the same). The read is eventually consistent (half the read units): a stale
  // PENDING only means the handler runs and the completion's condition refuses the duplicate; a stale
  // SUCCEEDED cannot be, since SUCCEEDED is final. A record not seen yet, or one whose view refuses the
  // message (a retry may have moved a FAILED job to its next generation an instant ago), is read again,
  // consistently. If the read fails, a transactional batch's jobs are retried (its malformed records still
  // go to the DLQ); a leased job's claim decides, as without limits.
  let known: Map<string, JobRecord> | undefined;
  let unreadable: string | undefined;
  const primaries = items.filter((i) => i.message && !i.duplicateOf);
  if ((type.kind === 'transactional' || type.limits !== undefined) && primaries.length > 0) {
    try {
      const ids = primaries.map((i) => i.message!.jobId);
      known = await deps.store.getMany(ids, { consistent: false, bindingOnly: true });
      const again = primaries
        .filter((i) => {
          const seen = known!.get(i.message!.jobId);
          return !seen || isExpired(seen, now()) || refusalOf(seen, i.binding!) !== undefined;
        })
        .map((i) => i.message!.jobId);
      if (again.length > 0) for (const [id, job] of await deps.store.getMany(again, { bindingOnly: true })) known.set(id, job);
    } catch (error) {
      known = undefined;
      if (type.kind === 'transactional') {
        unreadable = `could not read the batch's job records: ${reasonOf(error)}`;
        deps.log.warn(unreadable);
      } else deps.log.warn("could not read the batch's job records; each claim decides", { reason: reasonOf(error) });
    }
  }

  /** What a record needs before any handler runs: its outcome if it is decided already, else what to run. */
  const check = (item: Item): Outcome | Runnable => {
    if (item.malformed !== undefined) return { kind: 'dead-letter', reason: item.malformed, jobId: jobIdOf(item.record.body) };
    if (item.duplicateOf) return { kind: 'done', note: 'duplicate within the batch' };
    const message = item.message!;
    const binding = item.binding!;
    if (type.kind === 'leased' && known) {
      // Settled before its limits are asked; a record not found is left to the claim.
      const existing = known.get(message.jobId);
      const settled = existing && !isExpired(existing, now()) ? settledBy(existing, binding) : undefined;
      if (settled) return settled;
    }
    if (type.kind === 'transactional') {
      if (unreadable !== undefined) return { kind: 'retry', reason: unreadable, mayFail: true, binding };
      const existing = known!.get(message.jobId);
      if (!existing || isExpired(existing, now())) return unknownJob(message.jobId);
      const settled = settledBy(existing, binding);
      if (settled) return settled;
      // Never before its time (a message that came early: sent again by hand, or a copy without its delay).
      // Not a failure; on its last receive it is acknowledged, and the sweeper sends the job again later.
      if (existing.runAt !== undefined && existing.runAt > now()) {
        return {
          kind: 'retry',
          reason: 'the job is not due yet',
          delaySeconds: Math.max(1, Math.ceil((existing.runAt - now()) / 1000)),
          mayFail: false,
          heldElsewhere: true,
          binding,
        };
      }
    }
    // Only the job's own payload reaches this point on the transactional path; on the leased path the claim
    // checks the binding, and a failure here fails the job only if the message is bound to it (fail()).
    let parsed: ReturnType<typeof safeParse>;
    try {
      parsed = safeParse(type.schema, message.payload);
    } catch (error) {
      return { kind: 'dead-letter', reason: `the payload could not be validated: ${reasonOf(error)}`, jobId: message.jobId, binding };
    }
    if (!parsed.success) {
      return { kind: 'dead-letter', reason: shortReason(`payload does not match the ${type.name} schema: ${summarizeIssues(parsed.error)}`), jobId: message.jobId, binding };
    }
    if (handlerDeadline - now() < MIN_HANDLER_MS)
      return { kind: 'retry', reason: 'too little time left in the invocation to start the job', mayFail: false, delaySeconds: 0, binding };
    const attempt = Number(item.record.attributes.ApproximateReceiveCount) || 1;
    // With tracing on, SQS carries the submit's X-Ray trace header: logging it joins the job's lines to its trace.
    const trace = item.record.attributes.AWSTraceHeader;
    const log = deps.log.child({
      jobId: message.jobId,
      type: type.name,
      attempt,
      generation: message.gen,
      messageId: item.record.messageId,
      ...(trace ? { traceHeader: trace } : {}),
    });
    return { binding, payload: parsed.data, ctx: { jobId: message.jobId, type: type.name, attempt, deadline: handlerDeadline, tableName: deps.store.tableName, log } };
  };

  // Limits (shared/limits/): a runnable job takes its rate slot and concurrency place first; one over a
  // limit is deferred (a delayed copy), and a place is given back when its job has run.
  const holdUntil = invocationEnd + LEASE_CLOCK_SKEW_MS;
  const gate = async (item: Item, run: Runnable): Promise<{ release(): Promise<void> } | Outcome> => {
    if (!type.limits) return NO_LIMITS;
    if (!deps.limiter) return { kind: 'retry', reason: `the ${type.name} job type declares limits but its worker has no limiter`, mayFail: true, binding: run.binding };
    try {
      // A slot waited for in place must leave the handler its minimum time before the invocation ends.
      const latestStart = run.ctx.deadline - MIN_HANDLER_MS;
      const admission = await deps.limiter.admit(type.name, type.limits, run.payload, item.record, `${invocation.awsRequestId}/${item.record.messageId}`, holdUntil, latestStart);
      if (admission.admitted) return admission;
      return { kind: 'defer', reason: admission.reason, delaySeconds: admission.delaySeconds, attributes: admission.attributes, binding: run.binding };
    } catch (error) {
      return { kind: 'retry', reason: `could not check the job's limits: ${reasonOf(error)}`, mayFail: true, binding: run.binding };
    }
  };
  const giveBack = (held: { release(): Promise<void> }) =>
    held.release().catch((error: unknown) => deps.log.warn('could not give a concurrency place back; it is taken back when its hold runs out', { reason: reasonOf(error) }));

  // Lanes: a FIFO message group's records in order; on a standard queue every record is a lane of its own.
  const lanes: Item[][] = [];
  if (type.queue.fifo) {
    const groups = new Map<string, Item[]>();
    for (const item of items) {
      const group = item.record.attributes.MessageGroupId ?? '';
      if (!groups.has(group)) lanes.push(groups.set(group, []).get(group)!);
      groups.get(group)!.push(item);
    }
  } else {
    for (const item of items) lanes.push([item]);
  }

  const outcomes = new Map<SQSRecord, Outcome>();
  // A lane stops at its first retry: its later records (poison aside, which never comes back) are retried
  // like it, and fail with it if their receives run out first, since SQS will park them in the DLQ.
  const blockedBy = new Map<Item[], string>();
  const waits = (lane: Item[]): Outcome => ({ kind: 'retry', reason: `waits for message ${blockedBy.get(lane)} of its group`, mayFail: true });
  const settleOne = (lane: Item[], item: Item, outcome: Outcome) => {
    outcomes.set(item.record, outcome);
    if (outcome.kind === 'retry' && !blockedBy.has(lane)) blockedBy.set(lane, item.record.messageId);
  };

  if (type.kind === 'leased') {
    await mapLimit(lanes, deps.concurrency, async (lane) => {
      for (const item of lane) {
        if (blockedBy.has(lane) && item.malformed === undefined) {
          outcomes.set(item.record, waits(lane));
          continue;
        }
        const checked = check(item);
        if ('kind' in checked) {
          settleOne(lane, item, checked);
          continue;
        }
        const held = await gate(item, checked);
        if ('kind' in held) {
          settleOne(lane, item, held);
          continue;
        }
        const owner = `${invocation.awsRequestId}/${item.record.messageId}`;
        const startedAt = now();
        const outcome = await runLeased(type, checked.binding, checked.payload, checked.ctx, owner, invocationEnd, deps, now).finally(() => giveBack(held));
        if (deps.metrics) timeRun(deps.metrics, type.name, item.record, outcome, startedAt, now());
        settleOne(lane, item, outcome);
      }
    });
  } else {
    // Rounds: the next runnable record of every lane, their handlers side by side, one group commit.
    const cursors = new Map<Item[], number>(lanes.map((lane) => [lane, 0]));
    for (;;) {
      const round: { lane: Item[]; item: Item; run: Runnable }[] = [];
      for (const lane of lanes) {
        for (let i = cursors.get(lane)!; i < lane.length; i++) {
          const item = lane[i]!;
          cursors.set(lane, i + 1);
          if (blockedBy.has(lane) && item.malformed === undefined) {
            outcomes.set(item.record, waits(lane));
            continue;
          }
          const checked = check(item);
          if ('kind' in checked) {
            settleOne(lane, item, checked);
            continue;
          }
          round.push({ lane, item, run: checked });
          break;
        }
      }
      if (round.length === 0) break;
      const gated = await Promise.all(round.map((r) => gate(r.item, r.run)));
      const admitted = round.filter((r, i) => {
        const held = gated[i]!;
        if ('kind' in held) settleOne(r.lane, r.item, held);
        return !('kind' in held);
      });
      const held = gated.filter((g): g is { release(): Promise<void> } => !('kind' in g));
      const startedAt = now();
      const results = await runTransactionalRound(
        admitted.map((r) => r.run),
        type,
        deps,
      ).finally(() => Promise.all(held.map(giveBack)));
      const endedAt = now();
      admitted.forEach((r, i) => {
        if (deps.metrics) timeRun(deps.metrics, type.name, r.item.record, results[i]!, startedAt, endedAt);
        settleOne(r.lane, r.item, results[i]!);
      });
    }
  }

  const failed = await settle(
    records.map((r) => [r, outcomes.get(r)!] as const),
    deps,
  );
  if (deps.metrics) for (const outcome of outcomes.values()) countOutcome(deps.metrics, type.name, outcome);
  return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
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
    return { record, message, binding: bindingOf(message) };
  });
}

function summarizeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(payload)'}: ${issue.message}`)
    .join('; ');
}
