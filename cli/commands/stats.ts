/**
 * `jobline stats`: per job type, jobs by state, throughput, the age of the oldest waiting job, and the depth
 * of its queue and DLQ. What is counted and how (the API's GET /jobs pages, at most --max-pages per type and
 * state; SQS GetQueueAttributes) is cli/job-counts.ts; this turns it into the table or the JSON.
 */
import { countJobs, PAGE, type TypeCounts } from '../job-counts';
import { STATES } from '../states';
import { age, note, printJson, table } from '../output';
import type { Target } from '../target';

const THROUGHPUT_WINDOW_MS = 5 * 60_000;

export interface TypeStats {
  type: string;
  /** Jobs per state (the caller's); null when the API cannot list jobs. */
  jobs: Record<string, number> | null;
  /** The states whose count reached --max-pages: at least that many. */
  capped: string[];
  /** Jobs that ended (SUCCEEDED or FAILED) per minute over the last 5 minutes. */
  finishedPerMinute: number | null;
  /** Seconds since the oldest PENDING job was submitted. */
  oldestPendingSeconds: number | null;
  queue: { waiting: number; inFlight: number; delayed: number };
  dlq: { messages: number };
}

function typeStats(counts: TypeCounts, listing: boolean, now: number): TypeStats {
  const { type, jobs, capped, queue, dlq } = counts;
  if (!listing) return { type, jobs: null, capped: [], finishedPerMinute: null, oldestPendingSeconds: null, queue, dlq };
  const finishedRecently = counts.finished.filter((f) => now - f.at <= THROUGHPUT_WINDOW_MS).length;
  return {
    type,
    jobs,
    capped,
    finishedPerMinute: Math.round((finishedRecently / (THROUGHPUT_WINDOW_MS / 60_000)) * 10) / 10,
    oldestPendingSeconds: counts.oldestPendingAt === undefined ? null : Math.max(0, (now - counts.oldestPendingAt) / 1000),
    queue,
    dlq,
  };
}

export interface StatsOptions {
  maxPages: number;
  json?: boolean;
}

export async function stats(target: Target, options: StatsOptions): Promise<void> {
  const { listing, types } = await countJobs(target, options.maxPages);
  const now = Date.now();
  const rows = types.map((t) => typeStats(t, listing, now));
  if (options.json) return printJson({ target: target.label, types: rows, ...(listing ? {} : { note: 'the API has no GET /jobs: job counts need a newer jobline' }) });
  const count = (r: TypeStats, state: string) => (r.jobs ? `${r.jobs[state]}${r.capped.includes(state) ? '+' : ''}` : undefined);
  console.log(
    table(rows, [
      { header: 'JOB TYPE', value: (r) => r.type },
      ...(listing ? STATES.map((s) => ({ header: s, value: (r: TypeStats) => count(r, s), align: 'right' as const })) : []),
      ...(listing ? [{ header: 'DONE/MIN', value: (r: TypeStats) => r.finishedPerMinute ?? undefined, align: 'right' as const }] : []),
      ...(listing ? [{ header: 'OLDEST PENDING', value: (r: TypeStats) => age(r.oldestPendingSeconds ?? undefined), align: 'right' as const }] : []),
      { header: 'QUEUED', value: (r) => r.queue.waiting, align: 'right' },
      { header: 'IN FLIGHT', value: (r) => r.queue.inFlight, align: 'right' },
      { header: 'DELAYED', value: (r) => r.queue.delayed, align: 'right' },
      { header: 'DLQ', value: (r) => r.dlq.messages, align: 'right' },
    ]),
  );
  if (!listing) note('job counts need GET /jobs, which this API does not have (a jobline older than the lifecycle endpoints)');
  else if (rows.some((r) => r.capped.length > 0)) note(`counts with + reached --max-pages ${options.maxPages} (pages of ${PAGE}): at least that many`);
}
