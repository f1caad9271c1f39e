/**
 * A local HTTP target for webhook jobs: counts calls per Idempotency-Key, notes when each call started and
 * ended (by `clock`, default performance.now() of this process; a call its caller abandoned ends when its
 * connection closed), keeps a log of every call (key, path, wall-clock start, status), and answers as told.
 *
 * Paths under `/reject-once/` are answered by the receiver itself: 422 to the first call of a path, 200 to
 * every later call of it (a target that was broken once and then fixed), whatever `respond` says.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** One call as the receiver saw it. */
export interface ReceivedCall {
  key: string;
  path: string;
  /** When the call arrived, in epoch milliseconds (Date.now()), comparable with the job records' times. */
  at: number;
  status: number;
}

export const REJECT_ONCE_PREFIX = '/reject-once/';

export interface WebhookReceiver {
  url: string;
  calls: Map<string, number>;
  /** Each call's [start, end] in milliseconds, per key. */
  intervals: Map<string, [number, number][]>;
  /** Every call, in the order they were answered. */
  log: ReceivedCall[];
  /** Decides the status of each call (default 200); not asked for `/reject-once/` paths. */
  respond: (request: IncomingMessage, key: string) => number | Promise<number>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: { clock?: () => number } = {}): Promise<WebhookReceiver> {
  const clock = options.clock ?? (() => performance.now());
  const rejectedOnce = new Set<string>();
  const receiver: WebhookReceiver = {
    url: '',
    calls: new Map(),
    intervals: new Map(),
    log: [],
    respond: () => 200,
    close: async () => {},
  };
  const server: Server = createServer((request, response) => {
    const key = String(request.headers['idempotency-key'] ?? '');
    const path = (request.url ?? '/').split('?')[0]!;
    const started = clock();
    const at = Date.now();
    // Decided on arrival, so that of two calls of one path the first to arrive is the one refused.
    let fixed: number | undefined;
    if (path.startsWith(REJECT_ONCE_PREFIX)) {
      fixed = rejectedOnce.has(path) ? 200 : 422;
      rejectedOnce.add(path);
    }
    // A call its caller gave up on (a worker's deadline aborted it, or the worker died) ends when the
    // connection closes, not when `respond` is done with it.
    let closedAt: number | undefined;
    response.on('close', () => (closedAt ??= clock()));
    request.resume();
    request.on('end', () => {
      // void: 'end' listeners are not awaited. A respond() that throws is a bug in the test: its rejection stays
      // unhandled, so vitest reports it and fails the run.
      void (async () => {
        receiver.calls.set(key, (receiver.calls.get(key) ?? 0) + 1);
        const status = fixed ?? (await receiver.respond(request, key));
        response.statusCode = status;
        receiver.intervals.set(key, [...(receiver.intervals.get(key) ?? []), [started, closedAt ?? clock()]]);
        receiver.log.push({ key, path, at, status });
        response.end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
