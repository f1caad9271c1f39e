// jobline submit: when does an answer show that the API ignored the delay asked for (cli/commands/submit.ts)?
import { describe, expect, it } from 'vitest';
import { delayIgnored } from '../../cli/commands/submit';

const now = Date.parse('2026-12-07T12:00:00Z');
const runsNow = { status: 'PENDING' };
const scheduled = { status: 'SCHEDULED', runAt: '2026-12-07T13:00:00Z' };

describe('delayIgnored', () => {
  it('is true when a future time or a delay was asked for and the job runs now', () => {
    expect(delayIgnored({ runAt: '2026-12-07T13:00:00Z' }, runsNow, now)).toBe(true);
    expect(delayIgnored({ delay: 60 }, runsNow, now)).toBe(true);
    expect(delayIgnored({ runAt: '2026-12-07T13:00:00Z' }, scheduled, now)).toBe(false);
  });

  it('is false for a --run-at that has passed: the API runs it now by design (it was reported as ignored, exit 1)', () => {
    expect(delayIgnored({ runAt: '2020-01-01T00:00:00Z' }, runsNow, now)).toBe(false);
    expect(delayIgnored({ runAt: '2026-12-07T12:00:02Z' }, runsNow, now)).toBe(false);
    expect(delayIgnored({ delay: 0 }, runsNow, now)).toBe(false);
  });
});
