/**
 * `jobline dev --persist [dir]`: the embedded emulators keep their state in a directory, so that jobs,
 * tables and queued messages survive a restart. DynamoDB Local keeps its own database there (`-dbPath`);
 * the SQS emulator is in memory, so its queues and messages are written to `<dir>/sqs.json` (on stop, and
 * every few seconds while it runs: a crash loses at most the last seconds) and read back at start
 * (local/emulators/sqs.ts). A lock file keeps two runs from sharing one directory.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Where `--persist` without a directory keeps the state, relative to the project. */
export const DEFAULT_PERSIST_DIR = path.join('.jobline', 'data');
/** The SQS emulator's queues and messages, in the persistence directory. */
export const SQS_STATE_FILE = 'sqs.json';
/** The file DynamoDB Local keeps its tables in with -sharedDb and -dbPath. */
export const DYNAMODB_STATE_FILE = 'shared-local-instance.db';
const LOCK_FILE = 'jobline.lock';

/** One message as the emulator holds it, with what it needs to be put back. */
export interface SqsMessageSnapshot {
  /** The emulator's record: MessageId, MessageBody, MD5s, attributes (receive count, timestamps, group...), MessageAttributes. */
  record: { MessageId: string; MessageBody: string; attributes: Record<string, string>; [key: string]: unknown };
  /** Received and not yet deleted: visible again after a restart, as after its visibility timeout. */
  inFlight: boolean;
  /** Epoch milliseconds when a message sent with a delay becomes visible (absent: not delayed). */
  delayedUntil?: number;
}

export interface SqsQueueSnapshot {
  name: string;
  /** As CreateQueue takes them (strings). */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** FIFO: each message group's sequence number state, so that numbers keep growing. */
  sequences?: Record<string, { seqId: string; count: number }>;
  messages: SqsMessageSnapshot[];
}

export interface SqsSnapshot {
  version: 1;
  savedAt: string;
  queues: SqsQueueSnapshot[];
}

/** The snapshot in `file`, or undefined when there is none; a file that is not one is an error that says what to do. */
export function readSqsSnapshot(file: string): SqsSnapshot | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}): move it away or delete it to start the SQS emulator empty`, { cause: error });
  }
  const snapshot = parsed as Partial<SqsSnapshot> | null;
  const valid =
    typeof snapshot === 'object' &&
    snapshot !== null &&
    snapshot.version === 1 &&
    Array.isArray(snapshot.queues) &&
    snapshot.queues.every(
      (q) =>
        typeof q?.name === 'string' &&
        typeof q.attributes === 'object' &&
        Array.isArray(q.messages) &&
        q.messages.every((m) => typeof m?.record?.MessageId === 'string' && typeof m.record.attributes === 'object'),
    );
  if (!valid) throw new Error(`${file} is not a jobline SQS snapshot (version 1): move it away or delete it to start the SQS emulator empty`);
  return snapshot as SqsSnapshot;
}

/** Writes the snapshot atomically (a temporary file renamed over the old one), synchronously: it also runs as the process exits. */
export function writeSqsSnapshot(file: string, json: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, json);
  renameSync(temporary, file);
}

/**
 * The queues in an order CreateQueue accepts them: each dead-letter queue before the queues that name it.
 * A redrive policy whose dead-letter queue is not in the snapshot (or that is part of a cycle) is dropped,
 * so that one such queue cannot keep every other from being restored.
 */
export function restoreOrder(queues: readonly SqsQueueSnapshot[]): SqsQueueSnapshot[] {
  const names = new Set(queues.map((q) => q.name));
  const targetOf = (q: SqsQueueSnapshot): string | undefined => {
    const policy = q.attributes.RedrivePolicy;
    if (!policy) return undefined;
    try {
      const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
      return arn?.split(':').at(-1);
    } catch {
      return undefined;
    }
  };
  const withoutRedrive = (q: SqsQueueSnapshot): SqsQueueSnapshot => {
    const { RedrivePolicy: _dropped, ...attributes } = q.attributes;
    return { ...q, attributes };
  };
  const ordered: SqsQueueSnapshot[] = [];
  const placed = new Set<string>();
  let pending = queues.map((q) => {
    const target = targetOf(q);
    return q.attributes.RedrivePolicy && (target === undefined || target === q.name || !names.has(target)) ? withoutRedrive(q) : q;
  });
  while (pending.length > 0) {
    const ready = pending.filter((q) => {
      const target = targetOf(q);
      return target === undefined || placed.has(target);
    });
    // What is left names itself in a cycle: those go without their redrive policy.
    const next = ready.length > 0 ? ready : [withoutRedrive(pending[0]!)];
    for (const q of next) {
      ordered.push(q);
      placed.add(q.name);
    }
    const done = new Set(next.map((q) => q.name));
    pending = pending.filter((q) => !done.has(q.name));
  }
  return ordered;
}

/** The lock files this process holds (a second runtime in one process is refused too). */
const held = new Set<string>();

const inUse = (dir: string, pid: number) =>
  new Error(`the persistence directory ${dir} is in use by another jobline dev (pid ${pid}): stop that one, or give this one another directory (--persist <dir>)`);

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the directory for this process (a lock file with its pid): two runs on one directory would
 * corrupt DynamoDB Local's database and overwrite each other's sqs.json. A lock left by a process that
 * no longer runs is taken over. Returns the release.
 */
export function lockPersistDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  if (held.has(file)) throw inUse(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held.add(file);
      const release = () => {
        process.removeListener('exit', release);
        held.delete(file);
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
          // Already gone.
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) throw inUse(dir, pid);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock the persistence directory ${dir} (${file})`);
}
