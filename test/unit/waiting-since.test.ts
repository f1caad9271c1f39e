// `jobline stats`' OLDEST PENDING and the dashboard's "has waited" flag: how long a PENDING job has waited to run.
import { describe, expect, it } from 'vitest';
import { waitingSince } from '../../cli/job-counts';

const at = (iso: string) => Date.parse(iso);
const job = (fields: Partial<Parameters<typeof waitingSince>[0]>) => ({
  createdAt: '2026-12-07T20:00:00.000Z',
  generation: 1,
  history: [{ state: 'PENDING' as const, at: '2026-12-07T20:00:00.000Z', generation: 1 }],
  ...fields,
});

describe('waitingSince', () => {
  it('is the submit for a job due at once', () => {
    expect(waitingSince(job({}))).toBe(at('2026-12-07T20:00:00.000Z'));
  });
  it('is its run time for a delayed job (not waiting before it is due)', () => {
    expect(waitingSince(job({ runAt: '2026-12-07T20:15:00.000Z' }))).toBe(at('2026-12-07T20:15:00.000Z'));
  });
  it('is the retry for a job retried into a new generation, however old it is', () => {
    const retried = job({
      generation: 2,
      history: [
        { state: 'PENDING', at: '2026-12-01T09:00:00.000Z', generation: 1 },
        { state: 'FAILED', at: '2026-12-01T09:01:00.000Z', generation: 1 },
        { state: 'PENDING', at: '2026-12-07T20:30:00.000Z', generation: 2 },
      ],
    });
    expect(waitingSince(retried)).toBe(at('2026-12-07T20:30:00.000Z'));
  });
});
