/**
 * The workload file of `jobline plan`: per job type, how jobs arrive and how long their handler runs. Checked
 * with the same schema library as job payloads, so that a typo or a wrong value is an error naming the field
 * and what is valid, never a silent default.
 *
 *   {
 *     "jobTypes": {
 *       "webhook": { "arrivalsPerSecond": 20, "burst": 5000, "durationMs": { "p50": 120, "p99": 900 },
 *                    "payloadBytes": 2048, "duplicateRate": 0.02, "failureRate": 0.01 }
 *     }
 *   }
 */
import * as z from 'zod/mini';
import '../shared/jobs/zod';

const rate = z.number().check(z.minimum(0), z.maximum(1));
const positive = z.number().check(z.positive());

const jobTypeWorkload = z.strictObject({
  /** Mean arrivals per second (Poisson). */
  arrivalsPerSecond: z.number().check(z.minimum(0)),
  /** Jobs submitted at once on top of the steady rate (e.g. a nightly import): how long they take to drain. */
  burst: z.optional(z.number().check(z.int(), z.minimum(0))),
  /** The handler's duration: median and 99th percentile, in milliseconds. */
  durationMs: z.strictObject({ p50: positive, p99: positive }).check(z.refine((d) => d.p99 >= d.p50, { message: 'durationMs.p99 must be at least durationMs.p50' })),
  /** The payload's size in bytes (SQS bills each 64 KB of a message as a request; DynamoDB each 1 KB of an item as a write unit). */
  payloadBytes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(262_144)), 1024),
  /** Share of messages SQS delivers twice (at-least-once delivery, redrives): each costs a refused claim, never a second run. */
  duplicateRate: z._default(rate, 0),
  /** Share of attempts that fail and are retried (transient errors); a job fails for good after maxReceiveCount of them. */
  failureRate: z._default(rate, 0),
  /** How the job type records its effect: leased (one write to claim, one to complete) or transactional (one transaction). */
  kind: z._default(z.enum(['leased', 'transactional']), 'leased'),
  /**
   * How many limit keys (tenants, target hosts) the jobs spread over, evenly, for a job type with limits:
   * a limit counts per key. The default, 1, is the worst case: every job shares one count.
   */
  limitKeys: z._default(z.number().check(z.int(), z.minimum(1)), 1),
});

const workloadSchema = z.strictObject({ jobTypes: z.record(z.string(), jobTypeWorkload) });

export type JobTypeWorkload = z.infer<typeof jobTypeWorkload>;
export type Workload = z.infer<typeof workloadSchema>;

/** Parses a workload file's text; throws an Error naming every problem (`source` names the file in it). */
export function parseWorkload(text: string, source = 'the workload'): Workload {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const parsed = z.safeParse(workloadSchema, json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`${source} is not a valid workload:\n  - ${problems.join('\n  - ')}`);
  }
  return parsed.data;
}
