/**
 * A loopback HTTP receiver for completion callbacks and webhook jobs: keeps every request (path, headers,
 * raw body) and answers by path: `statusFor(path, nth)` decides (nth = 1 for the first call of a path);
 * the default is 200.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface CallbackReceiver {
  url: string;
  requests: ReceivedRequest[];
  on(path: string): ReceivedRequest[];
  statusFor: (path: string, nth: number) => number;
  close(): Promise<void>;
}

export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const counts = new Map<string, number>();
  const receiver: CallbackReceiver = {
    url: '',
    requests: [],
    on: (path) => receiver.requests.filter((r) => r.path === path),
    statusFor: () => 200,
    close: async () => {},
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const path = (request.url ?? '/').split('?')[0]!;
      const nth = (counts.get(path) ?? 0) + 1;
      counts.set(path, nth);
      const status = receiver.statusFor(path, nth);
      receiver.requests.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), status, at: Date.now() });
      response.statusCode = status;
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
