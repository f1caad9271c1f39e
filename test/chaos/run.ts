/**
 * `npm run test:chaos`: the local stack under injected faults, then the invariants.
 *
 * Faults: every job's message delivered one to three times; workers killed (SIGKILL of the execution
 * environment) between a job's effect and its completion, and on a message's last allowed receive (the
 * job's lease runs out and SQS parks the message: only the sweeper can finish the job); leases that expire
 * mid-job (slow webhook targets and short leases) so another worker claims the job; DynamoDB throttling,
 * 5xx and lost answers on a share of calls (in the SDK middleware stack, shared/aws/fault-injection.ts);
 * the API killed after a submit wrote its record and before it sent the message, and SQS SendMessage
 * answers lost after the message was queued; handler timeouts; transient handler errors; oversized results.
 * The sweeper runs every 2 s with a short stale time (sweepAfter 5 s, grace 3 s).
 *
 * Workload: about CHAOS_JOBS jobs in all (default 10,000) through the HTTP API, by clients that retry 5xx
 * with the same Idempotency-Key (a few give up when the API crashes under them: their jobs are recorded,
 * and only the sweeper can send them). Meanwhile:
 * - raw DLQ redrives (StartMessageMoveTask) every few seconds, while clients resubmit FAILED jobs under new
 *   keys or retry them (POST /jobs/{id}/retry), then send a stale copy of the generation-1 message;
 * - forged messages naming real jobs with another payload, and messages of a generation that does not exist
 *   (a worker must park them in the DLQ, never run them, and leave their jobs alone);
 * - a second caller submitting some of the first caller's keys with another payload.
 *
 * DLQ accounting with redrives on: a redrive moves a FAILED job's DLQ copy back to its queue, where it is
 * dropped, so the copy is gone by the end of the run. Before each redrive the redriver reads every message
 * of the DLQ (and notes the job id, generation and payload hash its body names), makes them visible again,
 * and starts a move task limited to that many messages, which it cancels once they are moved: only messages
 * it has read are moved (the emulator hands out the oldest first; `redrive_unseen` counts any that were
 * not). Forged messages parked there are discarded, not redriven, as an operator would. A FAILED job counts
 * as dead-lettered when a message of its own (id, generation, payload hash) was read there, before a
 * redrive or in the final drain; `lost` counts every job neither SUCCEEDED nor so.
 *
 * Prints the summary lines and exits non-zero when an invariant breaks. CHAOS_SEED replays a workload.
 * CHAOS_SWEEP=off runs without the sweeper's schedule (to show that `stuck` can fail).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import type { FaultConfig } from '../../shared/aws/fault-injection';
import { decodeMessage, encodeMessage } from '../../shared/jobs/message';
import { payloadHash } from '../../shared/jobs/payload-hash';
import { NOTIFY_ENV } from '../../shared/notify/config';
import { verifySignature } from '../../shared/notify/signature';
import { rateLimitKey } from '../../shared/limits/rate-limit';
import { webhookType } from '../../app/jobs/webhook/type';
import { fromItem, MAX_HISTORY_KEPT, type HistoryEntry } from '../../shared/store/job-record';
import { TERMINAL_STATUSES } from '../../shared/store/job-states';
import { jobTypesOf } from '../../local/live-view';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { scanItems } from '../../local/scan';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { Prng } from '../support/prng';
import {
  checkInvariants,
  RATE_WINDOW_MS,
  deadLetteredJobs,
  notificationGaps,
  type ObservedNotice,
  type CrossCallerProbe,
  type DeadLetterSighting,
  type ObservedJob,
  type WatchedJob,
} from './invariants';
import { startChaosReceiver } from './receivers';
import { buildWorkload, type ChaosJob, type TransferPayload, type WebhookJob } from './workload';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
/**
 * Jobs in all: the first caller's workload, the second caller's submits of some of its keys (~5%), the
 * resubmissions of FAILED jobs (~1%) and the bursts past the limits (BURSTS x BURST_JOBS). The first
 * caller's workload is sized so that the total comes to about 1% more than this (printed as `jobs=`).
 */
const JOBS = env('CHAOS_JOBS', 10_000);
const SEED = env('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31));
/**
 * When the harness stops waiting for the run to be quiet (what is still open then counts as stuck). Not a
 * speed claim: a run takes about 4.5 minutes here (273 s in the clean-clone CI of 2026-12-07), but on a
 * starved host (a clean-clone CI run on 2026-12-04: 426 worker timeouts in its first 350 s against 31 in a
 * whole run an hour earlier, the same code) its submits alone took over 9 minutes, and a 9-minute deadline
 * cut it off with jobs still running.
 */
const DEADLINE = Date.now() + env('CHAOS_TIMEOUT_SECONDS', 900) * 1000;
const SUBMIT_CONCURRENCY = 32;
/**
 * Clients hold back while the job queues have more than this many messages waiting for a worker: the
 * workload then comes as fast as this machine's workers take it, not as fast as the API accepts it (a job
 * that waits in a queue only ages its retries' budget, and the API's load starves the workers).
 */
const BACKLOG_LIMIT = 300;
const SWEEPER_ON = process.env.CHAOS_SWEEP !== 'off';

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
  // The API dies between the record and the send; SendMessage answers lost after the message was queued.
  killAfterSubmitPutRate: 0.01,
  sqsLostResponseRate: 0.015,
  // Only messages that used up their receives get there: the always-unavailable targets'.
  killOnLastReceiveRate: 0.5,
  oversizedResultRate: 0.01,
};
// Short timeouts so that batches of killed or timed-out workers come back within seconds (visibility
// timeout = 6 x 3 s), a short backoff, and room for the retries the faults cause. Four environments per
// worker, not the job types' ten: on two cores, twenty worker processes (with the API's eight, the
// emulators and this harness) starve each other past their 3 s timeouts on a slow host, and every timeout
// costs ten records a receive and a cold start: a run with one core kept busy (2026-12-06) had 1,776
// timeouts, 2,089 cold starts in 2,737 webhook invocations, and 1,553 jobs FAILED on receives used up.
const QUEUE = { timeoutSeconds: 3, maxReceiveCount: 8, maxConcurrency: 4, backoff: { baseSeconds: 1, maxSeconds: 4 } };
// The sweeper every 2 s; a job is stale after 18 s (visibility) + 4 s (backoff) + 3 s (grace) = 25 s.
const SWEEP = { intervalSeconds: 2, after: Duration.seconds(5), grace: Duration.seconds(3) };
const REDRIVE_EVERY_MS = 4000;
/**
 * The webhook type's limits for the run (a deployment's override of its declared 100/s per host): low enough
 * to bind. Every webhook host is a limit key: the main receiver's, whose backlog waves go over them now and
 * then, and a second receiver's, which gets bursts of BURST_JOBS jobs in one batch submit each, one burst
 * fast targets (the rate binds) and the next slow ones (the concurrency binds: 16 calls of 800 ms at once).
 * Concurrency 16, not less: with 8 at once the workers cannot call faster than the rate even with no rate
 * limit, and the rate's invariant could not fail (checked on 2026-12-07, docs/limits.md).
 */
