/**
 * Structured JSON logs, one object per line. Every line of a job carries its jobId, type and attempt
 * (bind them with `child`). Payload contents never go into a log: only ids, sizes and reasons.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function levelFromEnv(): LogLevel {
  const level = process.env.JOBLINE_LOG_LEVEL?.toLowerCase();
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
}

export function createLogger(base: LogFields = {}, level: LogLevel = levelFromEnv()): Logger {
  const threshold = RANK[level];
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    const line = JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...base, ...fields });
    process.stdout.write(`${line}\n`);
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }, level),
  };
}
