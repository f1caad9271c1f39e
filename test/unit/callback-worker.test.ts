// The callback worker's outcomes and what it counts of them (shared/notify/callback-worker.ts): the delivery
// itself is replaced (deliver is jobline's own function, whose HTTP behaviour the notifications integration
// test covers against a loopback receiver), so each outcome can be chosen per message.
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log';
import { createMetrics } from '../../shared/metrics';
import { deliverCallbacks, type CallbackWorkerDeps } from '../../shared/notify/callback-worker';
import type { Delivery } from '../../shared/notify/deliver';
import type { CallbackMessage } from '../../shared/notify/notification';

const FINISHED_AT = '2026-12-07T10:00:00.000Z';

function record(id: string, url: string, receiveCount = 1, type = 'webhook'): SQSRecord {
  const message: CallbackMessage = {
    v: 1,
    jobId: `job-${id}`,
    generation: 1,
    status: 'SUCCEEDED',
    event: 'Job Succeeded',
    url,
    view: { jobId: `job-${id}`, type, status: 'SUCCEEDED', finishedAt: FINISHED_AT },
  };
  return { messageId: id, body: JSON.stringify(message), attributes: { ApproximateReceiveCount: String(receiveCount) } } as unknown as SQSRecord;
}

/** Each URL's path names the outcome the fake delivery gives it. */
const outcomes: Record<string, Delivery> = {
  '/ok': { kind: 'delivered', status: 200 },
  '/busy': { kind: 'retry', reason: 'the receiver answered 503' },
  '/gone': { kind: 'permanent', reason: 'the receiver answered 410' },
};

function worker(options: { parkFails?: boolean } = {}) {
  const lines: Record<string, unknown>[] = [];
  const parked: string[] = [];
  const deps: CallbackWorkerDeps = {
    secret: async () => 'secret',
    allow: () => new Set(),
    maxAttempts: 3,
    backoff: { baseSeconds: 1, maxSeconds: 4 },
    timeoutMs: 1000,
    deliver: async (message) => outcomes[new URL(message.url).pathname]!,
    deadLetter: async (letters) => {
      if (options.parkFails) throw new Error('SQS unavailable');
      parked.push(...letters.map((l) => l.record.messageId));
      return new Set(letters.map((l) => l.record.messageId));
    },
    delay: async () => {},
    log: createLogger({ component: 'callback' }, 'error'),
    metrics: createMetrics({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
    now: () => Date.parse(FINISHED_AT) + 1500,
  };
  const counted = (type: string, name: string) => lines.filter((l) => l.JobType === type).reduce((n, l) => n + ((l[name] as number | undefined) ?? 0), 0);
  const timings = (type: string, name: string) => lines.filter((l) => l.JobType === type).flatMap((l) => (l[name] as number[] | undefined) ?? []);
  return { deps, parked, counted, timings };
}

const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

describe('the callback worker', () => {
  it('counts each outcome per job type: delivered (with the delay since the job ended), retried, parked', async () => {
    const w = worker();
    const answer = await deliverCallbacks(
      event(
        record('a', 'https://r.example/ok'),
        record('b', 'https://r.example/ok', 1, 'transfer'),
        record('c', 'https://r.example/busy'),
        record('d', 'https://r.example/busy', 3),
        record('e', 'https://r.example/gone'),
      ),
      w.deps,
    );
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: 'c' }]);
    expect(w.parked.sort()).toEqual(['d', 'e']);
    expect([w.counted('webhook', 'CallbacksDelivered'), w.counted('transfer', 'CallbacksDelivered')]).toEqual([1, 1]);
    expect(w.counted('webhook', 'CallbacksRetried')).toBe(1);
    expect(w.counted('webhook', 'CallbacksParked')).toBe(2);
    expect(w.timings('webhook', 'CallbackDelay')).toEqual([1500]);
  });

  it('does not count a callback as parked while its copy did not reach the DLQ: it is delivered again instead', async () => {
    const w = worker({ parkFails: true });
    const answer = await deliverCallbacks(event(record('e', 'https://r.example/gone'), record('x', 'https://r.example/ok')), w.deps);
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: 'e' }]);
    expect(w.counted('webhook', 'CallbacksParked')).toBe(0);
    expect(w.counted('webhook', 'CallbacksDelivered')).toBe(1);
  });

  it('parks a body that is not a callback message, counted under the job type "unknown"', async () => {
    const w = worker();
    const bad = { ...record('z', 'https://r.example/ok'), body: '{"not":"a callback"}' };
    expect((await deliverCallbacks(event(bad), w.deps)).batchItemFailures).toEqual([]);
    expect(w.parked).toEqual(['z']);
    expect(w.counted('unknown', 'CallbacksParked')).toBe(1);
  });
});