const LIMITS = { rate: { perSecond: 20, burst: 10 }, concurrency: 16 };
const BURSTS = 6;
/** 100 a burst in the 10,000-job run; part of CHAOS_JOBS (the first caller's workload is that much smaller). */
const BURST_JOBS = Math.max(10, Math.round(JOBS / 100));
// The second caller's probes and the follow-ups add about 4.5% to the first caller's jobs.
const FIRST_CALLER_JOBS = Math.ceil((JOBS - BURSTS * BURST_JOBS) / 1.045);
const BURST_EVERY_MS = 25_000;
/**
 * With every queue empty and no job moving for this long, the jobs left are stuck: the sweeper acts on a
 * job at most a stale time (25 s) after its last progress, plus a sweep interval.
 */
const STALL_MS = 50_000;
/** The second caller: a SigV4 Authorization header (the local gateway takes the key id, and checks no signature). */
const CALLER_B = `AWS4-HMAC-SHA256 Credential=CALLERB/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=${'5b'.repeat(32)}`;

const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
const log = (message: string) => console.log(`[chaos ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`);
const started = Date.now();
const random = new Prng(SEED ^ 0x5eed);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the harness learns as it goes. */
interface Run {
  runtime: LocalRuntime;
  receiverUrl: string;
  queues: Map<string, string>;
  /** Every job id a client was given, with what the harness knows of it. */
  known: Map<string, { type: string; transfer?: TransferPayload }>;
  /** Idempotency-Keys of submits abandoned when the API crashed (their records are found at the end). */
  abandoned: Map<string, ChaosJob>;
  watched: Map<string, WatchedJob & { job: WebhookJob; nextPollAt: number; done: boolean }>;
  forged: { victims: string[]; messageIds: string[]; bodies: Set<string> };
  stale: string[];
  /** Stale copy (message id) → its job, for the report. */
  staleJobs: Map<string, string>;
  probes: CrossCallerProbe[];
  /** Delayed jobs' run times (epoch ms, from the submit's answer). */
  delayed: Map<string, number>;
  /** The callback receiver's base URL, and the jobs submitted with a Callback-Url. */
  callbackUrl: string;
  withCallback: Set<string>;
  /** Jobs of the bursts past the limits (batch submits to the second receiver). */
  burstJobs: string[];
  /** Jobs cancelled right after their submit, and whether they were retried then. */
  cancelled: Map<string, { retried: boolean }>;
  counts: { unsubmitted: number; retries: number; duplicates: number; resubmitted: number; retried: number; retryAnswersLost: number; gen7: number; crashes: number };
}

