/**
 * The chaos run's webhook targets, each in a process of its own. The lease and limit invariants compare
 * when calls started and ended; stamped on the harness's event loop (which stalls for seconds under the
 * run's load), a call that arrived on time could be recorded late and look as if it ran under another
 * worker's live lease. A child process does nothing but answer, so its stamps are when the calls came.
 *
 * `startChaosReceiver(behaviour, seed)` forks this module; run as the child, it serves one receiver (the
 * main one draws its slow and failing answers from `seed`) and answers the parent's `collect` with
 * everything it saw.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Prng } from '../support/prng';
import { startWebhookReceiver, type ReceivedCall } from '../support/webhook-receiver';

/** tsx's loader by its path, so that a receiver starts whatever the working directory. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export type Behaviour = 'main' | 'burst';

/** Longer than the 1 s lease, so a duplicate delivery can take a slow job over. */
const SLOW_CALL_MS = 1200;
/** The bursts' slow targets: fast targets are answered at once. */
const SLOW_BURST_CALL_MS = 800;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How each receiver answers a call, by its path. */
function responder(behaviour: Behaviour, seed: number): (request: IncomingMessage) => Promise<number> {
  if (behaviour === 'burst')
    return async (request) => {
      if (request.url?.startsWith('/burst/slow/')) await sleep(SLOW_BURST_CALL_MS);
      return 200;
    };
  const random = new Prng(seed);
  const flakyCalls = new Map<string, number>();
  return async (request) => {
    const url = request.url ?? '';
    if (url.startsWith('/reject')) return 422;
    if (url.startsWith('/unavailable/')) return 503;
    if (url.startsWith('/forged/')) return 200;
    if (url.startsWith('/flaky/')) {
      flakyCalls.set(url, (flakyCalls.get(url) ?? 0) + 1);
      return flakyCalls.get(url)! <= 2 ? 503 : 200;
    }
    if (random.next() < 0.05) await sleep(SLOW_CALL_MS);
    return random.next() < 0.02 ? 503 : 200;
  };
}

/** Everything a receiver saw, as the invariants read it. Times are epoch milliseconds. */
export interface ReceiverRecord {
  calls: Map<string, number>;
  intervals: Map<string, [number, number][]>;
  log: ReceivedCall[];
  /** The receiver's own event loop delay, at most (ms): how late its stamps can be. */
  maxLoopDelayMs: number;
}

export interface ChaosReceiver {
  url: string;
  collect(): Promise<ReceiverRecord>;
  close(): Promise<void>;
}

type FromChild =
  { kind: 'listening'; url: string } | { kind: 'record'; calls: [string, number][]; intervals: [string, [number, number][]][]; log: ReceivedCall[]; maxLoopDelayMs: number };

/** How long the parent waits for a receiver's answer: a live one answers in well under a second. */
const ANSWER_TIMEOUT_MS = 30_000;

export async function startChaosReceiver(behaviour: Behaviour, seed = 0): Promise<ChaosReceiver> {
  // The parent runs under tsx: the child loads this same TypeScript module through it.
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', behaviour, String(seed)], { execArgv: ['--import', TSX_LOADER], stdio: 'inherit' });
  let closing = false;
  // A receiver that dies mid-run would show as failed webhooks, blamed on other invariants: say so.
  child.once('exit', (code, signal) => {
    if (!closing) console.error(`the ${behaviour} webhook receiver exited during the run (${signal ?? code})`);
  });
  // A message to a receiver that is gone is reported here, not thrown at the harness.
  child.on('error', (error) => console.error(`the ${behaviour} webhook receiver: ${error.message}`));
  const gone = () => child.exitCode !== null || child.signalCode !== null || !child.connected;
  /** The child's next message of `kind`; rejected if it is gone, goes, or does not answer in time. */
  const next = <K extends FromChild['kind']>(kind: K, send?: { kind: string }) =>
    new Promise<Extract<FromChild, { kind: K }>>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onMessage);
      };
      const fail = (why: string) => {
        done();
        reject(new Error(`the ${behaviour} webhook receiver ${why} before it sent its ${kind}`));
      };
      const onMessage = (m: FromChild) => {
        if (m.kind !== kind) return;
        done();
        resolve(m as Extract<FromChild, { kind: K }>);
      };
      const onExit = (code: number | null, signal: string | null) => fail(`exited (${signal ?? code})`);
      const timer = setTimeout(() => fail(`did not answer in ${ANSWER_TIMEOUT_MS} ms`), ANSWER_TIMEOUT_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (send) {
        if (gone()) return fail('was gone');
        child.send(send, (error) => error && fail(`could not be asked (${error.message})`));
      }
    });
  const { url } = await next('listening');
  return {
    url,
    async collect() {
      const r = await next('record', { kind: 'collect' });
      return { calls: new Map(r.calls), intervals: new Map(r.intervals), log: r.log, maxLoopDelayMs: r.maxLoopDelayMs };
    },
    async close() {
      closing = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

async function serve(behaviour: Behaviour, seed: number): Promise<void> {
  // Gone with its parent, whatever way the parent ended (and if it ended while this one was starting).
  process.on('disconnect', () => process.exit(0));
  if (!process.connected) process.exit(0);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const receiver = await startWebhookReceiver({ clock: () => performance.timeOrigin + performance.now() });
  const respond = responder(behaviour, seed);
  receiver.respond = (request) => respond(request);
  process.on('message', (m: { kind: string }) => {
    if (m.kind !== 'collect') return;
    const record: FromChild = {
      kind: 'record',
      calls: [...receiver.calls],
      intervals: [...receiver.intervals],
      log: receiver.log,
      maxLoopDelayMs: loopDelay.max / 1e6,
    };
    process.send!(record);
  });
  process.send!({ kind: 'listening', url: receiver.url } satisfies FromChild);
}

if (process.argv[2] === '--child') {
  serve(process.argv[3] as Behaviour, Number(process.argv[4])).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
