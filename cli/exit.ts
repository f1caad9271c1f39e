/**
 * The exit codes of the `jobline` command, one meaning each, so that scripts can tell what happened:
 *   0  done
 *   1  the operation failed or was refused (the API answered 4xx/5xx, e.g. 409 not retryable; a watched job
 *      ended FAILED or CANCELLED; a redrive left messages behind)
 *   2  usage: an unknown command or option, a missing or invalid argument, no confirmation
 *   3  the target is unreachable: no jobline dev running here, its API or emulators do not answer, the
 *      stack cannot be read
 *   4  not found: no such job, job type or stack
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, notFound: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line (and a hint) and exits with its code; anything else is a bug (exit 1 with its stack). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, EXIT.usage, hint);
export const notFound = (message: string, hint?: string) => new CliError(message, EXIT.notFound, hint);
export const unreachable = (message: string, hint?: string) => new CliError(message, EXIT.unreachable, hint);
export const failed = (message: string, hint?: string) => new CliError(message, EXIT.failed, hint);