async function main(): Promise<number> {
  log(`seed=${SEED} jobs=${JOBS} sweeper=${SWEEPER_ON ? `every ${SWEEP.intervalSeconds} s` : 'OFF'} faults=${JSON.stringify(FAULTS)}`);
  // Webhook targets in processes of their own (receivers.ts): the main one, and the bursts' target, another
  // host, so another limit key (paths /burst/fast/... and /burst/slow/...).
  const receiver = await startChaosReceiver('main', SEED ^ 0xface);
  const burstReceiver = await startChaosReceiver('burst');
  let deferrals = 0;
  // Completion callbacks go to a receiver of their own; `/cb/flaky/` paths answer their first delivery 503.
  const callbackReceiver = await startCallbackReceiver();
  callbackReceiver.statusFor = (at, nth) => (at.startsWith('/cb/flaky/') && nth === 1 ? 503 : 200);
  const faults = new Map<string, number>();
  const oversized = new Set<string>();
  const dropped = new Set<string>();
  const parked = new Set<string>();
  const functionLines: string[] = [];
  let apiKills = 0;
  let lastReceiveKills = 0;
  const assemblyDir = mkdtempSync(path.join(tmpdir(), 'jobline-chaos-'));
  const runtime = await startLocalRuntime({
    assemblyDir,
    eventsFile: path.join(assemblyDir, 'events.jsonl'),
    // A test build: the same source, with the fault injection compiled in (deployed bundles leave it out).
    appOptions: {
      queueOverrides: { transfer: QUEUE, webhook: QUEUE },
      limitOverrides: { webhook: LIMITS },
      logLevel: 'warn',
      faultInjection: true,
      sweepAfter: SWEEP.after,
      sweepGrace: SWEEP.grace,
    },
    port: 0,
    functionEnvironment: { JOBLINE_FAULTS: JSON.stringify(FAULTS) },
    // Off: a timer that does not fire in the run (Node's timers take at most 2^31 - 1 ms: ~24.8 days).
    scheduleIntervalSeconds: SWEEPER_ON ? SWEEP.intervalSeconds : 1_000_000,
    onFunctionLog: (fn, line) => {
      functionLines.push(`${fn} ${line}`);
      const deferred = /"JobsDeferred":(\d+)/.exec(line);
      if (deferred) deferrals += Number(deferred[1]);
      if (line.includes('"fault injected"')) {
        const entry = JSON.parse(line) as { fault: string; command?: string; when?: string; jobId?: string };
        faults.set(entry.fault, (faults.get(entry.fault) ?? 0) + 1);
        if (entry.fault === 'kill' && entry.command === 'PutItemCommand') apiKills++;
        if (entry.fault === 'kill' && entry.when?.startsWith('on the last allowed receive')) lastReceiveKills++;
        if (entry.fault === 'oversized-result' && entry.jobId) oversized.add(entry.jobId);
      } else if (line.includes('"message dropped without running"')) {
        const entry = JSON.parse(line) as { messageId?: string };
        if (entry.messageId) dropped.add(entry.messageId);
      } else if (line.includes('"job failed permanently; parking its message in the DLQ"')) {
        const entry = JSON.parse(line) as { messageId?: string };
        if (entry.messageId) parked.add(entry.messageId);
      }
    },
    onEvent: (m) => log(m),
  });
  try {
    const jobs = buildWorkload({
      jobs: FIRST_CALLER_JOBS,
      webhookShare: 0.2,
      poisonShare: 0.02,
      rejectOnceShare: 0.075,
      retryShare: 0.4,
      unavailableShare: 0.03,
      earlyFraction: 0.4,
      forgeShare: { transfer: 0.006, webhook: 0.03 },
      gen7Share: 0.5,
      callerBShare: 0.05,
      abandonShare: 0.5,
      cancelShare: 0.03,
      delayShare: 0.05,
      callbackShare: 0.1,
      accounts: 200,
      callerBAccounts: 50,
      receiverUrl: receiver.url,
      seed: SEED,
    });
    const run: Run = {
      runtime,
      receiverUrl: receiver.url,
      queues: new Map(jobTypesOf(runtime).map((t) => [t.type, t.queueUrl])),
      known: new Map(),
      abandoned: new Map(),
      watched: new Map(),
      forged: { victims: [], messageIds: [], bodies: new Set() },
      stale: [],
      staleJobs: new Map(),
      probes: [],
      delayed: new Map(),
      cancelled: new Map(),
      callbackUrl: callbackReceiver.url,
      withCallback: new Set(),
      burstJobs: [],
      counts: { unsubmitted: 0, retries: 0, duplicates: 0, resubmitted: 0, retried: 0, retryAnswersLost: 0, gen7: 0, crashes: 0 },
    };
    const redriver = await startRedriver(runtime, run.forged.bodies);
    const watcher = startWatcher(run);
    const submitting = submitAll(run, jobs);
    const bursts = sendBursts(run, burstReceiver.url, submitting);
    await submitting;
    await bursts;
    const c = run.counts;
    log(
      `submitted ${run.known.size} jobs (${c.retries} client retries after 5xx, ${c.unsubmitted} given up, ${run.abandoned.size} abandoned when the API crashed), ` +
        `${c.duplicates} duplicate deliveries, ${run.forged.messageIds.length} forged messages, ${run.probes.length} second-caller submits`,
    );
    await watcher.followUpsDone();
    log(
      `follow-ups done: ${c.resubmitted} FAILED jobs resubmitted under new keys, ${c.retried} retried (${c.retryAnswersLost} of them answered 409 though applied: a lost answer)`,
    );
    await redriver.stop();
    log(`redriver stopped after ${redriver.stats.tasks} move tasks (${redriver.stats.moved} messages moved, ${redriver.stats.skipped} rounds skipped)`);
    await waitForQuiescence(runtime);
    await watcher.stop();

    const records = await jobRecords(runtime);
    const drained = await drainDeadLetterQueues(runtime, run.forged.bodies);
    const sightings = [...redriver.sightings, ...drained.sightings];
    // Abandoned submits: their records are found by their key (the client never learned the id).
    const byKey = new Map<string, JobRow[]>();
    for (const r of records.values()) if (r.idempotencyKey) byKey.set(r.idempotencyKey, [...(byKey.get(r.idempotencyKey) ?? []), r]);
    let abandonedUnrecorded = 0;
    for (const [key, job] of run.abandoned) {
      const found = (byKey.get(key) ?? []).filter((r) => r.type === job.kind && !run.known.has(r.jobId));
      if (found.length === 0) abandonedUnrecorded++;
      for (const r of found) {
        run.known.set(r.jobId, { type: job.kind, ...(job.kind === 'transfer' ? { transfer: job.payload } : {}) });
        if (job.callback) run.withCallback.add(r.jobId);
      }
    }
    // Every job a client was given, and every record (a record no client knows of must be terminal too).
    const observed: ObservedJob[] = [];
    for (const id of new Set([...run.known.keys(), ...records.keys()])) {
      const k = run.known.get(id);
      const r = records.get(id);
      const transfer = k?.transfer ?? (r?.type === 'transfer' && r.payload ? (JSON.parse(r.payload) as TransferPayload) : undefined);
      observed.push({
        jobId: id,
        type: k?.type ?? r?.type ?? 'unknown',
        status: r?.status ?? 'MISSING',
        ...(transfer ? { transfer: { from: transfer.from, to: transfer.to, amount: transfer.amount } } : {}),
        ...(r ? { generation: r.generation, payloadHash: r.payloadHash } : {}),
        ...(r?.finishedAt ? { finishedAt: Date.parse(r.finishedAt) } : {}),
        ...(r ? { terminals: r.history.filter((h) => (TERMINAL_STATUSES as ReadonlySet<string>).has(h.state)).map((h) => ({ state: h.state, generation: h.generation })) } : {}),
        ...(r && r.history.length >= MAX_HISTORY_KEPT ? { historyCut: true } : {}),
        ...(run.withCallback.has(id) ? { callback: true } : {}),
      });
    }
    const watched = [...run.watched.values()].map(({ jobId, failedAt, followUp }): WatchedJob => ({ jobId, failedAt, followUp }));
    // Job ids are unique across the two receivers: their calls are one record.
    const receivers = await Promise.all([receiver, burstReceiver].map(async (r) => ({ url: r.url, ...(await r.collect()) })));
    const observation = {
      jobs: observed,
      unsubmitted: c.unsubmitted,
      balances: await balances(runtime),
      deadLettered: deadLetteredJobs(observed, sightings),
      webhookCalls: new Map(receivers.flatMap((r) => [...r.calls])),
      webhookIntervals: new Map(receivers.flatMap((r) => [...r.intervals])),
      leaseMs: FAULTS.leaseMs,
      calls: receivers.flatMap((r) => r.log),
      limits: {
        ...LIMITS,
        hosts: receivers.map((r) => ({ host: new URL(r.url).host, callTimes: r.log.map((call) => call.at), intervals: [...r.intervals.values()].flat() })),
        deferrals,
        burstJobs: run.burstJobs,
      },
      watched,
      forged: run.forged,
      stale: run.stale,
      dropped,
      parked,
      crossCaller: run.probes,
      oversized,
      delayed: run.delayed,
      cancelled: run.cancelled,
      ...(await settledNotifications(runtime, observed, callbackReceiver)),
    };
    const verdict = checkInvariants(observation);
    // The webhook type's declared per-host rate: every chaos webhook calls the one receiver, so its host's
    // rate item must exist (the limiter gated those calls, under the same faults as everything else).
    const rateItem = await rateLimitItem(runtime, rateLimitKey(webhookType.name, new URL(receiver.url).host));
    if (rateItem === undefined) verdict.problems.push(`no rate-limit item for the webhook receiver's host: the limiter never ran`);
    const f = (name: string) => faults.get(name) ?? 0;
    const targets = (t: string) => jobs.filter((j) => j.kind === 'webhook' && j.target === t).length;
    log(`faults injected: ${JSON.stringify(Object.fromEntries(faults))}`);
    log(
      `event loop delay: harness p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms; ` +
        `webhook receivers (their own processes, which stamp the calls) max ${receivers.map((r) => r.maxLoopDelayMs.toFixed(0)).join(' and ')} ms`,
    );
    log(
      `functions: ${[...runtime.functions.values()].map((p) => `${p.spec.name.replace(/Function[0-9A-F]+$/, '')} ${p.stats.invocations} invocations, ${p.stats.coldStarts} cold starts`).join('; ')}`,
    );
    log(
      `webhook targets: ${targets('reject')} poison, ${targets('reject-once')} reject-once, ${targets('unavailable')} unavailable, ${targets('flaky')} flaky (forged at); ` +
        `${abandonedUnrecorded} abandoned submits left no record; workers dropped ${dropped.size} messages and parked ${parked.size}`,
    );
    console.log(
      `chaos: jobs=${observation.jobs.length + c.unsubmitted} duplicates=${c.duplicates} kills=${f('kill') - apiKills} throttles=${f('throttle')} lost=${verdict.lost} double_applied=${verdict.doubleApplied} failed=${verdict.failed} dlq=${verdict.failedInDlq} webhook_calls_per_key=${verdict.webhookCallsPerKey.toFixed(3)}`,
    );
    console.log(
      `chaos: redrives=${redriver.stats.tasks} redrive_reruns=${verdict.redriveReruns} resubmitted=${c.resubmitted} retried=${c.retried} forged=${run.forged.messageIds.length} forged_ran=${verdict.forgedRan} oversized=${oversized.size} stuck=${verdict.stuck} cross_caller=${verdict.crossCaller} lost_sends=${f('sqs-lost-response')} api_kills=${apiKills}`,
    );
    const perHost = verdict.limitedHosts.map((h) => `${h.host} ${h.calls} calls, at most ${h.maxInWindow} in ${RATE_WINDOW_MS} ms and ${h.maxInFlight} at once`).join('; ');
    console.log(
      `chaos: limits: webhook ${LIMITS.rate.perSecond}/s (burst ${LIMITS.rate.burst}) and ${LIMITS.concurrency} at once per host; deferrals=${deferrals} burst_jobs=${run.burstJobs.length} ` +
        `limited_failed=${verdict.limitedFailed} rate_over=${verdict.rateOver} concurrency_over=${verdict.concurrencyOver}; ${perHost}; main host's next slot ${rateItem === undefined ? '-' : new Date(rateItem).toISOString()}`,
    );
    console.log(`chaos: webhook calls under a live lease=${verdict.concurrentUnderLease} ledger_sum=${verdict.ledgerSum} lease_ms=${FAULTS.leaseMs}`);
    console.log(
      `chaos: forged_refused=${run.forged.messageIds.length - verdict.forgedUnrefused}/${run.forged.messageIds.length} (gen 7: ${c.gen7}) stale_dropped=${run.stale.length - verdict.staleUndropped}/${run.stale.length} ` +
        `retried_wrong=${verdict.retriedWrong} oversized_failed=${verdict.oversizedFailed} last_receive_kills=${lastReceiveKills} abandoned=${run.abandoned.size} ` +
        `delayed=${run.delayed.size} delayed_early=${verdict.delayedEarly} cancelled=${run.cancelled.size} cancelled_ran=${verdict.cancelledRan} cancelled_wrong=${verdict.cancelledWrong} ` +
        `cross_caller_probes=${run.probes.length} redrive_moved=${redriver.stats.moved} redrive_unseen=${redriver.stats.unseen} dlq_sightings=${sightings.length} forged_in_dlq=${redriver.stats.forgedDiscarded + drained.forged}`,
    );
    const retriedCallbacks = callbackReceiver.requests.filter((r) => r.status !== 200).length;
    console.log(
      `chaos: events=${observation.events.length} events_missing=${verdict.eventsMissing} events_wrong=${verdict.eventsWrong} ` +
        `callbacks=${observation.callbacks.length} callbacks_missing=${verdict.callbacksMissing} callbacks_wrong=${verdict.callbacksWrong} ` +
        `callback_jobs=${run.withCallback.size} callbacks_refused_once=${retriedCallbacks}`,
    );
    for (const problem of verdict.problems) console.log(`  INVARIANT BROKEN: ${problem}`);
    const stuck = observed.filter((j) => j.status === 'PENDING' || j.status === 'RUNNING');
    if (stuck.length > 0) {
      // What the sweeper knows of them: their index entries, and how far each shard's cursor has walked.
      log(`sweep cursors: ${(await sweepCursors(runtime)).join(' ')}; now=${Date.now()}`);
      for (const j of stuck.slice(0, 10)) log(`stuck ${j.jobId} ${j.status}: ${records.get(j.jobId)?.detail}`);
    }
    if (verdict.problems.length > 0) {
      const staleLeft = run.stale.filter((id) => !dropped.has(id));
      if (staleLeft.length > 0) console.log(`  stale copies not dropped, by job: ${staleLeft.map((id) => `${id} → ${run.staleJobs.get(id)}`).join(', ')}`);
      reportLines(functionLines, [...verdict.problems, ...staleLeft.map((id) => run.staleJobs.get(id) ?? '')]);
    }
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${SEED})`);
    return verdict.problems.length === 0 && verdict.failed === verdict.failedInDlq ? 0 : 1;
  } finally {
    await runtime.stop();
    await receiver.close();
    await burstReceiver.close();
    await callbackReceiver.close();
    rmSync(assemblyDir, { recursive: true, force: true });
  }
}

/** Every function log line to a file, and the lines of the jobs the broken invariants name to the console. */
function reportLines(lines: readonly string[], problems: readonly string[]): void {
  const file = path.join(tmpdir(), `jobline-chaos-${SEED}-functions.log`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`  function logs (${lines.length} lines, level warn and up): ${file}`);
  const ids = [...new Set(problems.join(' ').match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [])].slice(0, 4);
  for (const id of ids) {
    const mine = lines.filter((l) => l.includes(id));
    console.log(`  log lines of job ${id} (${mine.length}):`);
    for (const l of mine.slice(0, 25)) console.log(`    ${l}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Clients

interface Answer {
  status: number;
  body?: { jobId?: string; status?: string; finishedAt?: string; generation?: number; runAt?: string; error?: { code?: string; details?: { status?: string } } };
  /** The gateway's answer when the function crashed under the request (here: an injected API kill). */
  crashed: boolean;
}

async function call(
  run: Run,
  method: 'GET' | 'POST',
  route: string,
  options: { key?: string; body?: unknown; authorization?: string; callbackUrl?: string } = {},
): Promise<Answer> {
  try {
    const response = await fetch(`${run.runtime.apiUrl}${route}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.key !== undefined ? { 'idempotency-key': options.key } : {}),
        ...(options.authorization ? { authorization: options.authorization } : {}),
        ...(options.callbackUrl ? { 'callback-url': options.callbackUrl } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    let body: Answer['body'];
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      body = undefined;
    }
    return { status: response.status, body, crashed: response.status === 500 && text === '{"message":"Internal Server Error"}' };
  } catch {
    return { status: 0, crashed: false };
  }
}

/**
 * A careful client: retries 5xx and connection errors (same request, same Idempotency-Key) up to 20 times.
 * With `abandonOnCrash`, a client that sees the API crash under its request gives up instead.
 */
async function withRetries(run: Run, send: () => Promise<Answer>, options: { abandonOnCrash?: boolean } = {}): Promise<Answer & { attempts: number; abandoned?: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send();
    if (answer.status !== 0 && answer.status < 500) return { ...answer, attempts: attempt };
    if (answer.crashed) run.counts.crashes++;
    if (answer.crashed && options.abandonOnCrash) return { ...answer, attempts: attempt, abandoned: true };
    if (attempt >= 20) return { ...answer, attempts: attempt };
    run.counts.retries++;
    await sleep(20 * attempt);
  }
}

/**
 * Submits every job with its Idempotency-Key, retrying 5xx answers as a careful client would, and right
 * after each accepted submit delivers the job's message again 0-2 times (at-least-once delivery: one to
 * three deliveries in all), so that copies race the original through the workers. Then, for some jobs:
 * forged messages naming it, the second caller's submit of its key, and a watch until it FAILED.
 */
async function submitAll(run: Run, jobs: readonly ChaosJob[]): Promise<void> {
  let next = 0;
  const backlog = watchBacklog(run);
  await Promise.all(
    Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
      while (next < jobs.length) {
        await backlog.below(BACKLOG_LIMIT);
        if (next >= jobs.length) break;
        const job = jobs[next++]!;
        // A job to cancel waits long enough for its cancel to come first (its early copies are held back).
        const delay = job.cancel ? 60 : job.delaySeconds;
        const route = `/jobs/${job.kind}${delay !== undefined ? `?delay=${delay}` : ''}`;
        const callbackUrl = job.callback ? `${run.callbackUrl}/cb/${job.callback}/${job.key}` : undefined;
        const answer = await withRetries(run, () => call(run, 'POST', route, { key: job.key, body: job.payload, callbackUrl }), { abandonOnCrash: job.abandonOnCrash });
        if (answer.abandoned) {
          run.abandoned.set(job.key, job);
          continue;
        }
        if (answer.status !== 202 || !answer.body?.jobId) {
          run.counts.unsubmitted++;
          log(`gave up submitting ${job.key}: ${answer.status || 'no answer'}`);
          continue;
        }
        const jobId = answer.body.jobId;
        run.known.set(jobId, { type: job.kind, ...(job.kind === 'transfer' ? { transfer: job.payload } : {}) });
        if (job.callback) run.withCallback.add(jobId);
        if (job.delaySeconds !== undefined && typeof answer.body.runAt === 'string') run.delayed.set(jobId, Date.parse(answer.body.runAt));
        // Not `duplicates += await ...`: that reads the total before the await and loses other lanes' adds.
        const copies = await deliverAgain(run, job, jobId);
        run.counts.duplicates += copies;
        if (job.forge) await sendForged(run, job, jobId);
        if (job.callerB) await probeCallerB(run, job, jobId);
        if (job.cancel) await cancelThenMaybeRetry(run, job, jobId);
        if (job.kind === 'webhook' && (job.target === 'reject' || job.target === 'reject-once' || job.target === 'unavailable')) {
          run.watched.set(jobId, { jobId, job, nextPollAt: Date.now() + 1000, done: false });
        }
      }
    }),
  ).finally(() => backlog.stop());
  if (backlog.heldMs > 0) log(`clients held back ${(backlog.heldMs / 1000).toFixed(0)} client-seconds in all while the job queues had over ${BACKLOG_LIMIT} messages waiting`);
}

/**
 * The bursts: every BURST_EVERY_MS while the clients submit (the rest at once when they are done first),
 * BURST_JOBS webhooks to the second receiver in one batch submit, retried on 5xx with the same keys. Their
 * targets always answer 2xx, so every one of them must end SUCCEEDED, however long the limits hold it.
 */
async function sendBursts(run: Run, burstUrl: string, submitting: Promise<void>): Promise<void> {
  let submitted = false;
  void submitting.finally(() => (submitted = true)).catch(() => undefined);
  const begun = Date.now();
  for (let burst = 0; burst < BURSTS; burst++) {
    while (!submitted && Date.now() < begun + (burst + 1) * BURST_EVERY_MS) await sleep(200);
    const speed = burst % 2 === 0 ? 'fast' : 'slow';
    const jobs = Array.from({ length: BURST_JOBS }, (_, j) => ({
      payload: { url: `${burstUrl}/burst/${speed}/${burst}/${j}`, body: { burst, j }, timeoutSeconds: 10 },
      idempotencyKey: `burst-${SEED}-${burst}-${j}`,
    }));
    const answer = await withRetries(run, () => call(run, 'POST', '/jobs/webhook/batch', { body: { jobs } }));
    const results = (answer.body as { results?: { httpStatus: number; jobId?: string }[] } | undefined)?.results ?? [];
    for (const r of results) {
      if (r.httpStatus >= 300 || !r.jobId) continue;
      run.known.set(r.jobId, { type: 'webhook' });
      run.burstJobs.push(r.jobId);
    }
    const refused = BURST_JOBS - results.filter((r) => r.httpStatus < 300 && r.jobId).length;
    if (refused > 0) {
      run.counts.unsubmitted += refused;
      log(`burst ${burst}: ${refused} of ${BURST_JOBS} jobs not accepted (answer ${answer.status})`);
    }
  }
}

/** The job queues' waiting messages (ApproximateNumberOfMessages), read twice a second. */
function watchBacklog(run: Run) {
  let waiting = 0;
  let stopped = false;
  const state = { heldMs: 0 };
  const loop = (async () => {
    while (!stopped) {
      try {
        const counts = await Promise.all(
          [...run.queues.values()].map(async (url) => {
            const { Attributes } = await run.runtime.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
            return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
          }),
        );
        waiting = counts.reduce((a, b) => a + b, 0);
      } catch {
        // A failed read keeps the last count.
      }
      await sleep(500);
    }
  })();
  return {
    get heldMs() {
      return state.heldMs;
    },
    /** Resolves once the backlog is at most `limit` (at once, when it is). */
    async below(limit: number) {
      const since = Date.now();
      while (waiting > limit && !stopped) await sleep(100);
      state.heldMs += Date.now() - since;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * The client cancels the job right after submitting it (a 200 CANCELLED, retried on 5xx); for `retry`, it
 * then retries it at once: the job must run once, in generation 2, while the early copies of its
 * generation-1 message are dropped.
 */
async function cancelThenMaybeRetry(run: Run, job: ChaosJob, jobId: string): Promise<void> {
  const cancelled = await withRetries(run, () => call(run, 'POST', `/jobs/${jobId}/cancel`));
  // 409 CANCELLED: an earlier try of this cancel was applied and its answer lost.
  const done = (cancelled.status === 200 && cancelled.body?.status === 'CANCELLED') || (cancelled.status === 409 && cancelled.body?.error?.details?.status === 'CANCELLED');
  if (!done) {
    log(`cancel of ${jobId} answered ${cancelled.status} ${JSON.stringify(cancelled.body)}`);
    return;
  }
  if (job.cancel === 'keep') {
    run.cancelled.set(jobId, { retried: false });
    return;
  }
  const retried = await withRetries(run, () => call(run, 'POST', `/jobs/${jobId}/retry`));
  // A retry whose answer was lost and came back 409 PENDING was applied: the job is in generation 2.
  if (retried.status === 202 || (retried.status === 409 && retried.body?.error?.details?.status !== 'CANCELLED')) run.cancelled.set(jobId, { retried: true });
  else log(`retry of cancelled ${jobId} answered ${retried.status}`);
}

/** Sends 0-2 more copies of a job's message (FIFO copies get their own deduplication ids). */
async function deliverAgain(run: Run, job: ChaosJob, jobId: string): Promise<number> {
  const copies = Math.floor(random.next() * 3);
  if (copies === 0) return 0;
  const body = encodeMessage(jobId, job.kind, job.payload);
  const { Successful } = await run.runtime.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: run.queues.get(job.kind)!,
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

/**
 * Messages put on the job's queue by hand, in the documented format, naming the real job: one with another
 * payload (a transfer to or from the account `forged-<n>`, a webhook to `/forged/<n>`), and for some jobs
 * one of generation 7 (which the job never reaches) with its real payload. Not the job's own messages: each
 * must be refused (parked in the DLQ with the reason) and run nothing, and the job must end as it would have.
 */
async function sendForged(run: Run, job: ChaosJob, jobId: string): Promise<void> {
  const n = job.forge!.n;
  const forgedPayload =
    job.kind === 'transfer'
      ? n % 2 === 0
        ? { from: `forged-${n}`, to: job.payload.to, amount: 7 }
        : { from: job.payload.from, to: `forged-${n}`, amount: 7 }
      : { url: `${run.receiverUrl}/forged/${n}`, body: { n, forged: true }, timeoutSeconds: 10 };
  const messages = [{ body: encodeMessage(jobId, job.kind, forgedPayload, 1), group: `forged-${n}` }];
  if (job.forge!.gen7) messages.push({ body: encodeMessage(jobId, job.kind, job.payload, 7), group: `forged-g7-${n}` });
  const { Successful } = await run.runtime.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: run.queues.get(job.kind)!,
      Entries: messages.map((m, i) => ({
        Id: String(i),
        MessageBody: m.body,
        ...(job.kind === 'transfer' ? { MessageGroupId: m.group, MessageDeduplicationId: m.group } : {}),
      })),
    }),
  );
  for (const ok of Successful ?? []) run.forged.messageIds.push(ok.MessageId!);
  for (const m of messages) run.forged.bodies.add(m.body);
  run.forged.victims.push(jobId);
  if (job.forge!.gen7) run.counts.gen7++;
}

/**
 * The second caller submits the first caller's key with another payload of the same type: it must get a
 * job of its own. Then it asks for the first caller's job: 404.
 */
async function probeCallerB(run: Run, job: ChaosJob, aJobId: string): Promise<void> {
  const b = await withRetries(run, () => call(run, 'POST', `/jobs/${job.kind}`, { key: job.key, body: job.callerB, authorization: CALLER_B }));
  const bJobId = b.status === 202 ? b.body?.jobId : undefined;
  if (bJobId && bJobId !== aJobId) run.known.set(bJobId, { type: job.kind, ...(job.kind === 'transfer' ? { transfer: job.callerB as TransferPayload } : {}) });
  const bGetOfA = await withRetries(run, () => call(run, 'GET', `/jobs/${aJobId}`, { authorization: CALLER_B }));
  run.probes.push({ key: job.key, aJobId, bStatus: b.status, bJobId, bGetOfA: bGetOfA.status });
}

/**
 * Clients of the jobs expected to fail poll them until they are FAILED (noting the record's finishedAt),
 * then act: a reject-once job is resubmitted under `<key>-again` with the same payload, or retried
 * (POST /jobs/{id}/retry) and a stale copy of its generation-1 message is sent after the retry.
 */
function startWatcher(run: Run) {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now();
      const due = [...run.watched.values()].filter((w) => !w.done && w.nextPollAt <= now);
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < due.length && !stopped) await poll(run, due[next++]!);
        }),
      );
      await sleep(250);
    }
  })();
  return {
    /** Resolves once every reject-once job has been followed up (resubmitted or retried). */
    async followUpsDone() {
      for (;;) {
        const open = [...run.watched.values()].filter((w) => !w.done && w.job.followUp);
        if (open.length === 0 || Date.now() > DEADLINE) return;
        await sleep(500);
      }
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function poll(run: Run, w: WatchedJob & { job: WebhookJob; nextPollAt: number; done: boolean }): Promise<void> {
  const answer = await call(run, 'GET', `/jobs/${w.jobId}`);
  const status = answer.status === 200 ? answer.body?.status : undefined;
  if (status === 'SUCCEEDED') {
    w.done = true;
    return;
  }
  if (status !== 'FAILED') {
    w.nextPollAt = Date.now() + (w.job.target === 'unavailable' ? 3000 : 1000);
    return;
  }
  w.failedAt = answer.body?.finishedAt ? Date.parse(answer.body.finishedAt) : Date.now();
  try {
    await followUp(run, w);
  } finally {
    w.done = true;
  }
}

async function followUp(run: Run, w: WatchedJob & { job: WebhookJob }): Promise<void> {
  if (w.job.followUp === 'resubmit') {
    const again = await withRetries(run, () => call(run, 'POST', '/jobs/webhook', { key: `${w.job.key}-again`, body: w.job.payload }));
    const againJobId = again.status === 202 ? again.body?.jobId : undefined;
    if (againJobId) {
      run.known.set(againJobId, { type: 'webhook' });
      run.counts.resubmitted++;
    } else {
      run.counts.unsubmitted++;
      log(`gave up resubmitting ${w.job.key}-again: ${again.status}`);
    }
    w.followUp = { action: 'resubmit', againJobId };
  } else if (w.job.followUp === 'retry') {
    const requestedAt = Date.now();
    const retried = await withRetries(run, () => call(run, 'POST', `/jobs/${w.jobId}/retry`));
    let accepted = retried.status === 202;
    if (retried.status === 409) {
      // Not FAILED any more: if the job is in generation 2, this client's retry was applied and its answer
      // lost (no one else retries it): the API answered 409 and did not send the message (the sweeper will).
      const now = await withRetries(run, () => call(run, 'GET', `/jobs/${w.jobId}`));
      accepted = now.status === 200 && (now.body?.generation ?? 1) >= 2;
      run.counts.retryAnswersLost += accepted ? 1 : 0;
    }
    w.followUp = { action: 'retry', requestedAt, accepted };
    if (!accepted) {
      log(`retry of ${w.jobId} was answered ${retried.status}`);
      return;
    }
    run.counts.retried++;
    // A leftover of generation 1 (a redrive or a late duplicate would look like this): it must be dropped.
    // Its JSON keys come in another order than the API's, so that a worker does not take it for a copy of
    // another gen-1 delivery in the same batch (identical bodies ride on the first one, without a log line).
    const body = JSON.stringify({ gen: 1, jobId: w.jobId, type: 'webhook', v: 1, payload: w.job.payload });
    const { Successful } = await run.runtime.sqs.send(new SendMessageBatchCommand({ QueueUrl: run.queues.get('webhook')!, Entries: [{ Id: '0', MessageBody: body }] }));
    for (const ok of Successful ?? []) {
      run.stale.push(ok.MessageId!);
      run.staleJobs.set(ok.MessageId!, w.jobId);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// DLQs

/** A DLQ message as a sighting of the job its body names (undecodable bodies name none). */
function sightingOf(message: Message): DeadLetterSighting | undefined {
  try {
    const m = decodeMessage(message.Body ?? '');
    return { jobId: m.jobId, generation: m.gen, payloadHash: payloadHash(m.payload) };
  } catch {
    return undefined;
  }
}

async function visibleMessages(runtime: LocalRuntime, queueUrl: string, visibilityTimeout: number): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages } = await runtime.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: visibilityTimeout,
        MessageAttributeNames: ['All'],
        AttributeNames: ['All'],
      }),
    );
    if (!Messages?.length) return all;
    all.push(...Messages);
  }
}

/**
 * Every few seconds, each DLQ's messages back to their queue with SQS's own redrive (StartMessageMoveTask),
 * as an operator would after fixing a bug. Each message moved is read first (see the header comment).
 */
async function startRedriver(runtime: LocalRuntime, forgedBodies: ReadonlySet<string>) {
  const arnOf = async (url: string) => (await runtime.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const pairs = await Promise.all(jobTypesOf(runtime).map(async (t) => ({ type: t.type, dlqUrl: t.dlqUrl, dlqArn: await arnOf(t.dlqUrl), queueArn: await arnOf(t.queueUrl) })));
  const stats = { tasks: 0, moved: 0, unseen: 0, skipped: 0, forgedDiscarded: 0 };
  const sightings: DeadLetterSighting[] = [];
  let stopped = false;

  const redrive = async (pair: (typeof pairs)[number]) => {
    const read = await visibleMessages(runtime, pair.dlqUrl, 30);
    for (const m of read) {
      const s = sightingOf(m);
      if (s) sightings.push(s);
    }
    // As an operator would, the forged messages parked there are discarded rather than redriven (they would
    // only be parked again, round after round).
    const forged = read.filter((m) => forgedBodies.has(m.Body ?? ''));
    for (let i = 0; i < forged.length; i += 10) {
      await runtime.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: pair.dlqUrl, Entries: forged.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }),
      );
    }
    stats.forgedDiscarded += forged.length;
    const messages = read.filter((m) => !forgedBodies.has(m.Body ?? ''));
    const { Attributes } = await runtime.sqs.send(new GetQueueAttributesCommand({ QueueUrl: pair.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    // Visible again, so the move task can take them.
    for (let i = 0; i < messages.length; i += 10) {
      await runtime.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: pair.dlqUrl,
          Entries: messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
        }),
      );
    }
    if (messages.length === 0) return;
    // The emulator's count includes messages in flight: all of them are the ones just read, unless a
    // message arrived meanwhile or could not be read (a FIFO group lock); then try again next round.
    if (Number(Attributes?.ApproximateNumberOfMessages ?? 0) !== messages.length) {
      stats.skipped++;
      return;
    }
    await runtime.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: pair.dlqArn, DestinationArn: pair.queueArn, MaxNumberOfMessagesPerSecond: Math.min(500, messages.length) }),
    );
    stats.tasks++;
    for (;;) {
      await sleep(100);
      const { Results } = await runtime.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: pair.dlqArn, MaxResults: 1 }));
      const task = Results?.[0];
      if (!task) return;
      const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
      if (task.Status === 'RUNNING' && moved >= messages.length && task.TaskHandle) {
        await runtime.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: task.TaskHandle })).catch(() => undefined);
        continue;
      }
      if (task.Status === 'RUNNING' || task.Status === 'CANCELLING') continue;
      stats.moved += moved;
      stats.unseen += Math.max(0, moved - messages.length);
      return;
    }
  };

  const loop = (async () => {
    while (!stopped) {
      for (const pair of pairs) {
        try {
          await redrive(pair);
        } catch (error) {
          log(`redrive of the ${pair.type} DLQ failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      for (let waited = 0; waited < REDRIVE_EVERY_MS && !stopped; waited += 250) await sleep(250);
    }
  })();
  return {
    stats,
    sightings,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Drains every DLQ and returns a sighting of each message parked there, and how many were forged. */
async function drainDeadLetterQueues(runtime: LocalRuntime, forgedBodies: ReadonlySet<string>): Promise<{ sightings: DeadLetterSighting[]; forged: number }> {
  const parked: DeadLetterSighting[] = [];
  let forged = 0;
  for (const { dlqUrl } of jobTypesOf(runtime)) {
    for (;;) {
      const { Messages } = await runtime.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
      if (!Messages?.length) break;
      for (const m of Messages) {
        const s = sightingOf(m);
        if (s) parked.push(s);
        if (forgedBodies.has(m.Body ?? '')) forged++;
      }
      await runtime.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  }
  return { sightings: parked, forged };
}

// ---------------------------------------------------------------------------------------------------------
// The end state

interface JobRow {
  jobId: string;
  type: string;
  status: string;
  generation: number;
  payloadHash: string;
  payload?: string;
  finishedAt?: string;
  idempotencyKey?: string;
  history: HistoryEntry[];
  /** For the report of a stuck job: its sweep and lease fields, as stored. */
  detail: string;
}

/**
 * The events on jobline's bus (the local EventBridge's events file) and the callbacks the receiver got
 * (with their signatures checked against the stack's secret), once every terminal state has its own or
 * the wait runs out: both are asynchronous (the table's stream, the notifier, the callback queue and its
 * backoff), so they may trail the jobs' last state by seconds.
 */
async function settledNotifications(
  runtime: LocalRuntime,
  jobs: readonly ObservedJob[],
  receiver: CallbackReceiver,
): Promise<{ events: ObservedNotice[]; callbacks: ObservedNotice[] }> {
  const secret = await callbackSecret(runtime);
  const read = () => ({
    events: readEvents(runtime.notifications.eventsFile),
    callbacks: receiver.requests
      .filter((r) => r.status === 200)
      .map((r): ObservedNotice => {
        const view = JSON.parse(r.body) as { jobId: string; status: string; generation?: number };
        return {
          jobId: view.jobId,
          status: view.status,
          generation: view.generation ?? 1,
          // Checked as the receiver would have when the request came (the signed time is within 5 minutes of it).
          signed: verifySignature(secret, r.headers['jobline-signature'] as string | undefined, r.body, { nowSeconds: Math.floor(r.at / 1000) }),
        };
      }),
  });
  const deadline = Math.min(DEADLINE, Date.now() + 120_000);
  for (let round = 0; ; round++) {
    const seen = read();
    const events = notificationGaps(jobs, seen.events, () => true);
    const callbacks = notificationGaps(jobs, seen.callbacks, (j) => j.callback === true);
    if ((events.missing === 0 && callbacks.missing === 0) || Date.now() > deadline) return seen;
    if (round % 10 === 0) log(`waiting for notifications: ${events.missing} terminal states without their event, ${callbacks.missing} without their callback`);
    await sleep(1000);
  }
}

/** The stack's callback secret, from the embedded Secrets Manager, as the callback worker reads it. */
async function callbackSecret(runtime: LocalRuntime): Promise<string> {
  const secretId = [...runtime.environments.values()].map((env) => env[NOTIFY_ENV.callbackSecret]).find(Boolean);
  if (!secretId) throw new Error('the chaos stack has no callback worker');
  const client = new SecretsManagerClient({
    region: runtime.region,
    endpoint: runtime.notifications.endpoints.secretsManager,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString!;
  } finally {
    client.destroy();
  }
}

/** jobline's events in the events file (one `{"bus", "event"}` line per event put on a bus). */
function readEvents(file: string | undefined): ObservedNotice[] {
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { event: { source: string; detail: { jobId: string; status: string; generation?: number } } }).event)
    .filter((event) => event.source === 'jobline')
    .map((event) => ({ jobId: event.detail.jobId, status: event.detail.status, generation: event.detail.generation ?? 1 }));
}

async function jobRecords(runtime: LocalRuntime): Promise<Map<string, JobRow>> {
  const rows = new Map<string, JobRow>();
  for (const tableName of runtime.tables.values()) {
    const scan = { TableName: tableName, FilterExpression: 'begins_with(pk, :job)', ExpressionAttributeValues: { ':job': { S: 'JOB#' } } };
    for await (const item of scanItems(runtime.dynamodb, scan)) {
      rows.set(item.jobId!.S!, {
        jobId: item.jobId!.S!,
        type: item.type!.S!,
        status: item.status!.S!,
        generation: Number(item.generation?.N ?? 1),
        payloadHash: item.payloadHash!.S!,
        payload: item.payload?.S,
        finishedAt: item.finishedAt?.S,
        idempotencyKey: item.idempotencyKey?.S,
        history: fromItem(item).history,
        detail: ['attempts', 'sweeps', 'sweepShard', 'sweepAt', 'updatedAt', 'leaseUntil', 'leaseOwner']
          .map((name) => `${name}=${item[name]?.S ?? item[name]?.N ?? '-'}`)
          .join(' '),
      });
    }
  }
  return rows;
}

/** The `tat` (next start slot, epoch ms) of a rate-limit item, if it exists in a table of the runtime. */
async function rateLimitItem(runtime: LocalRuntime, pk: string): Promise<number | undefined> {
  for (const tableName of runtime.tables.values()) {
    const { Item } = await runtime.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }));
    if (Item?.tat?.N) return Number(Item.tat.N);
  }
  return undefined;
}

