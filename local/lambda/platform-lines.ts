/**
 * The lines Lambda's platform writes to a function's log when an invocation ends without its environment's
 * answer. An environment that answers, or exits on its own, writes its START, END and REPORT lines itself
 * (bootstrap.mjs); one that is killed cannot: for a timeout the runtime writes "Task timed out", END and
 * REPORT with `Status: timeout` for it, and for an environment killed by a signal (the runtime stopping, V8
 * at the heap's limit) END and REPORT with `Status: error` (`Error Type: Runtime.OutOfMemory` for the latter).
 */
import { readFileSync } from 'node:fs';
import { endLine, reportLine, timeoutLine } from './bootstrap.mjs';
import type { InvocationEnd } from './function-pool';

/** The peak resident set size of a live process in MB (VmHWM, Linux); undefined elsewhere or once it has gone. */
export function peakMemoryMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.ceil(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

/** The platform's lines for an invocation that ended (none when the environment wrote its own). */
export function platformLinesAtEnd(end: InvocationEnd, fn: { timeoutSeconds: number; memoryMb: number }, at: Date = new Date()): string[] {
  const { requestId, result } = end;
  if (result.ok) return [];
  const report = { requestId, durationMs: result.durationMs, memorySizeMb: fn.memoryMb };
  if (result.kind === 'timeout') {
    const maxMemoryUsedMb = peakMemoryMb(end.pid);
    return [
      timeoutLine(requestId, fn.timeoutSeconds, at),
      endLine(requestId),
      reportLine({ ...report, ...(maxMemoryUsedMb !== undefined ? { maxMemoryUsedMb } : {}), status: 'timeout' }),
    ];
  }
  // Exited with a code: the environment wrote its END and REPORT on its way out. Killed by a signal (the runtime
  // stopping, V8 at the heap's limit: "Runtime exited with error: signal: killed"), it could not.
  if (result.kind === 'crash' && !/with code \d+/.test(result.errorMessage)) {
    const errorType = /Runtime exited with error: signal: killed/.test(result.errorMessage) ? 'Runtime.OutOfMemory' : result.errorType;
    return [endLine(requestId), reportLine({ ...report, status: 'error', errorType })];
  }
  return [];
}
