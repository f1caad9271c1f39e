/**
 * What the CLI prints: readable tables on stdout by default, `--json` for scripts (one JSON document, or one
 * per line for streams such as `jobs watch`), messages and errors on stderr. Colour only on a terminal, and
 * never with NO_COLOR.
 */
import { createColors } from 'picocolors';

export const colors = createColors(!!process.stdout.isTTY && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb');

export function printJson(value: unknown, pretty = true): void {
  process.stdout.write(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
}

/** A line for the operator (progress, notes): on stderr, so that stdout stays the command's result. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | undefined;
  align?: 'left' | 'right';
  /** Cut longer values to this many characters (with …). */
  max?: number;
}

// eslint-disable-next-line no-control-regex
const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const raw = c.value(row);
      const text = raw === undefined ? '-' : String(raw).replace(/\s+/g, ' ');
      return c.max !== undefined && text.length > c.max ? `${text.slice(0, c.max - 1)}…` : text;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => visible(r[i]!).length)));
  const line = (values: string[], paint: (s: string) => string = (s) => s) =>
    values
      .map((v, i) => {
        const pad = ' '.repeat(widths[i]! - visible(v).length);
        return columns[i]!.align === 'right' ? pad + v : i === values.length - 1 ? v : v + pad;
      })
      .map(paint)
      .join('  ')
      .trimEnd();
  return [
    line(
      columns.map((c) => c.header),
      colors.bold,
    ),
    ...cells.map((r) => line(r)),
  ].join('\n');
}

/** `key  value` lines, keys aligned. */
export function fields(pairs: readonly [string, string | number | undefined][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${colors.dim(`${k}:`.padEnd(width + 1))} ${String(v)}`).join('\n');
}

export function paintStatus(status: string): string {
  switch (status) {
    case 'SUCCEEDED':
      return colors.green(status);
    case 'FAILED':
      return colors.red(status);
    case 'CANCELLED':
      return colors.yellow(status);
    case 'RUNNING':
      return colors.cyan(status);
    default:
      return status;
  }
}

/** 42 s, 3 min, 2.5 h, 4 d. */
export function age(seconds: number | undefined): string | undefined {
  if (seconds === undefined || !Number.isFinite(seconds)) return undefined;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 8640) / 10} d`;
}
