// The sweeper's decision for a job that is due: postpone while it makes progress, send its message again
// when it has none (a lost send, an expired message, a dead worker), give up when its attempts are spent or
// its queue can no longer hold any message of it. Pure, so every branch is shown here; the wire protocol
// is in test/integration/sweeper.test.ts.
import { describe, expect, it } from 'vitest';
import { MESSAGE_RETENTION_SECONDS } from '../../shared/jobs/define';
import type { JobRecord } from '../../shared/store/job-record';
import { decideSweep, MAX_RESEND_SPACING_MS } from '../../shared/sweeper/decide';
import type { SweepTypeConfig } from '../../shared/sweeper/config';

const NOW = Date.parse('2026-11-27T12:00:00.000Z');
const type: SweepTypeConfig = { queueUrl: 'q', deadLetterQueueUrl: 'dlq', fifo: false, maxReceiveCount: 5, staleSeconds: 100, retentionSeconds: MESSAGE_RETENTION_SECONDS };
const job = (overrides: Partial<JobRecord> = {}): JobRecord => ({
  jobId: '00000000-0000-4000-8000-000000000001',
  type: 'webhook',
  status: 'PENDING',
  generation: 1,
  attempts: 0,
  payloadHash: 'h',
  payloadBytes: 10,
  payload: '{}',
  owner: 'caller',
  createdAt: new Date(NOW - 1_000_000).toISOString(),
  updatedAt: new Date(NOW - 1_000_000).toISOString(),
  expiresAt: NOW / 1000 + 86_400,
  history: [],
  ...overrides,
});
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('decideSweep', () => {
  it('skips a terminal job (its index entry was read before the job finished)', () => {
    expect(decideSweep(job({ status: 'SUCCEEDED' }), type, NOW)).toEqual({ action: 'skip' });
    expect(decideSweep(job({ status: 'FAILED' }), type, NOW)).toEqual({ action: 'skip' });
  });

  it('postpones a job that made progress within its stale time, to the end of that time', () => {
    expect(decideSweep(job({ updatedAt: ago(30_000) }), type, NOW)).toEqual({ action: 'postpone', until: NOW - 30_000 + 100_000 });
  });

  it('postpones a RUNNING job whose lease is live, to the lease end plus the stale time', () => {
    expect(decideSweep(job({ status: 'RUNNING', leaseUntil: NOW + 5_000 }), type, NOW)).toEqual({ action: 'postpone', until: NOW + 105_000 });
  });

  it('sends the message of a stale PENDING job again (its first send may never have happened)', () => {
    expect(decideSweep(job(), type, NOW)).toEqual({ action: 'resend', nextSweepAt: NOW + 100_000 });
  });

  it('spaces the re-sends of a job that keeps waiting (a backlog) further apart each time', () => {
    expect(decideSweep(job({ sweeps: 2 }), type, NOW)).toEqual({ action: 'resend', nextSweepAt: NOW + 400_000 });
  });

  it('sends again a RUNNING job whose lease ran out long ago with receives left (its worker died)', () => {
    expect(decideSweep(job({ status: 'RUNNING', attempts: 2, leaseUntil: NOW - 200_000, updatedAt: ago(300_000) }), type, NOW)).toMatchObject({ action: 'resend' });
  });

  it('gives up a job whose worker died on its last receive: it would stay RUNNING forever', () => {
    const decision = decideSweep(job({ status: 'RUNNING', attempts: 5, leaseUntil: NOW - 200_000, updatedAt: ago(300_000), error: 'TransientError: 503' }), type, NOW);
    expect(decision).toEqual({ action: 'give-up', reason: expect.stringMatching(/^gave up after 5 attempts: .*last error: TransientError: 503$/) });
  });

  it('keeps sending again, an hour apart at most, a job that waits behind a backlog: its first message may still come', () => {
    // Ten re-sends and eleven days without progress: a queue that far behind still holds its messages.
    const waiting = job({ sweeps: 10, updatedAt: ago(11 * 86_400_000) });
    expect(decideSweep(waiting, type, NOW)).toEqual({ action: 'resend', nextSweepAt: NOW + MAX_RESEND_SPACING_MS });
  });

  it('gives up a job no worker took once its queue keeps no message of it (no progress for longer than its retention)', () => {
    const gone = job({ sweeps: 3, updatedAt: ago(14 * 86_400_000 + 1) });
    expect(decideSweep(gone, type, NOW)).toEqual({
      action: 'give-up',
      reason: expect.stringMatching(/^gave up: no worker took the job in 14\.0 days, longer than its queue keeps a message \(sent again 3 times\)$/),
    });
    // The queue's own retention (here an hour); never before a first re-send.
    expect(decideSweep(job({ sweeps: 1, updatedAt: ago(3_601_000) }), { ...type, retentionSeconds: 3600 }, NOW)).toMatchObject({ action: 'give-up' });
    expect(decideSweep(job({ sweeps: 0, updatedAt: ago(3_601_000) }), { ...type, retentionSeconds: 3600 }, NOW)).toMatchObject({ action: 'resend' });
  });

  it('postpones a job of a type that is not deployed (any more) by an hour, rather than failing it', () => {
    expect(decideSweep(job(), undefined, NOW)).toEqual({ action: 'postpone', until: NOW + 3_600_000 });
  });

  it('skips a CANCELLED job', () => {
    expect(decideSweep(job({ status: 'CANCELLED' }), type, NOW)).toEqual({ action: 'skip' });
  });

  it('leaves a SCHEDULED job until 14 minutes before its run time (standard queue), then sends it', () => {
    expect(decideSweep(job({ status: 'SCHEDULED', runAt: NOW + 20 * 60_000 }), type, NOW)).toEqual({ action: 'postpone', until: NOW + 6 * 60_000 });
    expect(decideSweep(job({ status: 'SCHEDULED', runAt: NOW + 13 * 60_000 }), type, NOW)).toEqual({ action: 'enqueue', nextSweepAt: NOW + 13 * 60_000 + 100_000 });
  });

  it('sends a SCHEDULED job of a FIFO queue only when it is due (no per-message delay there)', () => {
    const fifo = { ...type, fifo: true };
    expect(decideSweep(job({ status: 'SCHEDULED', runAt: NOW + 60_000 }), fifo, NOW)).toEqual({ action: 'postpone', until: NOW + 60_000 });
    expect(decideSweep(job({ status: 'SCHEDULED', runAt: NOW - 1 }), fifo, NOW)).toEqual({ action: 'enqueue', nextSweepAt: NOW + 100_000 });
  });

  it('does not count a delayed PENDING job as stale before its run time', () => {
    expect(decideSweep(job({ runAt: NOW + 50_000 }), type, NOW)).toEqual({ action: 'postpone', until: NOW + 150_000 });
  });

  it('stops a RUNNING job whose caller cancelled it once its lease has run out (its worker is gone)', () => {
    expect(decideSweep(job({ status: 'RUNNING', cancelRequested: true, leaseUntil: NOW + 5_000 }), type, NOW)).toMatchObject({ action: 'postpone' });
    expect(decideSweep(job({ status: 'RUNNING', cancelRequested: true, leaseUntil: NOW - 1 }), type, NOW)).toMatchObject({ action: 'stop' });
  });
});
