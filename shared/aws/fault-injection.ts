/**
 * Fault injection for the chaos suite (test/chaos). Deployed bundles do not contain it (see
 * infra/jobline-function.ts); where it is compiled in, it is inert unless the process runs under jobline's
 * local runtime (JOBLINE_LOCAL_RUNTIME=1) with JOBLINE_FAULTS set.
 *
 * DynamoDB faults sit in the SDK's middleware stack, below its retry and deserializer middleware: the
 * SDK sees a real throttling or 5xx answer, retries it as it would in AWS, and surfaces it when its
 * attempts run out. Every injected fault prints one `fault injected` log line, which the chaos suite counts.
 */
import { writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../config';
import { TransientError } from '../errors';

export interface FaultConfig {
  /** Share of DynamoDB requests answered with ThrottlingException before reaching DynamoDB. */
  dynamoThrottleRate?: number;
  /** Share of DynamoDB requests answered with a 500 before reaching DynamoDB. */
  dynamoServerErrorRate?: number;
  /** Share of DynamoDB requests applied by DynamoDB whose answer is replaced by a 500 (an ambiguous write). */
  dynamoLostResponseRate?: number;
  /** Share of job completions around which the process is killed (SIGKILL): after a transactional
   *  completion commits, or before a leased completion is sent (after the job's external effect). */
  killAtCompletionRate?: number;
  /** Share of handler runs that throw a transient error. */
  handlerErrorRate?: number;
  /** Share of handler runs that hang past their deadline (a handler timeout). */
  handlerHangRate?: number;
  /** Extra time every handler run takes, in milliseconds (lets short leases expire mid-job). */
  handlerDelayMs?: number;
  /** Lease length override in milliseconds (a lease that expires while its worker still runs). */
  leaseMs?: number;
  /** Share of submits whose API process is killed after the job record is written, before its message is sent. */
  killAfterSubmitPutRate?: number;
  /** Share of SQS SendMessage requests applied by SQS whose answer is replaced by a 500 (a lost answer). */
  sqsLostResponseRate?: number;
  /**
   * Share of handler runs on their message's last allowed receive (ApproximateReceiveCount at the queue's
   * maxReceiveCount, JOBLINE_MAX_RECEIVE_COUNT) whose process is killed (SIGKILL) before the handler runs:
   * a leased job is left RUNNING under a lease that runs out, and SQS parks its message in the DLQ on the
   * next receive, so only the sweeper can finish the job.
   */
  killOnLastReceiveRate?: number;
  /** Share of handler results replaced by a ~70 KB string: more than a job record keeps. */
  oversizedResultRate?: number;
}

let cached: FaultConfig | null | undefined;

export function faultConfig(): FaultConfig | null {
  if (cached !== undefined) return cached;
  const raw = process.env.JOBLINE_FAULTS;
  cached = process.env.JOBLINE_LOCAL_RUNTIME === '1' && raw ? (JSON.parse(raw) as FaultConfig) : null;
  return cached;
}

export function reportFault(fault: string, fields: Record<string, unknown> = {}): void {
  // Synchronous, so the line is out before a kill.
  writeSync(1, `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'fault injected', fault, ...fields })}\n`);
}

const chance = (rate: number | undefined) => rate !== undefined && rate > 0 && Math.random() < rate;

function fakeResponse(statusCode: number, type: string, message: string) {
  const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
  return {
    response: {
      statusCode,
      reason: type,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault-injected' },
      body: Readable.from([Buffer.from(body)]),
    },
    output: { $metadata: {} },
  };
}

/** Completions are the only writes that carry a `:result` (see JobStore.completeLeased / completeTransactional). */
function completesAJob(input: unknown): boolean {
  type Values = { ExpressionAttributeValues?: Record<string, unknown> };
  const update = input as Values & { TransactItems?: { Update?: Values }[] };
  const values = update.ExpressionAttributeValues ?? update.TransactItems?.[0]?.Update?.ExpressionAttributeValues;
  return values !== undefined && ':result' in values;
}

/** A submit's put of a new job record (it carries the payload; no other put does). */
function createsAJob(input: unknown): boolean {
  const item = (input as { Item?: Record<string, unknown> }).Item;
  return item !== undefined && 'payloadHash' in item && 'owner' in item;
}

/** SQS faults: a SendMessage that reached the queue but whose answer is lost. */
export function addSqsFaultInjection(client: { middlewareStack: DynamoDBClient['middlewareStack'] }, config: FaultConfig | null = faultConfig()): void {
  if (!config?.sqsLostResponseRate) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SendMessageCommand' && chance(config.sqsLostResponseRate)) {
        reportFault('sqs-lost-response', { command: context.commandName });
        throw Object.assign(new Error('SendMessage answer lost after the message was queued (injected)'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      }
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'joblineSqsFaultInjection' },
  );
}

