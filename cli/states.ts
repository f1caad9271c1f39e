/**
 * The job states the CLI knows (shared/store/job-states.ts, with the lifecycle's SCHEDULED and CANCELLED):
 * `--state` choices and the columns of `jobline stats`.
 */
export const STATES = ['SCHEDULED', 'PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export const TERMINAL_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
