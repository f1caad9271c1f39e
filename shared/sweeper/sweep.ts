/**
 * One sweep (the sweeper function runs one per scheduled invocation): each shard's index entries whose time
 * has come, from the shard's cursor on, oldest first; every job among them that is not terminal is
 * postponed, sent again, or given up (see decide.ts). Bounded by a time budget; where it stops, the cursor
 * stops, and the next sweep goes on from there.
 */
import { reasonOf } from '../errors';
import { encodeRecordMessage } from '../jobs/message';
import { messageDelaySeconds } from '../jobs/run-at';
import type { Logger } from '../log';
import { METRIC, type Metrics } from '../metrics';
import type { JobRecord } from '../store/job-record';
import { SWEEP_SHARD_IDS, type SweepStore } from '../store/sweep-store';
import type { SweepConfig, SweepTypeConfig } from './config';
import { decideSweep } from './decide';

export interface SweepDeps {
  store: SweepStore;
  types: SweepConfig;
  /** Sends a message to a queue (FIFO: with its group and deduplication id); with attributes for a DLQ copy. */
  send(
    queueUrl: string,
    body: string,
    options: { group?: { groupId: string; deduplicationId?: string }; attributes?: Record<string, string>; delaySeconds?: number },
  ): Promise<void>;
  log: Logger;
  /** Counts per job type: resent (JobsResent), given up (JobsFailed), stopped (JobsCancelled); flushed at the sweep's end. */
  metrics?: Metrics;
  now?: () => number;
}

export interface SweepReport {
  looked: number;
  finished: number;
  postponed: number;
  resent: number;
  gaveUp: number;
  /** SCHEDULED jobs sent to their queues. */
  enqueued: number;
  /** RUNNING jobs cancelled whose worker was gone. */
  stopped: number;
  errors: number;
}

/**
 * Entries are read up to this long before now: an index is eventually consistent, and an entry written a
 * moment ago could be missed by a cursor that has already passed its time. Every sweep time is set at
 * least a sweep-after or a stale time ahead, so no entry is due within this margin of being written.
 */
export const INDEX_LAG_MS = 2000;

export async function sweep(deps: SweepDeps, budgetMs = 20_000): Promise<SweepReport> {
  const now = deps.now ?? Date.now;
  const deadline = now() + budgetMs;
  const report: SweepReport = { looked: 0, finished: 0, postponed: 0, resent: 0, gaveUp: 0, enqueued: 0, stopped: 0, errors: 0 };
  await Promise.all(SWEEP_SHARD_IDS.map((shard) => sweepShard(shard, deps, now, deadline, report)));
  if (report.looked > 0) deps.log.info('sweep done', { ...report });
  deps.metrics?.flush();
  return report;
}

async function sweepShard(shard: string, deps: SweepDeps, now: () => number, deadline: number, report: SweepReport): Promise<void> {
  const from = await deps.store.cursor(shard);
  const until = now() - INDEX_LAG_MS;
  let start: Parameters<SweepStore['entries']>[3];
  // The cursor never passes an entry whose job could not be settled (an error, or a job too busy to
  // move): the next sweep reads it again.
  let unsettledFrom = Infinity;
  for (;;) {
    if (now() > deadline) return;
    const page = await deps.store.entries(shard, from, until, start);
    if (page.entries.length > 0) {
      // Eventually consistent reads, at half the cost: every write is conditional on what was read, and a
      // job that moved on in between is read again, consistently.
      const jobs = await deps.store.getMany(
        page.entries.map((e) => e.jobId),
        { consistent: false },
      );
      for (const entry of page.entries) {
        const job = jobs.get(entry.jobId);
        if (!job) continue; // deleted by TTL: nothing left to sweep
        report.looked++;
        let settled = false;
        try {
          settled = await settle(job, deps, now, report);
        } catch (error) {
          report.errors++;
          deps.log.warn('could not sweep a job; the next sweep tries again', { jobId: job.jobId, reason: reasonOf(error) });
        }
        if (!settled) unsettledFrom = Math.min(unsettledFrom, entry.sweepAt);
      }
      // Entries of this sweep time may continue on the next page: if the sweep stops here, they are read
      // again next time (every action is conditional, so a second look is harmless).
      const last = page.entries.at(-1)!.sweepAt;
      await deps.store.advanceCursor(shard, Math.min(page.next ? last - 1 : until, unsettledFrom - 1));
    } else if (!page.next) {
      await deps.store.advanceCursor(shard, Math.min(until, unsettledFrom - 1));
    }
    if (!page.next) return;
    start = page.next;
  }
}

