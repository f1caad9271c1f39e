// The state machine is written down once (shared/store/job-states.ts); the README's table is rendered from
// it, and this test keeps the two equal, so the documented transitions are the ones the code names.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isTerminal, JOB_STATUSES, renderStateTable, TRANSITIONS } from '../../shared/store/job-states';

describe('the job state machine', () => {
  it('is the table in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = /<!-- state-table:start -->\n([\s\S]*?)\n<!-- state-table:end -->/.exec(readme)?.[1];
    expect(table, 'README state table (regenerate it from renderStateTable())').toBe(renderStateTable());
  });

  it('has exactly three terminal states, and only the explicit retry leaves one', () => {
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
    const leaving = TRANSITIONS.filter((t) => t.from.some((s) => s !== '(none)' && isTerminal(s)));
    expect(leaving.map((t) => t.name)).toEqual(['retry']);
  });

  it('reaches every state from a submit', () => {
    const reached = new Set<string>(['(none)']);
    for (let changed = true; changed;) {
      changed = false;
      for (const t of TRANSITIONS) {
        if (t.to !== '(unchanged)' && !reached.has(t.to) && t.from.some((s) => reached.has(s))) {
          reached.add(t.to);
          changed = true;
        }
      }
    }
    for (const status of JOB_STATUSES) expect(reached).toContain(status);
  });
});
