/**
 * The overview: per job type, jobs by state, queue and DLQ depth, the oldest waiting job, throughput and
 * failure rate per minute over the last half hour, and what makes a type a problem. Built from the same
 * counts as `jobline stats` (cli/job-counts.ts: the API's GET /jobs pages, capped; SQS queue attributes);
 * the time series comes from the counted jobs' finish times, so it is there at the first look, with no
 * history kept by the server. Counts that reached the cap are at least that many, and so are the minutes
 * built from them.
 */
import type { JobCounts, QueueDepth } from '../../cli/job-counts';

/** Minutes of the throughput chart, ending with the current one. */
export const TIMELINE_MINUTES = 30;
/** The window of the failure rate and throughput a problem is judged on. */
export const RECENT_MINUTES = 5;
/** A type is a problem when at least this share of its recently ended jobs failed... */
export const FAILURE_RATE_PROBLEM = 0.2;
/** ...or when its oldest PENDING job has waited longer than this. */
export const WAITING_PROBLEM_SECONDS = 5 * 60;

export interface TypeOverview {
  type: string;
  /** Jobs per state; null when the API cannot list jobs. */
  jobs: Record<string, number> | null;
  /** States whose count reached the cap: at least that many. */
  capped: string[];
  queue: QueueDepth;
  dlq: { messages: number };
  oldestPendingSeconds: number | null;
  recent: { succeeded: number; failed: number; perMinute: number; failureRate: number | null };
  /** Each reason the type needs a look; empty when none. */
  problems: string[];
  /** Per minute of the timeline: jobs that ended SUCCEEDED, and FAILED. */
  succeeded: number[];
  failed: number[];
}

export interface Overview {
  generatedAt: string;
  target: string;
  listing: boolean;
  /** Start of each minute of the timeline, epoch seconds. */
  minutes: number[];
  types: TypeOverview[];
}

const MINUTE = 60_000;

function ageText(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
}

export function buildOverview(counts: JobCounts, target: string, now: number): Overview {
  const firstMinute = Math.floor(now / MINUTE) * MINUTE - (TIMELINE_MINUTES - 1) * MINUTE;
  const minutes = Array.from({ length: TIMELINE_MINUTES }, (_, i) => (firstMinute + i * MINUTE) / 1000);
  const types = counts.types.map((t): TypeOverview => {
    const succeeded = new Array<number>(TIMELINE_MINUTES).fill(0);
    const failed = new Array<number>(TIMELINE_MINUTES).fill(0);
    let recentSucceeded = 0;
    let recentFailed = 0;
    for (const f of t.finished) {
      const slot = Math.floor((f.at - firstMinute) / MINUTE);
      if (slot >= 0 && slot < TIMELINE_MINUTES) (f.status === 'FAILED' ? failed : succeeded)[slot]!++;
      if (now - f.at > RECENT_MINUTES * MINUTE) continue;
      if (f.status === 'FAILED') recentFailed++;
      else recentSucceeded++;
    }
    const ended = recentSucceeded + recentFailed;
    const failureRate = ended === 0 ? null : recentFailed / ended;
    const oldestPendingSeconds = t.oldestPendingAt === undefined ? null : Math.max(0, (now - t.oldestPendingAt) / 1000);
    const problems: string[] = [];
    if (t.dlq.messages > 0) problems.push(`${t.dlq.messages} message${t.dlq.messages === 1 ? '' : 's'} in the DLQ`);
    if (failureRate !== null && failureRate >= FAILURE_RATE_PROBLEM) {
      problems.push(`${Math.round(failureRate * 100)}% of the jobs that ended in the last ${RECENT_MINUTES} minutes failed`);
    }
    if (oldestPendingSeconds !== null && oldestPendingSeconds > WAITING_PROBLEM_SECONDS) problems.push(`the oldest PENDING job has waited ${ageText(oldestPendingSeconds)}`);
    return {
      type: t.type,
      jobs: t.jobs,
      capped: t.capped,
      queue: t.queue,
      dlq: t.dlq,
      oldestPendingSeconds,
      recent: { succeeded: recentSucceeded, failed: recentFailed, perMinute: Math.round((ended / RECENT_MINUTES) * 10) / 10, failureRate },
      problems,
      succeeded,
      failed,
    };
  });
  return { generatedAt: new Date(now).toISOString(), target, listing: counts.listing, minutes, types };
}
