/** The webhook target of the leased job: a local HTTP server that counts calls per Idempotency-Key. */
import { createServer } from 'node:http';

export interface Receiver {
  url: string;
  /** Calls per Idempotency-Key since the last `take()`. */
  take(): Map<string, number>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let calls = new Map<string, number>();
  const server = createServer((request, response) => {
    const key = String(request.headers['idempotency-key'] ?? '');
    request.resume();
    request.on('end', () => {
      calls.set(key, (calls.get(key) ?? 0) + 1);
      response.statusCode = 200;
      response.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    take: () => {
      const taken = calls;
      calls = new Map();
      return taken;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
