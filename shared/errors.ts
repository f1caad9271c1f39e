/**
 * Typed job errors. The worker decides what happens to a message from the error's type:
 * - PermanentError: retrying cannot help (bad input, a 4xx from a webhook target). The job fails at once
 *   and its message is parked in the DLQ with the reason.
 * - anything else is transient: the message is retried with exponential backoff until the queue's
 *   maxReceiveCount, then SQS moves it to the DLQ.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

export class TransientError extends Error {
  override readonly name = 'TransientError';
  /** Seconds the caller asked to wait before the next attempt (e.g. from a Retry-After header). */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * The reason a leased handler's signal carries when its job's caller cancelled it. A handler that stops by
 * throwing (this or any error) after the request leaves the job CANCELLED.
 */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

/** Another transaction touched the same items (real DynamoDB reports it; DynamoDB Local never does). */
export class TransactionConflictError extends TransientError {}

export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

/** A short, single-line reason for logs, job records and DLQ attributes (never payload contents). */
export function reasonOf(error: unknown): string {
  return shortReason(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

/** Any reason text made single-line and at most 500 characters, so it fits an item and an attribute. */
export function shortReason(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 500 ? `${oneLine.slice(0, 497)}...` : oneLine;
}
