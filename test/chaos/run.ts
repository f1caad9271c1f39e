/**
 * `npm run test:chaos`: the local stack under injected faults, then the invariants.
 *
 * Faults: every job's message delivered one to three times; workers killed (SIGKILL of the execution
 * environment) between a job's effect and its completion; leases that expire mid-job (slow webhook targets
 * and short leases) so another worker claims the job; DynamoDB throttling, 5xx and lost answers on a share
 * of calls (in the SDK middleware stack, shared/aws/fault-injection.ts); handler timeouts; transient
 * handler errors. Workload: CHAOS_JOBS jobs (default 10,000) through the HTTP API.
 *
 * Prints one summary line and exits non-zero when an invariant breaks. CHAOS_SEED replays a workload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { FaultConfig } from '../../shared/aws/fault-injection';
import { encodeMessage, jobIdOf } from '../../shared/jobs/message';
import { jobTypesOf } from '../../local/live-view';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { scanItems } from '../../local/scan';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { Prng } from '../support/prng';
import { checkInvariants, type ObservedJob } from './invariants';
import { buildWorkload, type ChaosJob } from './workload';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const JOBS = env('CHAOS_JOBS', 10_000);
const SEED = env('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31));
const DEADLINE = Date.now() + env('CHAOS_TIMEOUT_SECONDS', 540) * 1000;
const SUBMIT_CONCURRENCY = 32;

const FAULTS: FaultConfig = {
  dynamoThrottleRate: 0.03,
  dynamoServerErrorRate: 0.01,
  dynamoLostResponseRate: 0.01,
  // Per completion request; a group commit completes a whole batch, so one kill takes up to ten jobs down.
  killAtCompletionRate: 0.02,
  handlerErrorRate: 0.03,
  handlerHangRate: 0.003,
  // Short enough to run out under slow targets (1.2 s), long enough that a busy machine's stalls (up to
  // LEASE_SLACK_MS) do not look like two workers holding one lease.
  leaseMs: 1000,
};
// Short timeouts so that batches of killed or timed-out workers come back within seconds (visibility
// timeout = 6 x 3 s), a short backoff, and room for the retries the faults cause.
const QUEUE = { timeoutSeconds: 3, maxReceiveCount: 8, backoff: { baseSeconds: 1, maxSeconds: 4 } };

const log = (message: string) => console.log(`[chaos ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`);
const started = Date.now();
const random = new Prng(SEED ^ 0x5eed);

async function main(): Promise<number> {
  log(`seed=${SEED} jobs=${JOBS} faults=${JSON.stringify(FAULTS)}`);
  const receiver = await startWebhookReceiver();
  receiver.respond = async (request) => {
    if (request.url?.startsWith('/reject')) return 422;
    // Some targets are slow: longer than the 1 s lease, so a duplicate delivery can take the job over.
    if (random.next() < 0.05) await new Promise((resolve) => setTimeout(resolve, 1200));
    return random.next() < 0.02 ? 503 : 200;
  };
  const faults = new Map<string, number>();
  const assemblyDir = mkdtempSync(path.join(tmpdir(), 'jobline-chaos-'));
  const runtime = await startLocalRuntime({
    assemblyDir,
    // A test build: the same source, with the fault injection compiled in (deployed bundles leave it out).
    appOptions: { queueOverrides: { transfer: QUEUE, webhook: QUEUE }, logLevel: 'warn', faultInjection: true },
    port: 0,
    functionEnvironment: { JOBLINE_FAULTS: JSON.stringify(FAULTS) },
    onFunctionLog: (_fn, line) => {
      if (!line.includes('"fault injected"')) return;
      const fault = (JSON.parse(line) as { fault: string }).fault;
      faults.set(fault, (faults.get(fault) ?? 0) + 1);
    },
    onEvent: (m) => log(m),
  });
  try {
    const jobs = buildWorkload({ jobs: JOBS, webhookShare: 0.2, poisonShare: 0.02, accounts: 200, receiverUrl: receiver.url, seed: SEED });
    const { ids, unsubmitted, retries, duplicates } = await submitAll(runtime, jobs);
    log(`submitted ${ids.size} jobs (${retries} submit retries after 5xx, ${unsubmitted} given up), and ${duplicates} duplicate deliveries`);
    const statuses = await waitForQuiescence(runtime, ids.size);
    const observation = {
      jobs: jobs.flatMap((job): ObservedJob[] => {
        const jobId = ids.get(job.key);
        if (!jobId) return [];
        return [{ jobId, type: job.kind, status: statuses.get(jobId) ?? 'MISSING', ...(job.kind === 'transfer' ? { transfer: job.payload } : {}) }];
      }),
      unsubmitted,
      balances: await balances(runtime),
      deadLettered: await deadLetteredJobIds(runtime),
      webhookCalls: receiver.calls,
      webhookIntervals: receiver.intervals,
      leaseMs: FAULTS.leaseMs,
    };
    const verdict = checkInvariants(observation);
    const f = (name: string) => faults.get(name) ?? 0;
    log(`faults injected: ${JSON.stringify(Object.fromEntries(faults))}; poison webhooks: ${jobs.filter((j) => j.kind === 'webhook' && j.poison).length}`);
    console.log(
      `chaos: jobs=${observation.jobs.length + unsubmitted} duplicates=${duplicates} kills=${f('kill')} throttles=${f('throttle')} lost=${verdict.lost} double_applied=${verdict.doubleApplied} failed=${verdict.failed} dlq=${verdict.failedInDlq} webhook_calls_per_key=${verdict.webhookCallsPerKey.toFixed(3)}`,
    );
    console.log(`chaos: webhook calls under a live lease=${verdict.concurrentUnderLease} ledger_sum=${verdict.ledgerSum} lease_ms=${FAULTS.leaseMs}`);
    for (const problem of verdict.problems) console.log(`  INVARIANT BROKEN: ${problem}`);
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${SEED})`);
    return verdict.problems.length === 0 && verdict.failed === verdict.failedInDlq ? 0 : 1;
  } finally {
    await runtime.stop();
    await receiver.close();
    rmSync(assemblyDir, { recursive: true, force: true });
  }
}

/**
 * Submits every job with its Idempotency-Key, retrying 5xx answers as a careful client would, and right
 * after each accepted submit delivers the job's message again 0-2 times (at-least-once delivery: one to
 * three deliveries in all), so that copies race the original through the workers.
 */
