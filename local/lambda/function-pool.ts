/**
 * Runs one function like Lambda does: each execution environment is a child process that loads the
 * function's bundled code once (a cold start) and then serves one invocation at a time (warm). At most
 * `maxEnvironments` run at once; further invocations wait for a free one. An invocation that outlives
 * the function's timeout has its environment killed, as Lambda does ("Task timed out"), and a crashed
 * environment fails its invocation.
 *
 * As in Lambda (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):
 * - an idle environment is frozen (SIGSTOP) between invocations and thawed (SIGCONT) for the next one, so
 *   timers and background work do not run while no invocation does;
 * - its JavaScript heap is capped from MemorySize (--max-old-space-size), and an environment that runs out
 *   of memory fails its invocation as Lambda's does: "Runtime exited with error: signal: killed";
 * - request and response payloads are limited to 6 MB (synchronous invocation,
 *   https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
 * - the process sees Lambda's environment variables (lambdaEnvironment below), not the host's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MAX_INVOKE_PAYLOAD_BYTES } from './sqs-event';

const BOOTSTRAP = fileURLToPath(new URL('./bootstrap.mjs', import.meta.url));

/** Lambda's PATH (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime). */
export const LAMBDA_PATH = '/usr/local/bin:/usr/bin/:/bin:/opt/bin';
/** The share of MemorySize given to the JavaScript heap (--max-old-space-size); the rest is the process's own. */
const HEAP_SHARE = 0.9;
/**
 * How long an environment keeps running after it answered before it is frozen: Lambda's runtime posts the
 * response and asks for the next event, milliseconds in which the event loop still turns, before Lambda
 * freezes the environment.
 */
const FREEZE_AFTER_MS = 10;
/** Freezing needs POSIX job-control signals. */
const CAN_FREEZE = process.platform !== 'win32';

export interface FunctionSpec {
  name: string;
  file: string;
  exportName: string;
  codeDir: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
}

/**
 * An invocation's outcome. `too-large`: Lambda refused the request payload (over 6 MB) before running
 * anything (RequestTooLargeException, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
 */
export type InvokeResult =
  | { ok: true; result: unknown; durationMs: number }
  | { ok: false; kind: 'error' | 'timeout' | 'crash' | 'init' | 'too-large'; errorType: string; errorMessage: string; durationMs: number };

interface Environment {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
  /** Stopped with SIGSTOP while idle. */
  frozen: boolean;
  freezeTimer?: NodeJS.Timeout;
  /** V8 reported that the heap reached its limit. */
  outOfMemory: boolean;
  /** Resolves when the process has exited and its output has been read. */
  closed: Promise<void>;
}

export interface FunctionPoolOptions {
  maxEnvironments: number;
  onLog?: (functionName: string, line: string) => void;
  /** Node options of each environment's process (e.g. --inspect=127.0.0.1:9229); none by default. */
  execArgv?: string[];
  /** Called as each invocation ends (a timeout: before its environment is killed), with the request id the function saw. */
  onInvocationEnd?: (end: InvocationEnd) => void;
  /**
   * Freeze idle environments (SIGSTOP) as Lambda does (default true; never on Windows, nor for an environment
   * started with --inspect, which a debugger must be able to reach).
   */
  freezeWhenIdle?: boolean;
}

export interface InvocationEnd {
  requestId: string;
  /** The environment's process. */
  pid: number | undefined;
  result: InvokeResult;
}

/** The environments of every pool, killed if this process exits without stopping them (a frozen one cannot notice). */
const LIVE = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  LIVE.add(child);
  child.once('exit', () => LIVE.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of LIVE) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** The --max-old-space-size of an environment, in MB, for a MemorySize. */
export function heapLimitMb(memoryMb: number): number {
  return Math.max(16, Math.floor(memoryMb * HEAP_SHARE));
}

/**
 * The environment an execution environment's process gets, as Lambda builds it: the function's own variables
 * (the template's, resolved), Lambda's unreserved defaults (PATH, LANG, TZ) unless the function sets them, and
 * the reserved variables, which a function cannot set
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 * Nothing of the host's environment: PATH is Lambda's, preceded by the directory of this Node.js (as
 * /var/lang/bin is in Lambda's Node.js runtimes). LAMBDA_TASK_ROOT is the function's asset directory in cdk.out
 * (AWS: /var/task), LAMBDA_RUNTIME_DIR this bootstrap's directory (AWS: /var/runtime).
 */
