/**
 * Exponential backoff with jitter for a failed attempt: base * 2^(attempt-1), capped at max, then a random
 * point in its upper half (so retries of a failed batch spread out instead of arriving together).
 * A retry-after hint (e.g. a webhook's Retry-After header) is honoured when it asks for longer.
 * Whole seconds, because that is what SQS's ChangeMessageVisibility takes.
 */
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface BackoffOptions {
  baseSeconds: number;
  maxSeconds: number;
}

export function retryDelaySeconds(attempt: number, options: BackoffOptions, retryAfterSeconds?: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(30, attempt - 1));
  const capped = Math.min(options.maxSeconds, options.baseSeconds * 2 ** exponent);
  const jittered = capped / 2 + random() * (capped / 2);
  // Never earlier than a retry-after hint asks, so that one rounds up.
  const wanted = Math.max(Math.round(jittered), Math.ceil(retryAfterSeconds ?? 0));
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, wanted));
}
