import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RotatingFile } from '../../local/rotating-file';

const dir = mkdtempSync(path.join(tmpdir(), 'jobline-rotating-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RotatingFile', () => {
  it('keeps the file under its size: the full one becomes <file>.1, replacing an older one', () => {
    const file = path.join(dir, 'events.jsonl');
    const log = new RotatingFile(file, 20);
    for (const n of [1, 2, 3, 4, 5, 6]) log.append(`line ${n} ...\n`); // 11 bytes each
    expect(readFileSync(file, 'utf8')).toBe('line 6 ...\n');
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('line 5 ...\n');
  });

  it('counts what the file had before it was opened (a restarted jobline dev appends to it)', () => {
    const file = path.join(dir, 'kept.jsonl');
    writeFileSync(file, 'x'.repeat(15));
    new RotatingFile(file, 20).append('line 1 ...\n');
    expect(readFileSync(file, 'utf8')).toBe('line 1 ...\n');
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('x'.repeat(15));
  });

  it('writes a line longer than the limit whole, to a file of its own', () => {
    const file = path.join(dir, 'long.jsonl');
    const log = new RotatingFile(file, 5);
    log.append('a long line\n');
    expect(readFileSync(file, 'utf8')).toBe('a long line\n');
    expect(existsSync(`${file}.1`)).toBe(false);
  });
});
