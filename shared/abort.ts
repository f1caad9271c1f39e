/**
 * A signal that aborts when `parent` does or `ms` have passed, whichever comes first, and a `clear()` to
 * call when the work is over.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: a combined signal holds its sources weakly and
 * Node's timeout signal is held by nothing else, so a garbage collection before the time is up can take the
 * timeout away (nodejs/node#57736; reproduced here on Node 20: with a `gc()` 50 ms in, a 300 ms timeout
 * never fired). The call would then wait for `parent` alone. Here the timer holds the controller.
 */
export function withTimeout(parent: AbortSignal, ms: number): { signal: AbortSignal; clear: () => void } {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  return { signal: AbortSignal.any([parent, timeout.signal]), clear: () => clearTimeout(timer) };
}