/** Tries a job's sweep, reading it again when it moved on between the read and the write. */
async function settle(first: JobRecord, deps: SweepDeps, now: () => number, report: SweepReport): Promise<boolean> {
  let job: JobRecord | undefined = first;
  for (let attempt = 1; job && attempt <= 3; attempt++) {
    if (await sweepOne(job, deps, now(), report)) return true;
    job = (await deps.store.getMany([job.jobId])).get(job.jobId);
  }
  return job === undefined;
}

/** One job's sweep. True when it is settled (left alone, postponed, sent again or given up). */
async function sweepOne(job: JobRecord, deps: SweepDeps, now: number, report: SweepReport): Promise<boolean> {
  const type = deps.types[job.type];
  const decision = decideSweep(job, type, now);
  const log = deps.log.child({ jobId: job.jobId, type: job.type, generation: job.generation, status: job.status });
  switch (decision.action) {
    case 'skip':
      report.finished++;
      return true;
    case 'postpone':
      if (!(await deps.store.postpone(job, decision.until))) return false;
      report.postponed++;
      return true;
    case 'resend': {
      if (!(await deps.store.markResent(job, decision.nextSweepAt))) return false;
      await deps.send(type!.queueUrl, encodeRecordMessage(job), { group: groupOf(job, type!, `s${(job.sweeps ?? 0) + 1}`), ...delayOf(job, type!, now) });
      report.resent++;
      deps.metrics?.count(METRIC.resent, job.type);
      log.warn('job made no progress: its message was sent again', { sweeps: (job.sweeps ?? 0) + 1 });
      return true;
    }
    case 'enqueue': {
      if (!(await deps.store.enqueue(job, decision.nextSweepAt))) return false;
      // If this send is lost, the job is PENDING without a message: its next sweep sends it again.
      await deps.send(type!.queueUrl, encodeRecordMessage(job), { group: groupOf(job, type!, 'due'), ...delayOf(job, type!, now) });
      report.enqueued++;
      log.info('scheduled job sent to its queue', { runAt: new Date(job.runAt ?? now).toISOString() });
      return true;
    }
    case 'stop': {
      if (!(await deps.store.stop(job, decision.reason))) return false;
      report.stopped++;
      deps.metrics?.count(METRIC.cancelled, job.type);
      log.info('cancelled job stopped: its worker is gone');
      return true;
    }
    case 'give-up': {
      // The DLQ copy first: a job is never FAILED without its message in the DLQ.
      await deps.send(type!.deadLetterQueueUrl, encodeRecordMessage(job), {
        group: groupOf(job, type!, 'given-up'),
        attributes: { 'jobline-reason': decision.reason, 'jobline-job-id': job.jobId, 'jobline-source': 'sweeper' },
      });
      if (!(await deps.store.giveUp(job, decision.reason))) return false;
      report.gaveUp++;
      deps.metrics?.count(METRIC.failed, job.type);
      log.warn('job given up: FAILED, its message is in the DLQ', { reason: decision.reason });
      return true;
    }
  }
}

/** A delayed job's message carries the rest of its delay (standard queues; FIFO jobs are sent when due). */
function delayOf(job: JobRecord, type: SweepTypeConfig, now: number): { delaySeconds?: number } {
  const seconds = type.fifo ? undefined : messageDelaySeconds(job.runAt, now);
  return seconds ? { delaySeconds: seconds } : {};
}

/** FIFO: the job's group and a deduplication id for this send; a standard queue: the job's tenant, if it has one. */
function groupOf(job: JobRecord, type: SweepTypeConfig, suffix: string) {
  if (type.fifo) return { groupId: job.groupId ?? job.jobId, deduplicationId: `${job.jobId}.${job.generation}.${suffix}` };
  return job.groupId !== undefined ? { groupId: job.groupId } : undefined;
}
