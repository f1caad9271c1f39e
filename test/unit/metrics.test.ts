// The EMF lines of shared/metrics.ts: the shape CloudWatch Logs turns into metrics (namespace, the JobType
// dimension, each metric's unit), one line per job type, and at most 100 values of a metric per line.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../shared/metrics';

function recorder(namespace?: string) {
  const lines: string[] = [];
  const metrics = createMetrics({ ...(namespace ? { namespace } : {}), write: (line) => lines.push(line), now: () => 1_700_000_000_000 });
  return { metrics, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createMetrics', () => {
  it('writes one EMF line per job type, with the units CloudWatch needs', () => {
    const { metrics, lines } = recorder('Shop');
    metrics.count('JobsSubmitted', 'transfer');
    metrics.count('JobsSubmitted', 'transfer', 2);
    metrics.count('DuplicatesAbsorbed', 'webhook');
    metrics.timing('QueueWait', 'transfer', 12.4);
    metrics.flush();
    expect(lines()).toEqual([
      {
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Shop',
              Dimensions: [['JobType']],
              Metrics: [
                { Name: 'JobsSubmitted', Unit: 'Count' },
                { Name: 'QueueWait', Unit: 'Milliseconds' },
              ],
            },
          ],
        },
        JobType: 'transfer',
        JobsSubmitted: 3,
        QueueWait: [12],
      },
      expect.objectContaining({ JobType: 'webhook', DuplicatesAbsorbed: 1 }),
    ]);
  });

  it('splits more than 100 values of a metric over several lines, and forgets them once written', () => {
    const { metrics, lines } = recorder();
    for (let i = 0; i < 250; i++) metrics.timing('RunDuration', 'transfer', i);
    metrics.count('JobsSucceeded', 'transfer', 250);
    metrics.flush();
    metrics.flush();
    const written = lines();
    expect(written.map((l) => (l.RunDuration as number[]).length)).toEqual([100, 100, 50]);
    expect(written.flatMap((l) => l.RunDuration as number[])).toEqual([...Array(250).keys()]);
    // The count goes out once, in the first line; the namespace defaults to Jobline.
    expect(written.map((l) => l.JobsSucceeded)).toEqual([250, undefined, undefined]);
    expect(written[0]).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: 'Jobline' }] } });
  });

  it('writes nothing when nothing was recorded', () => {
    const { metrics, lines } = recorder();
    metrics.flush();
    expect(lines()).toEqual([]);
  });
});
