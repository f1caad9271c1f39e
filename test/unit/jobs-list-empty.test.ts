import { describe, expect, it } from 'vitest';
import { noJobsMatch } from '../../cli/commands/jobs';

describe('jobs list: what an empty listing says', () => {
  it('names every filter it was asked for', () => {
    expect(noJobsMatch({})).toBe('no jobs');
    expect(noJobsMatch({ type: 'transfer', state: 'FAILED' })).toBe('no jobs of type transfer in state FAILED');
    // Only the key matched nothing: "no jobs of type transfer" alone would say the type has none.
    expect(noJobsMatch({ type: 'transfer', key: 'order-7' })).toBe('no jobs of type transfer with Idempotency-Key "order-7"');
  });
});
