/**
 * What the sweeper knows of each job type, from one JSON environment variable (JOBLINE_SWEEP_TYPES) that
 * infra/ writes from the same queue options the workers get.
 */
import * as z from 'zod/mini';
import { ENV, requireEnv } from '../config';

const sweepType = z.object({
  queueUrl: z.string(),
  deadLetterQueueUrl: z.string(),
  fifo: z.boolean(),
  maxReceiveCount: z.number(),
  /** A job of this type that made no progress for this long is stale: its message is sent again. */
  staleSeconds: z.number(),
  /**
   * How long the queue keeps a message (its MessageRetentionPeriod): a job with no progress for longer has
   * no message left anywhere in it. Written by the same deployment as the sweeper's code, so always there.
   */
  retentionSeconds: z.number(),
});

export type SweepTypeConfig = z.infer<typeof sweepType>;
export type SweepConfig = Record<string, SweepTypeConfig>;

const sweepConfig = z.record(z.string(), sweepType);

export function sweepConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SweepConfig {
  const raw = requireEnv(ENV.sweepTypes, env);
  const parsed = z.safeParse(sweepConfig, JSON.parse(raw));
  if (!parsed.success) throw new Error(`${ENV.sweepTypes} is not a valid sweep configuration: ${parsed.error.message}`);
  return parsed.data;
}
