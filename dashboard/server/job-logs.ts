/**
 * A job's log lines, where they can be found on this machine: `jobline dev` keeps each function's output in
 * a file of its log directory (local/function-logs.ts), and jobline's structured lines carry the job id
 * (shared/log.ts), so the lines of a job are the lines that name it, from every function (the API that
 * took it, its worker, the sweeper, the notifier). Only the end of each file is read, so a long-running
 * `jobline dev` costs the detail view the same. A deployed stack's logs are in CloudWatch Logs, which the
 * dashboard does not read.
 */
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface JobLogLine {
  /** The function's log file, e.g. webhook-worker.log. */
  file: string;
  line: string;
}

export interface JobLogs {
  lines: JobLogLine[];
  /** More lines named the job than are shown (the newest are kept). */
  truncated: boolean;
}

export const MAX_LOG_LINES = 200;
/** How much of the end of each log file is read. */
export const LOG_TAIL_BYTES = 4 * 1024 * 1024;

async function tail(file: string, bytes: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8');
    // A read that starts inside a line drops that partial line.
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    await handle.close();
  }
}

function timeOf(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const time = (JSON.parse(line) as { time?: unknown }).time;
    return typeof time === 'string' ? time : undefined;
  } catch {
    return undefined;
  }
}

/** The lines of the log files in `logDir` that name `jobId`, oldest first (by their `time` where they have one). */
export async function findJobLogLines(logDir: string, jobId: string, limits = { maxLines: MAX_LOG_LINES, tailBytes: LOG_TAIL_BYTES }): Promise<JobLogs> {
  let files: string[];
  try {
    files = (await readdir(logDir)).filter((name) => name.endsWith('.log')).sort();
  } catch {
    return { lines: [], truncated: false };
  }
  const found: (JobLogLine & { time: string | undefined; order: number })[] = [];
  for (const file of files) {
    const text = await tail(path.join(logDir, file), limits.tailBytes).catch(() => '');
    for (const line of text.split('\n')) if (line.includes(jobId)) found.push({ file, line, time: timeOf(line), order: found.length });
  }
  // Lines of different files interleave by time; a line without one keeps its place after the one before it.
  let last = '';
  for (const entry of found) entry.time = last = entry.time ?? last;
  found.sort((a, b) => (a.time! < b.time! ? -1 : a.time! > b.time! ? 1 : a.order - b.order));
  const shown = found.slice(-limits.maxLines);
  return { lines: shown.map(({ file, line }) => ({ file, line })), truncated: found.length > shown.length };
}