export function lambdaEnvironment(spec: FunctionSpec, logStreamName: string): Record<string, string> {
  const env = spec.environment;
  const handlerModule = path
    .relative(spec.codeDir, spec.file)
    .replaceAll(path.sep, '/')
    .replace(/\.(mjs|cjs|js)$/, '');
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return {
    PATH: process.platform === 'win32' ? (process.env.PATH ?? '') : `${path.dirname(process.execPath)}:${LAMBDA_PATH}`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    ...env,
    _HANDLER: `${handlerModule}.${spec.exportName}`,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: env.AWS_DEFAULT_REGION ?? region,
    AWS_EXECUTION_ENV: env.AWS_EXECUTION_ENV ?? `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`,
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
    LAMBDA_TASK_ROOT: path.resolve(spec.codeDir),
    LAMBDA_RUNTIME_DIR: path.dirname(BOOTSTRAP),
  };
}

/** A log stream name as Lambda makes them: 2026/11/28/[$LATEST]<32 hex digits>. */
function logStreamName(now = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}/${two(now.getUTCMonth() + 1)}/${two(now.getUTCDate())}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

const payloadBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null) ?? 'null');

export class FunctionPool {
  private readonly environments = new Set<Environment>();
  private readonly waiting: (() => void)[] = [];
  private stopped = false;
  readonly stats = { coldStarts: 0, invocations: 0, errors: 0, timeouts: 0, crashes: 0, outOfMemory: 0 };

  constructor(
    readonly spec: FunctionSpec,
    private readonly options: FunctionPoolOptions,
  ) {}

  async invoke(event: unknown): Promise<InvokeResult> {
    const requestBytes = payloadBytes(event);
    if (requestBytes > MAX_INVOKE_PAYLOAD_BYTES) {
      // Lambda refuses it before any environment is involved.
      return {
        ok: false,
        kind: 'too-large',
        errorType: 'RequestTooLargeException',
        errorMessage: `Request must be smaller than ${MAX_INVOKE_PAYLOAD_BYTES} bytes for the InvokeFunction operation (it is ${requestBytes} bytes)`,
        durationMs: 0,
      };
    }
    const env = await this.acquire();
    const started = Date.now();
    this.stats.invocations++;
    try {
      await env.ready;
    } catch (error) {
      this.discard(env);
      this.stats.errors++;
      return { ok: false, kind: 'init', errorType: 'Runtime.InitError', errorMessage: String(error instanceof Error ? error.message : error), durationMs: Date.now() - started };
    }
    // The timeout counts from here, as Lambda's does: a cold start's init is not part of the invocation's
    // time (it has a limit of its own), so the handler's deadline must not shrink by it either.
    const outcome = await this.run(env, event, Date.now());
    if (outcome.ok || outcome.kind === 'error') this.release(env);
    else this.discard(env);
    return outcome;
  }

