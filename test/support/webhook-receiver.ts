/**
 * A local HTTP target for webhook jobs: counts calls per Idempotency-Key, notes when each call started and
 * ended (performance.now() of this process), and answers as told.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface WebhookReceiver {
  url: string;
  calls: Map<string, number>;
  /** Each call's [start, end] in milliseconds, per key. */
  intervals: Map<string, [number, number][]>;
  /** Decides the status of each call (default 200). */
  respond: (request: IncomingMessage, key: string) => number | Promise<number>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    calls: new Map(),
    intervals: new Map(),
    respond: () => 200,
    close: async () => {},
  };
  const server: Server = createServer((request, response) => {
    const key = String(request.headers['idempotency-key'] ?? '');
    const started = performance.now();
    request.resume();
    request.on('end', async () => {
      receiver.calls.set(key, (receiver.calls.get(key) ?? 0) + 1);
      response.statusCode = await receiver.respond(request, key);
      receiver.intervals.set(key, [...(receiver.intervals.get(key) ?? []), [started, performance.now()]]);
      response.end();
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