/** The sweeper's cursor of each shard (`SWEEP#<shard>` items: swept up to). */
async function sweepCursors(runtime: LocalRuntime): Promise<string[]> {
  const cursors: string[] = [];
  for (const tableName of runtime.tables.values()) {
    const scan = { TableName: tableName, FilterExpression: 'begins_with(pk, :sweep)', ExpressionAttributeValues: { ':sweep': { S: 'SWEEP#' } } };
    for await (const item of scanItems(runtime.dynamodb, scan)) cursors.push(`${item.pk!.S!.slice('SWEEP#'.length)}=${item.sweptUntil?.N ?? '-'}`);
  }
  return cursors.sort();
}

async function jobStatuses(runtime: LocalRuntime): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const tableName of runtime.tables.values()) {
    const scan = {
      TableName: tableName,
      FilterExpression: 'begins_with(pk, :job)',
      ProjectionExpression: 'jobId, #status',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':job': { S: 'JOB#' } },
    };
    for await (const item of scanItems(runtime.dynamodb, scan)) statuses.set(item.jobId!.S!, item.status!.S!);
  }
  return statuses;
}

/**
 * Waits until every job is final, the job queues are empty (no delivery left to run) and no move task
 * runs; or until nothing has moved for STALL_MS with every queue empty (the jobs left are stuck); or the
 * deadline.
 */
