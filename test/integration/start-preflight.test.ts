// `npm start` as a developer meets it in the first minutes: --help, a mistyped option, a port that is taken,
// no Java. Each ends before anything starts (no synthesis, no emulator), with one line of cause, one line of
// fix and its exit code.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

const JAVA_FIX = 'install Java 17+, e.g. apt-get install -y openjdk-17-jre-headless (or point JAVA_HOME at one)';

/** Where function logs would go, were anything to start: not the repository's .jobline/logs. */
const logDir = mkdtempSync(path.join(tmpdir(), 'jobline-preflight-logs-'));

/** The environment of a developer's shell: no endpoint, so the embedded emulators (and Java) are wanted. */
function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, JOBLINE_LOG_DIR: logDir, ...extra };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'PORT']) delete env[name];
  return env;
}

/** Runs the start script to its end (a deadline kills it: these must end on their own, quickly). */
function start(args: string[], options: { env?: NodeJS.ProcessEnv; command?: string[] } = {}): Promise<Ended> {
  const [command, ...commandArgs] = options.command ?? ['npx', 'tsx', 'cli/bin.ts', 'dev'];
  const child = spawn(command!, [...commandArgs, ...args], { cwd: PACKAGE_ROOT, env: options.env ?? shellEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim().length > 0);
/** Nothing started: neither the synthesis nor the stack. */
const startedNothing = (ended: Ended) =>
  expect(`${ended.stdout}${ended.stderr}`).not.toMatch(/jobline: starting the local stack|^ {2}synthesized: |reusing cdk\.out|Bundling asset|\(DynamoDB Local, embedded\)/m);

const servers: Server[] = [];
const temporary: string[] = [logDir];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** A port another process listens on (host undefined: every address, as DynamoDB Local would). */
function occupy(host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    servers.push(server);
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as { port: number }).port));
  });
}

/** A directory for PATH holding only a `node` symlink (so no java, no sh). */
function pathWithOnlyNode(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-path-'));
  temporary.push(dir);
  symlinkSync(process.execPath, path.join(dir, 'node'));
  return dir;
}

// tsx's own launcher (#!/usr/bin/env node) runs with that PATH; npx would need sh.
const TSX = [path.join(PACKAGE_ROOT, 'node_modules', '.bin', 'tsx'), 'cli/bin.ts', 'dev'];

describe('npm start before anything starts', () => {
  it('--help prints the usage of every option and exits 0', async () => {
    const ended = await start(['--help']);
    expect(ended.code).toBe(0);
    expect(ended.stdout).toMatch(/^usage: npm start -- \[options\]/);
    for (const option of ['--port N', '--dynamodb-port N', '--sqs-port N', '--endpoint URL', '--synth', '--stack NAME', '--help']) expect(ended.stdout).toContain(option);
    expect(ended.stderr).toBe('');
    startedNothing(ended);
  });

  it('an unknown option says so and where the options are, and exits 2', async () => {
    const ended = await start(['--prot', '3000']);
    expect(ended.code).toBe(2);
    expect(lines(ended.stderr)).toEqual(['jobline: unknown option --prot', '  see npm start -- --help']);
    expect(ended.stderr).not.toContain('ERR_PARSE_ARGS');
    startedNothing(ended);
  });

  it('a port in use: which port, and a free one to use instead; exit 1', async () => {
    const [api, sqs] = await Promise.all([occupy('127.0.0.1'), occupy('127.0.0.1')]);
    const ended = await start(['--port', String(api), '--dynamodb-port', '0', '--sqs-port', String(sqs)]);
    expect(ended.code).toBe(1);
    const out = lines(ended.stderr);
    const apiAt = out.indexOf(`jobline: port ${api} (the HTTP API) is already in use`);
    expect(apiAt).toBeGreaterThanOrEqual(0);
    const apiFix = /^ {2}fix: npm start -- --port (\d+) \(or PORT=(\d+) npm start\)$/.exec(out[apiAt + 1] ?? '');
    expect(apiFix, out[apiAt + 1]).not.toBeNull();
    expect(apiFix![1]).toBe(apiFix![2]);
    expect(Number(apiFix![1])).not.toBe(api);
    const sqsAt = out.indexOf(`jobline: port ${sqs} (the SQS emulator) is already in use`);
    expect(sqsAt).toBeGreaterThanOrEqual(0);
    expect(out[sqsAt + 1]).toMatch(/^ {2}fix: npm start -- --sqs-port \d+$/);
    expect(ended.stderr).not.toMatch(/\n\s+at /); // no stack trace
    startedNothing(ended);
  });

  it('a DynamoDB Local port in use on any address is found too', async () => {
    const dynamodb = await occupy();
    const ended = await start(['--port', '0', '--dynamodb-port', String(dynamodb), '--sqs-port', '0']);
    expect(ended.code).toBe(1);
    const out = lines(ended.stderr);
    const at = out.indexOf(`jobline: port ${dynamodb} (DynamoDB Local) is already in use`);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(out[at + 1]).toMatch(/^ {2}fix: npm start -- --dynamodb-port \d+$/);
    startedNothing(ended);
  });

  it('no java on PATH (and no JAVA_HOME): the cause and the install line, exit 1', async () => {
    const env = shellEnv({ PATH: pathWithOnlyNode() });
    delete env.JAVA_HOME;
    const ended = await start(['--port', '0', '--dynamodb-port', '0', '--sqs-port', '0'], { env, command: TSX });
    expect(ended.code).toBe(1);
    expect(lines(ended.stderr)).toEqual(['jobline: DynamoDB Local needs Java 17+, but there is no java on PATH', `  fix: ${JAVA_FIX}`]);
    startedNothing(ended);
  });

  it('an old Java in JAVA_HOME is found by its version', async () => {
    const javaHome = mkdtempSync(path.join(tmpdir(), 'jobline-java-'));
    temporary.push(javaHome);
    mkdirSync(path.join(javaHome, 'bin'));
    const java = path.join(javaHome, 'bin', 'java');
    writeFileSync(java, `#!${process.execPath}\nprocess.stderr.write('openjdk version "11.0.22" 2024-01-16\\nOpenJDK Runtime Environment\\n');\n`);
    chmodSync(java, 0o755);
    const ended = await start(['--port', '0', '--dynamodb-port', '0', '--sqs-port', '0'], { env: shellEnv({ JAVA_HOME: javaHome }) });
    expect(ended.code).toBe(1);
    expect(lines(ended.stderr)).toEqual([`jobline: DynamoDB Local needs Java 17+, but ${java} is Java 11`, `  fix: ${JAVA_FIX}`]);
    startedNothing(ended);
  });
});
