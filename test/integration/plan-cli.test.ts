// `jobline plan` as a user runs it: the README's worked example run as written, on this repository's stack
// as synthesized (cdk.out), must print exactly what the README shows; and its refusals are clear, with their
// exit codes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { ensureAssembly } from '../../local/synth';
import { jobline } from '../support/jobline-cli';

const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
/** The fenced block after `<!-- planner-example:NAME -->`. */
function block(name: string): string {
  const match = new RegExp(`<!-- planner-example:${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README has no planner-example:${name} block`);
  return match[1]!;
}

beforeAll(async () => {
  await ensureAssembly();
});

describe('the README worked example', () => {
  it('shows the workload file as it is', () => {
    expect(JSON.parse(block('workload'))).toEqual(JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'docs/examples/workload.json'), 'utf8')));
  });

  it('prints what the README shows, exit 0', async () => {
    const [command, ...output] = block('output').split('\n');
    expect(command).toBe('$ npm run jobline -- plan docs/examples/workload.json');
    const result = await jobline(['plan', 'docs/examples/workload.json']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trimEnd()).toBe(output.join('\n'));
    expect(result.code).toBe(0);
  });

  it('--json: the same plan for scripts', async () => {
    const result = await jobline(['plan', 'docs/examples/workload.json', '--json']);
    const plan = JSON.parse(result.stdout) as { stack: string; jobTypes: { type: string; keepsUp: boolean; warnings: string[] }[]; prices: { asOf: string } };
    expect(plan.stack).toBe('Jobline');
    expect(plan.jobTypes.map((t) => [t.type, t.keepsUp])).toEqual([
      ['transfer', true],
      ['webhook', true],
    ]);
    expect(plan.jobTypes[1]!.warnings[0]).toMatch(/is busy on average/);
    expect(plan.prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('refusals', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-plan-'));
  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  it('a workload that does not keep up: the plan, its warning, exit 1', async () => {
    const result = await jobline(['plan', file('flood.json', { jobTypes: { webhook: { arrivalsPerSecond: 500, durationMs: { p50: 500, p99: 2000 } } } })]);
    expect(result.stdout).toContain('does NOT keep up');
    expect(result.stdout).toMatch(/warning: webhook: the queue does not keep up: .*raise maxConcurrency to at least \d+/);
    expect(result.code).toBe(1);
  });

  it('a bad workload file: every problem named, exit 2', async () => {
    const result = await jobline(['plan', file('bad.json', { jobTypes: { webhook: { arrivalsPerSecond: -1, durationMs: { p50: 10, p99: 20 }, failureRate: 3 } } })]);
    expect(result.stderr).toMatch(/is not a valid workload:\n {2}- jobTypes\.webhook\.arrivalsPerSecond: .*\n {2}- jobTypes\.webhook\.failureRate: /);
    expect(result.code).toBe(2);
  });

  it('a workload file that cannot be read: exit 2, as an unreadable @file', async () => {
    const result = await jobline(['plan', path.join(dir, 'missing.json')]);
    expect(result.stderr).toMatch(/cannot read the workload .*missing\.json: ENOENT/);
    expect(result.code).toBe(2);
  });

  it('a job type the stack does not have, or no assembly: exit 4 with what there is', async () => {
    const unknown = await jobline(['plan', file('unknown.json', { jobTypes: { thumbnail: { arrivalsPerSecond: 1, durationMs: { p50: 10, p99: 20 } } } })]);
    expect(unknown.stderr).toContain('the workload names job types the stack Jobline does not have: thumbnail (it has: transfer, webhook)');
    expect(unknown.code).toBe(4);
    const noAssembly = await jobline(['plan', 'docs/examples/workload.json', '--app', path.join(dir, 'nothing')]);
    expect(noAssembly.stderr).toMatch(/no cloud assembly in .*nothing/);
    expect(noAssembly.code).toBe(4);
  });
});
