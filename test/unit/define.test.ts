// Job type declarations: every limit of SQS, Lambda and event source mappings is checked before anything
// is deployed, so a bad declaration fails at synth (or import) time with a readable reason.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_QUEUE_OPTIONS, defineJob, resolveQueueOptions, validateJobType, visibilityTimeoutSeconds, type QueueOptions } from '../../shared/jobs/define';

const standard = (options: Partial<QueueOptions> = {}) => resolveQueueOptions(options);
const fifo = (options: Partial<QueueOptions> = {}) => resolveQueueOptions({ fifo: true, ...options });
/** The problems of a standard job type named "ok" with these options. */
const problemsOf = (options: Partial<QueueOptions>, hasGroupKey = false) => validateJobType('ok', resolveQueueOptions(options), hasGroupKey);

describe('resolveQueueOptions', () => {
  it('fills every option from the defaults', () => {
    expect(resolveQueueOptions()).toEqual(DEFAULT_QUEUE_OPTIONS);
  });

  it('replaces only the options given, and merges a partial backoff with the default one', () => {
    const q = resolveQueueOptions({ batchSize: 5, backoff: { baseSeconds: 7 } as QueueOptions['backoff'] });
    expect(q).toEqual({ ...DEFAULT_QUEUE_OPTIONS, batchSize: 5, backoff: { baseSeconds: 7, maxSeconds: DEFAULT_QUEUE_OPTIONS.backoff.maxSeconds } });
  });

  it('does not share or change the defaults object', () => {
    const q = resolveQueueOptions();
    q.backoff.baseSeconds = 99;
    expect(DEFAULT_QUEUE_OPTIONS.backoff.baseSeconds).toBe(5);
  });
});

