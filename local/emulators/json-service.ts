/**
 * A small server for AWS's JSON 1.1 protocol (POST /, `X-Amz-Target: <prefix>.<Operation>`, a JSON body;
 * errors as `{"__type": "...", "message": "..."}` with a 4xx), on 127.0.0.1: what the embedded EventBridge
 * and Secrets Manager emulators speak. Signatures are not checked (any credentials).
 */
import { createServer, type Server } from 'node:http';
import type { RunningEmulator } from './dynamodb-local';

export class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type Operations = Record<string, (input: Record<string, unknown>) => unknown>;

export async function startJsonService(name: string, targetPrefix: string, operations: Operations, port = 0): Promise<RunningEmulator> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': crypto.randomUUID() });
        response.end(text);
      };
      void (async () => {
        try {
          const target = String(request.headers['x-amz-target'] ?? '');
          const operation = target.startsWith(`${targetPrefix}.`) ? operations[target.slice(targetPrefix.length + 1)] : undefined;
          if (request.method !== 'POST' || !operation) throw new ServiceError('UnknownOperationException', `${name} emulator: ${target || 'no X-Amz-Target'} is not supported`);
          const text = Buffer.concat(chunks).toString('utf8');
          const input = (text.trim() === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
          answer(200, (await operation(input)) ?? {});
        } catch (error) {
          if (error instanceof ServiceError) answer(error.status, { __type: error.type, message: error.message });
          else answer(500, { __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) });
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  return {
    endpoint,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
