// What a DLQ redrive does with one parked message (cli/dlq-queue.ts decide), given its job as the API shows it.
import { describe, expect, it } from 'vitest';
import { decide, type ParkedMessage } from '../../cli/dlq-queue';
import type { ApiJobView } from '../../shared/client/api-client';

const message = (generation: number): ParkedMessage => ({ messageId: `m${generation}`, jobId: 'job-1', type: 'webhook', generation, source: 'worker', body: '{}' });
const job = (status: string, generation: number) => ({ jobId: 'job-1', type: 'webhook', status, generation }) as unknown as ApiJobView;

describe('decide', () => {
  it('retries a FAILED job from a message of its generation, deletes older generations, keeps newer ones', () => {
    expect(decide(message(1), job('FAILED', 1))).toMatchObject({ action: 'retry' });
    expect(decide(message(1), job('PENDING', 2))).toMatchObject({ action: 'delete', why: expect.stringContaining('stale') });
    expect(decide(message(3), job('FAILED', 2))).toMatchObject({ action: 'keep', why: expect.stringContaining('forged') });
  });

  it('keeps the failure of a job this redrive retried already: the retried run failed again during the pass', () => {
    // Seen: three jobs whose target was still down, redriven; each retried run failed within the pass and its
    // message was deleted as "another message of the job was redriven already", leaving FAILED jobs and an empty DLQ.
    expect(decide(message(2), job('FAILED', 2), true)).toMatchObject({ action: 'keep', why: expect.stringContaining('FAILED again') });
    expect(decide(message(1), job('FAILED', 2), true)).toMatchObject({ action: 'delete' });
  });
});
