// --persist's files: the SQS snapshot (read back, or a clear refusal), the order queues are restored in, and
// the lock that keeps two runs off one directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PERSIST_DIR, lockPersistDir, readSqsSnapshot, restoreOrder, writeSqsSnapshot, type SqsQueueSnapshot } from '../../local/persist';
import { parseStartArgs, usage } from '../../local/preflight';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-persist-'));
  dirs.push(dir);
  return dir;
};

const queue = (name: string, dlq?: string): SqsQueueSnapshot => ({
  name,
  attributes: dlq ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${dlq}`, maxReceiveCount: 3 }) } : {},
  tags: {},
  messages: [],
});

describe('restoreOrder', () => {
  it('puts each dead-letter queue before the queues that name it', () => {
    const order = restoreOrder([queue('jobs', 'jobs-dlq'), queue('jobs-dlq', 'last'), queue('last')]).map((q) => q.name);
    expect(order).toEqual(['last', 'jobs-dlq', 'jobs']);
  });

  it('drops a redrive policy whose dead-letter queue is not there, or that is a cycle', () => {
    const [lonely] = restoreOrder([queue('lonely', 'gone')]);
    expect(lonely!.attributes.RedrivePolicy).toBeUndefined();
    const cycle = restoreOrder([queue('a', 'b'), queue('b', 'a')]);
    expect(cycle.map((q) => q.name).sort()).toEqual(['a', 'b']);
    expect(cycle.filter((q) => q.attributes.RedrivePolicy === undefined)).toHaveLength(1);
  });
});

describe('the SQS snapshot file', () => {
  it('is read back as written; a missing file is no snapshot', () => {
    const file = path.join(tempDir(), 'sub', 'sqs.json');
    expect(readSqsSnapshot(file)).toBeUndefined();
    const snapshot = {
      version: 1 as const,
      savedAt: new Date().toISOString(),
      queues: [{ ...queue('q'), messages: [{ record: { MessageId: 'm1', MessageBody: 'b', attributes: { ApproximateReceiveCount: '2' } }, inFlight: true }] }],
    };
    writeSqsSnapshot(file, JSON.stringify(snapshot));
    expect(readSqsSnapshot(file)).toEqual(snapshot);
  });

  it('a file that is not one is refused with what to do', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'broken.json'), '{"version":1,');
    expect(() => readSqsSnapshot(path.join(dir, 'broken.json'))).toThrow(/broken\.json is not valid JSON .*: move it away or delete it to start the SQS emulator empty/);
    writeFileSync(path.join(dir, 'other.json'), '{"version":2,"queues":[]}');
    expect(() => readSqsSnapshot(path.join(dir, 'other.json'))).toThrow(/other\.json is not a jobline SQS snapshot \(version 1\): move it away or delete it/);
  });
});

describe('lockPersistDir', () => {
  it('takes the directory, and gives it back', () => {
    const dir = tempDir();
    const release = lockPersistDir(path.join(dir, 'data'));
    expect(readFileSync(path.join(dir, 'data', 'jobline.lock'), 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(existsSync(path.join(dir, 'data', 'jobline.lock'))).toBe(false);
  });

  it('refuses a directory another running process holds', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'jobline.lock'), `${process.ppid}\n`);
    expect(() => lockPersistDir(dir)).toThrow(
      `the persistence directory ${dir} is in use by another jobline dev (pid ${process.ppid}): stop that one, or give this one another directory (--persist <dir>)`,
    );
  });

  it('takes over the lock of a process that no longer runs', () => {
    const dir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(path.join(dir, 'jobline.lock'), `${gone}\n`);
    const release = lockPersistDir(dir);
    expect(readFileSync(path.join(dir, 'jobline.lock'), 'utf8').trim()).toBe(String(process.pid));
    release();
  });
});

describe('--persist [DIR] and --env-file FILE', () => {
  const options = (argv: string[]) => {
    const parsed = parseStartArgs(argv, {});
    if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed));
    return parsed.options;
  };

  it('--persist takes an optional directory: alone, last or before another option it is .jobline/data', () => {
    expect(DEFAULT_PERSIST_DIR).toBe(path.join('.jobline', 'data'));
    expect(options(['--persist']).persist).toBe(DEFAULT_PERSIST_DIR);
    expect(options(['--persist', '--synth'])).toMatchObject({ persist: DEFAULT_PERSIST_DIR, synth: true });
    expect(options(['--persist', '--port', '4000'])).toMatchObject({ persist: DEFAULT_PERSIST_DIR, port: 4000 });
    expect(options(['--port', '4000', '--persist'])).toMatchObject({ persist: DEFAULT_PERSIST_DIR, port: 4000 });
    expect(options(['--persist', 'state/dir']).persist).toBe('state/dir');
    expect(options(['--persist=other']).persist).toBe('other');
    expect(options([])).not.toHaveProperty('persist');
  });

  it('--env-file takes a file', () => {
    expect(options(['--env-file', 'local.env']).envFile).toBe('local.env');
    expect(options([])).not.toHaveProperty('envFile');
    expect(parseStartArgs(['--env-file'], {})).toEqual({ kind: 'error', message: 'option --env-file needs a value' });
    expect(parseStartArgs(['--env-file', '--synth'], {})).toEqual({ kind: 'error', message: 'option --env-file needs a value' });
    expect(parseStartArgs(['--env-file='], {})).toEqual({ kind: 'error', message: 'option --env-file needs a file' });
  });

  it('the usage names both', () => {
    const text = usage();
    expect(text).toContain('--persist [DIR]');
    expect(text).toContain('a restart starts empty');
    expect(text).toContain('--env-file FILE');
  });
});