async function waitForQuiescence(runtime: LocalRuntime): Promise<void> {
  const types = jobTypesOf(runtime);
  const dlqArns = await Promise.all(
    types.map(async (t) => (await runtime.sqs.send(new GetQueueAttributesCommand({ QueueUrl: t.dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!),
  );
  let lastOpen = '';
  let stillSince = Date.now();
  for (let round = 0; ; round++) {
    const statuses = await jobStatuses(runtime);
    const open = [...statuses].filter(([, s]) => s === 'PENDING' || s === 'RUNNING');
    let queued = 0;
    for (const { queueUrl } of types) {
      const { Attributes } = await runtime.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      queued += Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    let moving = 0;
    for (const arn of dlqArns) {
      const { Results } = await runtime.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn, MaxResults: 10 }));
      moving += (Results ?? []).filter((t) => t.Status === 'RUNNING' || t.Status === 'CANCELLING').length;
    }
    const signature = open
      .map(([id, s]) => `${id}:${s}`)
      .sort()
      .join(',');
    if (signature !== lastOpen || queued > 0 || moving > 0) {
      lastOpen = signature;
      stillSince = Date.now();
    }
    if (round % 5 === 0) log(`${statuses.size - open.length}/${statuses.size} jobs final, ${queued} messages still queued or in flight, ${moving} move tasks running`);
    if (open.length === 0 && queued === 0 && moving === 0) return;
    if (Date.now() - stillSince > STALL_MS) {
      log(`nothing moved for ${STALL_MS / 1000} s with every queue empty: ${open.length} jobs are stuck`);
      return;
    }
    if (Date.now() > DEADLINE) {
      log('deadline reached before the run was quiet');
      return;
    }
    await sleep(2000);
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

process.exitCode = await main().catch((error) => {
  console.error(error);
  return 1;
});
// After an early failure (e.g. the app did not synthesize) open handles such as esbuild's service would keep
// the process, and CI, waiting forever: exit once the output had a moment to drain.
setTimeout(() => process.exit(), 2000).unref();
