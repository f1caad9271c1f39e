/**
 * A file that lines are appended to, kept to a size: once the next line would take it past `maxBytes`, the
 * file becomes `<file>.1` (replacing an older one) and a new file starts. The local event log
 * (`.jobline/events.jsonl`) is one: a `jobline dev` left running for days would otherwise fill the disk.
 * `tail -F` follows it across the rotation.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';

/** 10 MiB: some tens of thousands of events, and two files of it at most. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

export class RotatingFile {
  private size: number;

  constructor(
    readonly file: string,
    readonly maxBytes: number = DEFAULT_MAX_BYTES,
  ) {
    this.size = sizeOf(file);
  }

  append(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      renameSync(this.file, `${this.file}.1`);
      this.size = 0;
    }
    appendFileSync(this.file, line);
    this.size += bytes;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
