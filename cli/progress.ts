/**
 * A one-line progress bar, redrawn in place on a terminal (stderr); elsewhere nothing until the end, so logs
 * and pipes get no control characters. Hand-rolled: cli-progress 3.12, the well-known one, is 24 KB minified
 * with five dependencies for what these 30 lines do.
 */
export interface ProgressBar {
  update(done: number, note?: string): void;
  /** Grows the total when more work turns up than was counted at the start. */
  total(total: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const live = !!stream.isTTY;
  let last = '';
  const draw = (done: number, note = '') => {
    if (!live) return;
    const width = 30;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * width);
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}${note ? ` ${note}` : ''}`;
    if (line === last) return;
    last = line;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 100) - 1)}`);
  };
  return {
    update: (done, note) => draw(done, note),
    total: (next) => {
      total = next;
    },
    stop: () => {
      if (live && last) stream.write('\r\x1b[2K');
    },
  };
}
