/** The report: one markdown table (jobline | Powertools | ratio) and the targets, each PASS or MISS. */
export interface Row {
  benchmark: string;
  metric: string;
  jobline: number | string;
  powertools?: number | string;
  /** jobline / Powertools; left out where a ratio means nothing (no peer, or a verdict). */
  ratio?: number;
}

export interface Target {
  name: string;
  pass: boolean;
  detail: string;
}

function cell(value: number | string | undefined): string {
  if (value === undefined) return '–';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return 'n/a';
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 1000 ? value.toFixed(0) : abs >= 100 ? value.toFixed(1) : value.toFixed(2);
}

export function ratioOf(jobline: number, powertools: number): number | undefined {
  return powertools === 0 ? undefined : jobline / powertools;
}

export function renderTable(rows: readonly Row[]): string {
  const lines = ['| benchmark | metric | jobline | Powertools | ratio |', '| --- | --- | ---: | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${r.benchmark} | ${r.metric} | ${cell(r.jobline)} | ${cell(r.powertools)} | ${r.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}x`} |`);
  return lines.join('\n');
}

export function renderTargets(targets: readonly Target[]): string {
  const lines = targets.map((t) => `- **${t.pass ? 'PASS' : 'MISS'}** ${t.name}: ${t.detail}`);
  const missed = targets.filter((t) => !t.pass).length;
  lines.push('', missed === 0 ? `All ${targets.length} targets met.` : `${missed} of ${targets.length} targets MISSED.`);
  return lines.join('\n');
}