async function submitAll(runtime: LocalRuntime, jobs: readonly ChaosJob[]) {
  const queues = new Map(jobTypesOf(runtime).map((t) => [t.type, t.queueUrl]));
  const ids = new Map<string, string>();
  let unsubmitted = 0;
  let retries = 0;
  let duplicates = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        for (let attempt = 1; ; attempt++) {
          const response = await fetch(`${runtime.apiUrl}/jobs/${job.kind}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': job.key },
            body: JSON.stringify(job.payload),
          }).catch(() => undefined);
          if (response?.status === 202) {
            const jobId = ((await response.json()) as { jobId: string }).jobId;
            ids.set(job.key, jobId);
            // Not `duplicates += await ...`: that reads the total before the await and loses other lanes' adds.
            const copies = await deliverAgain(runtime, queues.get(job.kind)!, job, jobId);
            duplicates += copies;
            break;
          }
          await response?.arrayBuffer();
          if (attempt >= 20 || (response && response.status < 500)) {
            unsubmitted++;
            log(`gave up submitting ${job.key}: ${response?.status ?? 'no answer'}`);
            break;
          }
          retries++;
          await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
        }
      }
    }),
  );
  return { ids, unsubmitted, retries, duplicates };
}

/** Sends 0-2 more copies of a job's message (FIFO copies get their own deduplication ids). */
async function deliverAgain(runtime: LocalRuntime, queueUrl: string, job: ChaosJob, jobId: string): Promise<number> {
  const copies = Math.floor(random.next() * 3);
  if (copies === 0) return 0;
  const body = encodeMessage(jobId, job.kind, job.payload);
  const { Successful } = await runtime.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: Array.from({ length: copies }, (_, c) => ({
        Id: String(c),
        MessageBody: body,
        // A copy travels in a message group of its own: in the original's group, SQS's FIFO lock would hand
        // it out only after the original, and it would never race the original through the workers.
        ...(job.kind === 'transfer' ? { MessageGroupId: `${job.payload.from}-copy-${c + 1}`, MessageDeduplicationId: `${jobId}-copy-${c + 1}` } : {}),
      })),
    }),
  );
  return Successful?.length ?? 0;
}

async function jobStatuses(runtime: LocalRuntime): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const tableName of runtime.tables.values()) {
    const scan = { TableName: tableName, FilterExpression: 'begins_with(pk, :job)', ProjectionExpression: 'jobId, #status', ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':job': { S: 'JOB#' } } };
    for await (const item of scanItems(runtime.dynamodb, scan)) statuses.set(item.jobId!.S!, item.status!.S!);
  }
  return statuses;
}

/** Waits until every job is final and the job queues are empty (no delivery left to run), or the deadline. */
async function waitForQuiescence(runtime: LocalRuntime, expected: number): Promise<Map<string, string>> {
  const queueUrls = jobTypesOf(runtime).map((t) => t.queueUrl);
  let statuses = new Map<string, string>();
  for (let round = 0; ; round++) {
    statuses = await jobStatuses(runtime);
    const final = [...statuses.values()].filter((s) => s === 'SUCCEEDED' || s === 'FAILED').length;
    let queued = 0;
    for (const url of queueUrls) {
      const { Attributes } = await runtime.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      queued += Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    if (round % 5 === 0) log(`${final}/${expected} jobs final, ${queued} messages still queued or in flight`);
    if ((final === expected && queued === 0) || Date.now() > DEADLINE) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function balances(runtime: LocalRuntime): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const tableName of runtime.tables.values()) {
    const scan = { TableName: tableName, FilterExpression: 'begins_with(pk, :account)', ExpressionAttributeValues: { ':account': { S: 'ACCOUNT#' } } };
    for await (const item of scanItems(runtime.dynamodb, scan)) result.set(item.pk!.S!.slice('ACCOUNT#'.length), Number(item.balance?.N ?? 0));
  }
  return result;
}

/** Drains every DLQ and returns the job ids of the messages parked there. */
async function deadLetteredJobIds(runtime: LocalRuntime): Promise<Set<string>> {
  const parked = new Set<string>();
  for (const { dlqUrl } of jobTypesOf(runtime)) {
    for (;;) {
      const { Messages } = await runtime.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
      if (!Messages?.length) break;
      for (const m of Messages) {
        const jobId = m.MessageAttributes?.['jobline-job-id']?.StringValue ?? jobIdOf(m.Body ?? '');
        if (jobId) parked.add(jobId);
      }
      await runtime.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  }
  return parked;
}

process.exitCode = await main().catch((error) => {
  console.error(error);
  return 1;
});