describe('validateJobType', () => {
  it("refuses a retry budget that does not fit SQS's 14-day retention (SQS would delete the message silently)", () => {
    const q = resolveQueueOptions({ maxReceiveCount: 1000, timeoutSeconds: 300 });
    expect(validateJobType('slow', q, false)).toEqual([expect.stringContaining("must fit SQS's 14-day message retention")]);
    expect(validateJobType('ok', resolveQueueOptions(), false)).toEqual([]);
  });

  it('accepts the defaults (standard queue) and a FIFO queue with a group key', () => {
    expect(validateJobType('ok', standard(), false)).toEqual([]);
    expect(validateJobType('ok', fifo(), true)).toEqual([]);
  });

  describe('name', () => {
    const NAME_PROBLEM = 'name must be 2-40 lower-case letters, digits or dashes, starting with a letter';
    it.each(['ab', 'a1', 'send-email', 'a'.repeat(40), 'x-2-y'])('accepts %j', (name) => {
      expect(validateJobType(name, standard(), false)).toEqual([]);
    });
    it.each(['', 'a', 'a'.repeat(41), '1abc', '-abc', 'abc-', 'Abc', 'a_b', 'a b', 'a.b'])('rejects %j', (name) => {
      expect(validateJobType(name, standard(), false)).toEqual([NAME_PROBLEM]);
    });
  });

  describe('ranges', () => {
    it.each([
      ['timeoutSeconds', 'timeoutSeconds must be 1-900', [1, 900], [0, 901, 1.5]],
      ['maxReceiveCount', 'maxReceiveCount must be 1-1000', [1, 1000], [0, 1001, 2.5]],
      ['maxConcurrency', 'maxConcurrency must be 2-1000', [2, 1000], [1, 1001, 3.5]],
      ['batchingWindowSeconds', 'batchingWindowSeconds must be 0-300', [0, 300], [-1, 301, 0.5]],
      ['memoryMb', 'memoryMb must be 128-10240', [128, 10240], [127, 10241, 200.5]],
    ] as const)('%s: accepts its bounds and rejects values outside them or fractions', (option, problem, good, bad) => {
      for (const value of good) expect(problemsOf({ [option]: value })).not.toContain(problem);
      for (const value of bad) expect(problemsOf({ [option]: value })).toContain(problem);
    });

    it('backoff: needs 0 <= baseSeconds <= maxSeconds <= 43200', () => {
      const problem = 'backoff needs 0 <= baseSeconds <= maxSeconds <= 43200';
      expect(problemsOf({ backoff: { baseSeconds: 0, maxSeconds: 0 } })).toEqual([]);
      expect(problemsOf({ backoff: { baseSeconds: 5, maxSeconds: 43200 } })).toEqual([]);
      expect(problemsOf({ backoff: { baseSeconds: -1, maxSeconds: 10 } })).toEqual([problem]);
      expect(problemsOf({ backoff: { baseSeconds: 10, maxSeconds: 5 } })).toEqual([problem]);
      expect(problemsOf({ backoff: { baseSeconds: 1, maxSeconds: 43201 } })).toEqual([problem]);
      expect(problemsOf({ backoff: { baseSeconds: Number.NaN, maxSeconds: 10 } })).toEqual([problem]);
    });
  });

  describe('visibility timeout (6 x timeout + batching window, at most 43200)', () => {
    const problem = '6 x timeoutSeconds + batchingWindowSeconds must be at most 43200 (the longest visibility timeout)';
    it('is computed as six times the function timeout plus the batching window', () => {
      expect(visibilityTimeoutSeconds(standard({ timeoutSeconds: 30 }))).toBe(180);
      expect(visibilityTimeoutSeconds(standard({ timeoutSeconds: 30, batchingWindowSeconds: 20 }))).toBe(200);
    });
    it('accepts exactly 43200 and rejects one second more', () => {
      // Only reachable with a timeout beyond Lambda's 900 s, which is its own problem as well.
      expect(problemsOf({ timeoutSeconds: 7200 })).not.toContain(problem);
      expect(problemsOf({ timeoutSeconds: 7200, batchSize: 11, batchingWindowSeconds: 1 })).toContain(problem);
      expect(problemsOf({ timeoutSeconds: 7201 })).toContain(problem);
    });
  });

  describe('FIFO queues', () => {
    it('take batchSize 1-10', () => {
      expect(validateJobType('ok', fifo({ batchSize: 1 }), true)).toEqual([]);
      expect(validateJobType('ok', fifo({ batchSize: 10 }), true)).toEqual([]);
      expect(validateJobType('ok', fifo({ batchSize: 11 }), true)).toEqual(['a FIFO queue takes batchSize 1-10']);
      expect(validateJobType('ok', fifo({ batchSize: 0 }), true)).toEqual(['a FIFO queue takes batchSize 1-10']);
    });
    it('take no batching window', () => {
      expect(validateJobType('ok', fifo({ batchingWindowSeconds: 5 }), true)).toEqual(['a FIFO queue takes no batching window']);
    });
    it('need a groupKey', () => {
      expect(validateJobType('ok', fifo(), false)).toEqual(['a FIFO job type needs a groupKey']);
    });
    it('report every problem at once', () => {
      expect(validateJobType('ok', fifo({ batchSize: 20, batchingWindowSeconds: 1 }), false)).toEqual([
        'a FIFO queue takes batchSize 1-10',
        'a FIFO queue takes no batching window',
        'a FIFO job type needs a groupKey',
      ]);
    });
  });

  describe('standard queues', () => {
    it('take batchSize 1-10000', () => {
      expect(problemsOf({ batchSize: 1 })).toEqual([]);
      expect(problemsOf({ batchSize: 10000, batchingWindowSeconds: 1 })).toEqual([]);
      expect(problemsOf({ batchSize: 0 })).toEqual(['batchSize must be 1-10000']);
      expect(problemsOf({ batchSize: 10001, batchingWindowSeconds: 1 })).toEqual(['batchSize must be 1-10000']);
    });
    it('need a batching window of at least 1 s for batchSize above 10', () => {
      expect(problemsOf({ batchSize: 10, batchingWindowSeconds: 0 })).toEqual([]);
      expect(problemsOf({ batchSize: 11, batchingWindowSeconds: 0 })).toEqual(['batchSize above 10 needs batchingWindowSeconds >= 1']);
      expect(problemsOf({ batchSize: 11, batchingWindowSeconds: 1 })).toEqual([]);
    });
    it('take no groupKey (it is for FIFO queues only)', () => {
      expect(problemsOf({}, true)).toEqual(['groupKey is for FIFO queues only']);
    });
  });
});

describe('defineJob', () => {
  const schema = z.object({ n: z.number() });
  const handler = async () => ({ result: null, writes: [] });

  it('returns the spec with its queue options resolved', () => {
    const type = defineJob({ name: 'count', kind: 'transactional', schema, handler, queue: { batchSize: 4 } });
    expect(type.name).toBe('count');
    expect(type.queue).toEqual({ ...DEFAULT_QUEUE_OPTIONS, batchSize: 4 });
    expect(type.handler).toBe(handler);
  });

  it('throws with the job name and every problem when AWS would refuse the settings', () => {
    expect(() => defineJob({ name: 'Bad_Name', kind: 'transactional', schema, handler, queue: { fifo: true, timeoutSeconds: 0 } })).toThrow(
      'job type "Bad_Name": name must be 2-40 lower-case letters, digits or dashes, starting with a letter; timeoutSeconds must be 1-900; a FIFO job type needs a groupKey',
    );
  });

  it('counts a groupKey as present for the FIFO rules', () => {
    expect(() => defineJob({ name: 'ordered', kind: 'transactional', schema, handler, queue: { fifo: true }, groupKey: (p) => String(p.n) })).not.toThrow();
    expect(() => defineJob({ name: 'unordered', kind: 'transactional', schema, handler, groupKey: (p) => String(p.n) })).toThrow('groupKey is for FIFO queues only');
  });
});