  private run(env: Environment, event: unknown, started: number): Promise<InvokeResult> {
    const id = randomUUID();
    const requestId = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise((resolve) => {
      const done = (result: InvokeResult) => {
        clearTimeout(timer);
        env.child.off('message', onMessage);
        env.child.off('exit', onExit);
        this.options.onInvocationEnd?.({ requestId, pid: env.child.pid, result });
        resolve(result);
      };
      const onMessage = (m: { type: string; id?: string; result?: unknown; error?: { errorType: string; errorMessage: string } }) => {
        if (m.id !== id) return;
        const responseBytes = m.type === 'result' ? payloadBytes(m.result) : 0;
        if (responseBytes > MAX_INVOKE_PAYLOAD_BYTES) {
          // Lambda cannot return it: the invocation fails with a function error.
          this.stats.errors++;
          done({
            ok: false,
            kind: 'error',
            errorType: 'Function.ResponseSizeTooLarge',
            errorMessage: `Response payload size (${responseBytes} bytes) exceeded maximum allowed payload size (${MAX_INVOKE_PAYLOAD_BYTES} bytes).`,
            durationMs: Date.now() - started,
          });
        } else if (m.type === 'result') done({ ok: true, result: m.result, durationMs: Date.now() - started });
        else {
          this.stats.errors++;
          done({ ok: false, kind: 'error', errorType: m.error?.errorType ?? 'Error', errorMessage: m.error?.errorMessage ?? '', durationMs: Date.now() - started });
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.stats.crashes++;
        clearTimeout(timer);
        // V8 aborts a process whose heap reached its limit; its last words are on stderr, read once `closed`
        // (not waited for long: a process of its own may have inherited the pipes and keep them open).
        void Promise.race([env.closed, new Promise((resolve) => setTimeout(resolve, 1000))]).then(() => {
          if (env.outOfMemory) {
            this.stats.outOfMemory++;
            this.options.onLog?.(this.spec.name, `Runtime.OutOfMemory: the environment exceeded its memory (MemorySize ${this.spec.memoryMb} MB) and was killed`);
          }
          done({
            ok: false,
            kind: 'crash',
            errorType: 'Runtime.ExitError',
            errorMessage: env.outOfMemory
              ? `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`
              : `Runtime exited ${signal ? `with signal ${signal}` : `with code ${code}`}`,
            durationMs: Date.now() - started,
          });
        });
      };
      const timer = setTimeout(() => {
        this.stats.timeouts++;
        env.child.off('exit', onExit);
        done({
          ok: false,
          kind: 'timeout',
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          durationMs: Date.now() - started,
        });
        env.child.kill('SIGKILL');
      }, timeoutMs);
      env.child.on('message', onMessage);
      env.child.once('exit', onExit);
      this.thaw(env);
      env.child.send({ type: 'invoke', id, event, deadline: started + timeoutMs, requestId });
    });
  }

  private async acquire(): Promise<Environment> {
    for (;;) {
      if (this.stopped) throw new Error(`function ${this.spec.name} is stopped`);
      for (const env of this.environments) {
        if (!env.busy && env.child.exitCode === null && env.child.signalCode === null) {
          env.busy = true;
          clearTimeout(env.freezeTimer);
          return env;
        }
      }
      if (this.environments.size < this.options.maxEnvironments) {
        const env = this.spawn();
        env.busy = true;
        return env;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(env: Environment): void {
    env.busy = false;
    if (this.options.freezeWhenIdle !== false && CAN_FREEZE && !env.child.spawnargs.some((a) => a.startsWith('--inspect'))) {
      env.freezeTimer = setTimeout(() => this.freeze(env), FREEZE_AFTER_MS);
    }
    this.waiting.shift()?.();
  }

  /** Lambda freezes an environment between invocations: nothing in it runs until the next one. */
  private freeze(env: Environment): void {
    if (env.busy || env.frozen || env.child.exitCode !== null || env.child.signalCode !== null) return;
    if (env.child.kill('SIGSTOP')) env.frozen = true;
  }

  /** Thaws a frozen environment for its next invocation (SIGKILL needs no thaw: it ends a stopped process too). */
  private thaw(env: Environment): void {
    clearTimeout(env.freezeTimer);
    if (!env.frozen) return;
    env.frozen = false;
    env.child.kill('SIGCONT');
  }

  private discard(env: Environment): void {
    this.environments.delete(env);
    if (env.child.exitCode === null && env.child.signalCode === null) env.child.kill('SIGKILL');
    this.waiting.shift()?.();
  }

  private spawn(): Environment {
    this.stats.coldStarts++;
    const child = fork(BOOTSTRAP, [], {
      cwd: this.spec.codeDir,
      env: { ...lambdaEnvironment(this.spec, logStreamName()), JOBLINE_HANDLER_FILE: this.spec.file, JOBLINE_HANDLER_EXPORT: this.spec.exportName },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Lambda's memory limit, for the JavaScript heap (past it V8 aborts the process); the options' own come after it.
      execArgv: [`--max-old-space-size=${heapLimitMb(this.spec.memoryMb)}`, ...(this.options.execArgv ?? [])],
    });
    track(child);
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.options.onLog?.(this.spec.name, line));
    }
    // The end of the previous chunk too: the words may straddle two chunks.
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = stderrTail + chunk.toString('utf8');
      if (/JavaScript heap out of memory|Reached heap limit/.test(text)) env.outOfMemory = true;
      stderrTail = text.slice(-64);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; error?: { errorMessage: string } }) => {
        if (m.type === 'ready') {
          child.off('message', onMessage);
          resolve();
        } else if (m.type === 'init-error') {
          child.off('message', onMessage);
          reject(new Error(m.error?.errorMessage ?? 'init failed'));
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code, signal) => reject(new Error(`environment exited during init (${signal ?? code})`)));
    });
    ready.catch(() => {});
    const env: Environment = { child, ready, busy: false, frozen: false, outOfMemory: false, closed };
    this.environments.add(env);
    child.once('exit', () => {
      if (this.environments.delete(env)) this.waiting.shift()?.();
    });
    return env;
  }

  /** Kills every environment; invocations in flight fail as crashed. */
  async stop(): Promise<void> {
    this.stopped = true;
    const exits = [...this.environments].map(
      (env) =>
        new Promise<void>((resolve) => {
          if (env.child.exitCode !== null || env.child.signalCode !== null) return resolve();
          env.child.once('exit', () => resolve());
          env.child.kill('SIGKILL');
        }),
    );
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(exits);
  }

  /** Pids of the live environments (tests check that none is left behind). */
  pids(): number[] {
    return [...this.environments].map((e) => e.child.pid).filter((p): p is number => p !== undefined);
  }
}
