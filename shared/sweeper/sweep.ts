/**
 * One sweep (the sweeper function runs one per scheduled invocation): every due job is looked at and
 * postponed, sent again, or given up (see decide.ts). Bounded by a time budget; what is left is due at the
 * next sweep.
 */
import { reasonOf } from '../errors';
import { encodeRecordMessage } from '../jobs/message';
import type { Logger } from '../log';
import type { JobRecord } from '../store/job-record';
import type { SweepStore } from '../store/sweep-store';
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
  postponed: number;
  resent: number;
  gaveUp: number;
  errors: number;
}

export async function sweep(deps: SweepDeps, budgetMs = 20_000): Promise<SweepReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const report: SweepReport = { looked: 0, postponed: 0, resent: 0, gaveUp: 0, errors: 0 };
  while (now() - started < budgetMs) {
    const ids = await deps.store.dueJobIds(now());
    if (ids.length === 0) break;
    const jobs = await deps.store.getMany(ids);
    let progressed = 0;
    for (const job of jobs.values()) {
      report.looked++;
      try {
        if (await sweepOne(job, deps, now(), report)) progressed++;
      } catch (error) {
        report.errors++;
        deps.log.warn('could not sweep a job', { jobId: job.jobId, reason: reasonOf(error) });
      }
    }
    // Nothing moved (every write lost a race, or failed): leave the rest to the next sweep.
    if (progressed === 0) break;
  }
  if (report.looked > 0) deps.log.info('sweep done', { ...report });
  return report;
}

async function sweepOne(job: JobRecord, deps: SweepDeps, now: number, report: SweepReport): Promise<boolean> {
  const type = deps.types[job.type];
  const decision = decideSweep(job, type, now);
  const log = deps.log.child({ jobId: job.jobId, type: job.type, generation: job.generation, status: job.status });
  switch (decision.action) {
    case 'skip':
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