export function addFaultInjection(client: DynamoDBClient, config: FaultConfig | null = faultConfig()): void {
  if (!config) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (chance(config.dynamoThrottleRate)) {
        reportFault('throttle', { command });
        return fakeResponse(400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput (injected).');
      }
      if (chance(config.dynamoServerErrorRate)) {
        reportFault('server-error', { command });
        return fakeResponse(500, 'InternalServerError', 'Internal server error (injected).');
      }
      const completion = completesAJob(args.input);
      const kill = completion && chance(config.killAtCompletionRate);
      if (kill && command === 'UpdateItemCommand') {
        reportFault('kill', { command, when: 'after the effect, before the completion' });
        process.kill(process.pid, 'SIGKILL');
      }
      const result = await next(args);
      if (command === 'PutItemCommand' && createsAJob(args.input) && chance(config.killAfterSubmitPutRate)) {
        reportFault('kill', { command, when: 'after the submit wrote the job record, before its message was sent' });
        process.kill(process.pid, 'SIGKILL');
      }
      if (kill && command === 'TransactWriteItemsCommand') {
        reportFault('kill', { command, when: 'after the completion committed, before the acknowledgement' });
        process.kill(process.pid, 'SIGKILL');
      }
      if (chance(config.dynamoLostResponseRate)) {
        reportFault('lost-response', { command });
        return fakeResponse(500, 'InternalServerError', 'Answer lost after the request was applied (injected).');
      }
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'joblineFaultInjection' },
  );
}

/**
 * Handler faults, before the handler runs: a kill on the message's last allowed receive, a slow start, a
 * transient error, or a hang past the deadline.
 */
export async function injectHandlerFaults(config: FaultConfig, job: { jobId: string; attempt: number }, signal: AbortSignal): Promise<void> {
  const { jobId } = job;
  const maxReceiveCount = Number(process.env[ENV.maxReceiveCount]);
  if (maxReceiveCount > 0 && job.attempt >= maxReceiveCount && chance(config.killOnLastReceiveRate)) {
    reportFault('kill', { jobId, attempt: job.attempt, when: 'on the last allowed receive, after the claim, before the handler' });
    process.kill(process.pid, 'SIGKILL');
  }
  if (config.handlerDelayMs) await new Promise((resolve) => setTimeout(resolve, config.handlerDelayMs));
  if (chance(config.handlerErrorRate)) {
    reportFault('handler-error', { jobId });
    throw new TransientError('injected transient handler error');
  }
  if (chance(config.handlerHangRate)) {
    reportFault('handler-timeout', { jobId });
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A result larger than a job record keeps (MAX_RESULT_BYTES, 64 KiB): about 70 KB of JSON. */
const OVERSIZED_RESULT_BYTES = 70 * 1024;

/**
 * Result faults, after the handler returned: on a share of runs the result is replaced by a ~70 KB string.
 * A transactional handler returns `{ result, writes }`: only its `result` is replaced (its writes still
 * commit); any other value (a leased handler's) is replaced whole.
 */
export function injectResultFaults<R>(config: FaultConfig, value: R, jobId: string): R {
  if (!chance(config.oversizedResultRate)) return value;
  reportFault('oversized-result', { jobId, bytes: OVERSIZED_RESULT_BYTES });
  const oversized = 'x'.repeat(OVERSIZED_RESULT_BYTES);
  if (value !== null && typeof value === 'object' && 'result' in value && Array.isArray((value as { writes?: unknown }).writes)) {
    return { ...value, result: oversized };
  }
  return oversized as R;
}
