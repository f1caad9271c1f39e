// Types of the line formats bootstrap.mjs exports (the execution environment itself is plain JavaScript).

export interface ReportFields {
  requestId: string;
  durationMs: number;
  memorySizeMb: number;
  /** Left out of the line when unknown. */
  maxMemoryUsedMb?: number;
  /** Cold starts only. */
  initDurationMs?: number;
  /** `timeout` or `error` when the invocation did not end normally. */
  status?: 'timeout' | 'error';
  errorType?: string;
}

export function startLine(requestId: string, version?: string): string;
export function endLine(requestId: string): string;
export function billedDurationMs(durationMs: number, initDurationMs?: number): number;
export function reportLine(fields: ReportFields): string;
export function invokeErrorLine(requestId: string, error: unknown, at?: Date): string;
export function timeoutLine(requestId: string, timeoutSeconds: number, at?: Date): string;
