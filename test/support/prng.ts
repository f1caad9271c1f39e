/**
 * A small seeded PRNG (mulberry32) for the fuzz suites, so that every generated case can be rebuilt from
 * the run's seed and the case's index. Set JOBLINE_FUZZ_SEED to replay a run; otherwise each run draws a
 * fresh seed (printed in the suite's name and in every failure).
 */
import { randomInt } from 'node:crypto';

export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const fixed = env.JOBLINE_FUZZ_SEED;
  if (fixed !== undefined && fixed.trim() !== '') {
    const seed = Number(fixed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`JOBLINE_FUZZ_SEED must be an integer 0..4294967295, not ${fixed}`);
    return seed;
  }
  return randomInt(0, 2 ** 32 - 1);
}

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** An independent stream for item `index` of a run, so a case does not depend on the cases before it. */
  static forCase(seed: number, index: number): Prng {
    let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    const prng = new Prng((h ^ (h >>> 16)) >>> 0);
    prng.next();
    return prng;
  }

  /** mulberry32: a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((sum, [w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [w, value] of entries) {
      if ((r -= w) < 0) return value;
    }
    return entries[entries.length - 1]![1];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** A string of `length` characters drawn from `alphabet`. */
  stringOf(alphabet: string, length: number): string {
    const chars = [...alphabet];
    let out = '';
    for (let i = 0; i < length; i++) out += this.pick(chars);
    return out;
  }

  /**
   * Random text of `length` code points that SQS accepts in a message body (#x9 #xA #xD #x20-#xD7FF
   * #xE000-#xFFFD #x10000-#x10FFFF), biased towards ASCII and JSON punctuation.
   */
  sqsText(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) {
      const kind = this.int(0, 9);
      let cp: number;
      if (kind < 4) cp = this.int(0x20, 0x7e);
      else if (kind < 6) cp = this.pick([0x09, 0x0a, 0x0d, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c]);
      else if (kind < 8) cp = this.int(0x80, 0xd7ff);
      else if (kind < 9) cp = this.int(0xe000, 0xfffd);
      else cp = this.int(0x10000, 0x10ffff);
      out += String.fromCodePoint(cp);
    }
    return out;
  }

  /** A random version 4 UUID (lower-case), from this stream. */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const hex = b.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
