/**
 * Runs one function like Lambda does: each execution environment is a child process that loads the
 * function's bundled code once (a cold start) and then serves one invocation at a time (warm). At most
 * `maxEnvironments` run at once; further invocations wait for a free one. An invocation that outlives
 * the function's timeout has its environment killed, as Lambda does ("Task timed out"), and a crashed
 * environment fails its invocation.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BOOTSTRAP = fileURLToPath(new URL('./bootstrap.mjs', import.meta.url));

export interface FunctionSpec {
  name: string;
  file: string;
  exportName: string;
  codeDir: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
}

export type InvokeResult =
  { ok: true; result: unknown; durationMs: number } | { ok: false; kind: 'error' | 'timeout' | 'crash' | 'init'; errorType: string; errorMessage: string; durationMs: number };

interface Environment {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
}

export interface FunctionPoolOptions {
  maxEnvironments: number;
  onLog?: (functionName: string, line: string) => void;
}

export class FunctionPool {
  private readonly environments = new Set<Environment>();
  private readonly waiting: (() => void)[] = [];
  private stopped = false;
  readonly stats = { coldStarts: 0, invocations: 0, errors: 0, timeouts: 0, crashes: 0 };

  constructor(
    readonly spec: FunctionSpec,
    private readonly options: FunctionPoolOptions,
  ) {}

  async invoke(event: unknown): Promise<InvokeResult> {
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
    const outcome = await this.run(env, event, started);
    if (outcome.ok || outcome.kind === 'error') this.release(env);
    else this.discard(env);
    return outcome;
  }

  private run(env: Environment, event: unknown, started: number): Promise<InvokeResult> {
    const id = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise((resolve) => {
      const done = (result: InvokeResult) => {
        clearTimeout(timer);
        env.child.off('message', onMessage);
        env.child.off('exit', onExit);
        resolve(result);
      };
      const onMessage = (m: { type: string; id?: string; result?: unknown; error?: { errorType: string; errorMessage: string } }) => {
        if (m.id !== id) return;
        if (m.type === 'result') done({ ok: true, result: m.result, durationMs: Date.now() - started });
        else {
          this.stats.errors++;
          done({ ok: false, kind: 'error', errorType: m.error?.errorType ?? 'Error', errorMessage: m.error?.errorMessage ?? '', durationMs: Date.now() - started });
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.stats.crashes++;
        done({
          ok: false,
          kind: 'crash',
          errorType: 'Runtime.ExitError',
          errorMessage: `Runtime exited ${signal ? `with signal ${signal}` : `with code ${code}`}`,
          durationMs: Date.now() - started,
        });
      };
      const timer = setTimeout(() => {
        this.stats.timeouts++;
        env.child.off('exit', onExit);
        env.child.kill('SIGKILL');
        done({
          ok: false,
          kind: 'timeout',
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          durationMs: Date.now() - started,
        });
      }, timeoutMs);
      env.child.on('message', onMessage);
      env.child.once('exit', onExit);
      env.child.send({ type: 'invoke', id, event, deadline: started + timeoutMs, requestId: randomUUID() });
    });
  }

  private async acquire(): Promise<Environment> {
    for (;;) {
      if (this.stopped) throw new Error(`function ${this.spec.name} is stopped`);
      for (const env of this.environments) {
        if (!env.busy && env.child.exitCode === null && env.child.signalCode === null) {
          env.busy = true;
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
    this.waiting.shift()?.();
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
      env: { ...this.spec.environment, JOBLINE_HANDLER_FILE: this.spec.file, JOBLINE_HANDLER_EXPORT: this.spec.exportName },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.options.onLog?.(this.spec.name, line));
    }
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
    const env: Environment = { child, ready, busy: false };
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
