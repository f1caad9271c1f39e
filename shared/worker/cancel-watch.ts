/**
 * While a leased handler runs, its job's caller may ask it to stop (POST /jobs/{id}/cancel sets the
 * record's `cancelRequested`). The watcher reads that flag now and then and aborts the handler's signal
 * when it is set; the handler decides what stopping means (it throws before its effect: CANCELLED; it
 * returns: its effect happened, SUCCEEDED). Handlers shorter than one interval cost no read.
 */
import { CancelledError } from '../errors';

/** How often a running leased job's record is read for a cancel request (a consistent read of one attribute). */
export const CANCEL_CHECK_MS = 1000;

export interface CancelWatch {
  signal: AbortSignal;
  /** True once a cancel request was seen. */
  readonly requested: boolean;
  stop(): void;
}

export function watchCancel(read: () => Promise<boolean>, intervalMs = CANCEL_CHECK_MS): CancelWatch {
  const controller = new AbortController();
  let requested = false;
  let reading = false;
  const timer = setInterval(() => {
    if (reading || requested) return;
    reading = true;
    read()
      .then((yes) => {
        if (!yes) return;
        requested = true;
        controller.abort(new CancelledError('the job was cancelled by its caller'));
      })
      .catch(() => undefined) // a failed read is tried again at the next tick
      .finally(() => (reading = false));
  }, intervalMs);
  return {
    signal: controller.signal,
    get requested() {
      return requested;
    },
    stop: () => clearInterval(timer),
  };
}
