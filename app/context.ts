/**
 * The app's CDK context settings (`cdk synth -c key=value`), validated with the same schema library as job
 * payloads: a typo or a wrong value is an error that lists what is valid, never a silent default.
 * Keys with a colon or an `@` (CDK's own, e.g. `aws:cdk:…`, `@aws-cdk/…` feature flags) are not ours.
 */
import * as z from 'zod/mini';
import '../shared/jobs/zod';
import type { QueueOptions } from '../shared/jobs/define';

const QUEUE_OPTION_KEYS = ['batchSize', 'batchingWindowSeconds', 'timeoutSeconds', 'maxReceiveCount', 'maxConcurrency', 'backoff', 'memoryMb'] as const;

const int = () => z.number().check(z.int());
const queueOverride = z.strictObject({
  batchSize: z.optional(int()),
  batchingWindowSeconds: z.optional(int()),
  timeoutSeconds: z.optional(int()),
  maxReceiveCount: z.optional(int()),
  maxConcurrency: z.optional(int()),
  backoff: z.optional(z.strictObject({ baseSeconds: z.optional(z.number()), maxSeconds: z.optional(z.number()) })),
  memoryMb: z.optional(int()),
});

const limitOverride = z.strictObject({
  concurrency: z.optional(int()),
  rate: z.optional(z.strictObject({ perSecond: z.number(), burst: z.optional(int()) })),
});

const contextSchema = z.strictObject({
  stackName: z.optional(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name: letters, digits and dashes, starting with a letter'))),
  authorization: z.optional(z.enum(['iam', 'none'])),
  alarmTopicArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, 'an SNS topic ARN'))),
  logLevel: z.optional(z.enum(['debug', 'info', 'warn', 'error'])),
  retentionDays: z.optional(z.coerce.number().check(z.int())),
  queueOverrides: z.optional(z.record(z.string(), queueOverride)),
  /** Per job type, limit numbers that replace the declared ones (the key stays): `{"webhook":{"rate":{"perSecond":5}}}`. */
  limitOverrides: z.optional(z.record(z.string(), limitOverride)),
});

export type ContextSettings = z.infer<typeof contextSchema>;
export const CONTEXT_KEYS = Object.keys(contextSchema.def.shape);

/**
 * Reads and checks the app's own context keys. `jobTypes` are the names queue overrides may use. Throws an
 * Error that names every problem and what would be valid.
 */
export function parseContext(context: Record<string, unknown>, jobTypes: readonly string[]): ContextSettings {
  const ours: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(context)) {
    if (key.includes(':') || key.startsWith('@')) continue;
    if (!CONTEXT_KEYS.includes(key)) unknown.push(key);
    else ours[key] = value;
  }
  const problems: string[] = unknown.map((key) => `unknown context key "${key}" (valid: ${CONTEXT_KEYS.join(', ')})`);
  for (const key of ['queueOverrides', 'limitOverrides']) {
    if (typeof ours[key] !== 'string') continue;
    try {
      ours[key] = JSON.parse(ours[key]);
    } catch (error) {
      problems.push(`${key} is not JSON (given ${String(ours[key])}): ${error instanceof Error ? error.message : String(error)}`);
      delete ours[key];
    }
  }
  const parsed = z.safeParse(contextSchema, ours);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`context ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}${optionsHint(issue.path)}`);
  }
  for (const key of ['queueOverrides', 'limitOverrides'] as const) {
    for (const name of Object.keys((parsed.success ? parsed.data[key] : undefined) ?? {})) {
      if (!jobTypes.includes(name)) problems.push(`${key} names job type "${name}", which this app does not have (job types: ${jobTypes.join(', ')})`);
    }
  }
  if (problems.length > 0) throw new Error(`invalid CDK context:\n  - ${problems.join('\n  - ')}`);
  return parsed.success ? parsed.data : {};
}

function optionsHint(path: readonly PropertyKey[]): string {
  return path[0] === 'queueOverrides' && path.length === 2 ? ` (queue options: ${QUEUE_OPTION_KEYS.join(', ')})` : '';
}

export type QueueOverrides = Readonly<Record<string, Partial<Omit<QueueOptions, 'fifo'>>>>;
