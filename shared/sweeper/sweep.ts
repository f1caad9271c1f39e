/**
 * One sweep (the sweeper function runs one per scheduled invocation): each shard's index entries whose time
 * has come, from the shard's cursor on, oldest first; every job among them that is not terminal is
 * postponed, sent again, or given up (see decide.ts). Bounded by a time budget; where it stops, the cursor
 * stops, and the next sweep goes on from there.
 */
import { reasonOf } from '../errors';
import { encodeRecordMessage } from '../jobs/message';
import type { Logger } from '../log';
import type { JobRecord } from '../store/job-record';
import { SWEEP_SHARD_IDS, type SweepStore } from '../store/sweep-store';
import type { SweepConfig, SweepTypeConfig } from './config';
import { decideSweep } from './decide';

export interface SweepDeps {
  store: SweepStore;
  types: SweepConfig;
  /** Sends a message to a queue (FIFO: with its group and deduplication id); with attributes for a DLQ copy. */
  send(queueUrl: string, body: string, options: { fifo?: { groupId: string; deduplicationId: string }; attributes?: Record<string, string> }): Promise<void>;
  log: Logger;
  now?: () => number;
}

export interface SweepReport {
  looked: number;
  finished: number;
  postponed: number;
  resent: number;
  gaveUp: number;
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
  const report: SweepReport = { looked: 0, finished: 0, postponed: 0, resent: 0, gaveUp: 0, errors: 0 };
  await Promise.all(SWEEP_SHARD_IDS.map((shard) => sweepShard(shard, deps, now, deadline, report)));
  if (report.looked > 0) deps.log.info('sweep done', { ...report });
  return report;
}

async function sweepShard(shard: string, deps: SweepDeps, now: () => number, deadline: number, report: SweepReport): Promise<void> {
  const from = await deps.store.cursor(shard);
  const until = now() - INDEX_LAG_MS;
  let start: Parameters<SweepStore['entries']>[3];
  for (;;) {
    if (now() > deadline) return;
    const page = await deps.store.entries(shard, from, until, start);
    if (page.entries.length > 0) {
      // Eventually consistent reads, at half the cost: every write below is conditional on what was read.
      const jobs = await deps.store.getMany(page.entries.map((e) => e.jobId), { consistent: false });
      for (const job of jobs.values()) {
        report.looked++;
        try {
          await sweepOne(job, deps, now(), report);
        } catch (error) {
          report.errors++;
          deps.log.warn('could not sweep a job', { jobId: job.jobId, reason: reasonOf(error) });
        }
      }
      // Entries of this sweep time may continue on the next page: if the sweep stops here, they are read
      // again next time (every action is conditional, so a second look is harmless).
      const last = page.entries.at(-1)!.sweepAt;
      await deps.store.advanceCursor(shard, page.next ? last - 1 : until);
    } else if (!page.next) {
      await deps.store.advanceCursor(shard, until);
    }
    if (!page.next) return;
    start = page.next;
  }
}

async function sweepOne(job: JobRecord, deps: SweepDeps, now: number, report: SweepReport): Promise<boolean> {
  const type = deps.types[job.type];
  const decision = decideSweep(job, type, now);
  const log = deps.log.child({ jobId: job.jobId, type: job.type, generation: job.generation, status: job.status });
  switch (decision.action) {
    case 'skip':
      report.finished++;
      return false;
    case 'postpone':
      report.postponed++;
      return deps.store.postpone(job, decision.until);
    case 'resend': {
      if (!(await deps.store.markResent(job, decision.nextSweepAt))) return false;
      await deps.send(type!.queueUrl, encodeRecordMessage(job), { fifo: fifoOf(job, type!, `s${(job.sweeps ?? 0) + 1}`) });
      report.resent++;
      log.warn('job made no progress: its message was sent again', { sweeps: (job.sweeps ?? 0) + 1 });
      return true;
    }
    case 'give-up': {
      // The DLQ copy first: a job is never FAILED without its message in the DLQ.
      await deps.send(type!.deadLetterQueueUrl, encodeRecordMessage(job), {
        fifo: fifoOf(job, type!, 'given-up'),
        attributes: { 'jobline-reason': decision.reason, 'jobline-job-id': job.jobId, 'jobline-source': 'sweeper' },
      });
      if (!(await deps.store.giveUp(job, decision.reason))) return false;
      report.gaveUp++;
      log.warn('job given up: FAILED, its message is in the DLQ', { reason: decision.reason });
      return true;
    }
  }
}

function fifoOf(job: JobRecord, type: SweepTypeConfig, suffix: string) {
  return type.fifo ? { groupId: job.groupId ?? job.jobId, deduplicationId: `${job.jobId}.${job.generation}.${suffix}` } : undefined;
}
