/**
 * Worker throughput, one scenario (a job kind and a duplicate share) at a time. Each round builds one
 * workload and runs it through both designs, alternating which goes first (AB, BA, ...), so that neither
 * always meets a fresher or a more tired DynamoDB Local. Counts are summed over the rounds; records/s is
 * reported per round, so that the report can take the median (robust to another process's burst of load).
 *
 * One run is one worker instance taking its batches one after another, as one Lambda execution
 * environment does. Records that a design reports as batch item failures come back afterwards, as SQS
 * would redeliver them, until none are left (at most a few passes); their cost is part of the run.
 */
import type { SQSRecord } from 'aws-lambda';
import { processCpuMs, selfCpuMs } from './cpu';
import type { Counts } from './round-trip-counter';
import { RequestCounter } from './round-trip-counter';
import type { Design, PreparedRun } from './designs';
import type { Check } from './verify';
import { BATCH_SIZE, buildWorkload, type Kind } from './workload';

export interface Scenario {
  kind: Kind;
  duplicateShare: number;
  /** Deliveries per design, over all rounds. */
  records: number;
  rounds: number;
}

export interface DesignTotals {
  records: number;
  seconds: number;
  counts: Counts;
  redelivered: number;
  unfinished: number;
  queueCalls: number;
  checks: Check[];
  /** Wall time of every invocation, in milliseconds. */
  batchMs: number[];
  /** records/s of each round: their median is the figure least moved by bursts of load from elsewhere. */
  roundRates: number[];
  /** CPU time spent during the timed runs by the worker process and by DynamoDB Local. */
  workerCpuMs: number;
  dynamodbCpuMs: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  inBatchDuplicates: number;
  laterDuplicates: number;
  designs: Record<string, DesignTotals>;
}

const REDELIVERY_PASSES = 5;

async function timedRun(run: PreparedRun, batches: SQSRecord[][]): Promise<{ seconds: number; redelivered: number; unfinished: number; batchMs: number[] }> {
  let redelivered = 0;
  const batchMs: number[] = [];
  let failed: SQSRecord[] = [];
  const start = performance.now();
  const runBatch = async (batch: SQSRecord[]) => {
    let ids: Set<string>;
    const began = performance.now();
    try {
      ids = new Set((await run.process(batch)).batchItemFailures.map((f) => f.itemIdentifier));
    } catch {
      // A thrown invocation (e.g. Powertools' FullBatchFailureError) fails the whole batch.
      ids = new Set(batch.map((r) => r.messageId));
    }
    batchMs.push(performance.now() - began);
    failed.push(...batch.filter((r) => ids.has(r.messageId)));
  };
  for (const batch of batches) await runBatch(batch);
  for (let pass = 0; pass < REDELIVERY_PASSES && failed.length > 0; pass++) {
    const again = failed.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: String(Number(r.attributes.ApproximateReceiveCount) + 1) } }));
    redelivered += again.length;
    failed = [];
    for (let i = 0; i < again.length; i += BATCH_SIZE) await runBatch(again.slice(i, i + BATCH_SIZE));
  }
  return { seconds: (performance.now() - start) / 1000, redelivered, unfinished: failed.length, batchMs };
}

function emptyTotals(): DesignTotals {
  return {
    records: 0,
    seconds: 0,
    counts: RequestCounter.empty(),
    redelivered: 0,
    unfinished: 0,
    queueCalls: 0,
    checks: [],
    batchMs: [],
    roundRates: [],
    workerCpuMs: 0,
    dynamodbCpuMs: 0,
  };
}

function add(into: Counts, from: Counts): void {
  into.requests += from.requests;
  into.wru += from.wru;
  into.rru += from.rru;
  for (const [command, n] of Object.entries(from.byCommand)) into.byCommand[command] = (into.byCommand[command] ?? 0) + n;
  for (const [command, ms] of Object.entries(from.msByCommand)) into.msByCommand[command] = (into.msByCommand[command] ?? 0) + ms;
}

export interface RunOptions {
  receiverUrl: string;
  seedBase: number;
  /** DynamoDB Local's JVM, for its CPU time. */
  dynamodbPid?: number;
  onProgress?: (line: string) => void;
}

export async function runScenario(scenario: Scenario, designs: readonly Design[], options: RunOptions): Promise<ScenarioResult> {
  const { receiverUrl, seedBase, onProgress = () => {} } = options;
  const totals: Record<string, DesignTotals> = Object.fromEntries(designs.map((d) => [d.name, emptyTotals()]));
  let inBatchDuplicates = 0;
  let laterDuplicates = 0;
  const perRound = Math.ceil(scenario.records / scenario.rounds);
  for (let round = 0; round < scenario.rounds; round++) {
    const workload = buildWorkload({ kind: scenario.kind, records: perRound, duplicateShare: scenario.duplicateShare, seed: seedBase + round, receiverUrl });
    inBatchDuplicates += workload.inBatchDuplicates;
    laterDuplicates += workload.laterDuplicates;
    const order = round % 2 === 0 ? designs : [...designs].reverse();
    for (const design of order) {
      const prepared = await design.prepare(workload);
      design.counter.take();
      const queueCallsBefore = design.queueCalls;
      const cpuBefore = { worker: selfCpuMs(), dynamodb: processCpuMs(options.dynamodbPid) };
      const timing = await timedRun(prepared, workload.batches);
      const counts = design.counter.take();
      const workerCpuMs = selfCpuMs() - cpuBefore.worker;
      const dynamodbCpuMs = processCpuMs(options.dynamodbPid) - cpuBefore.dynamodb;
      const check = await prepared.verify();
      await prepared.cleanup();

      const t = totals[design.name]!;
      t.records += workload.records;
      t.seconds += timing.seconds;
      t.redelivered += timing.redelivered;
      t.unfinished += timing.unfinished;
      t.queueCalls += design.queueCalls - queueCallsBefore;
      add(t.counts, counts);
      t.checks.push(check);
      t.batchMs.push(...timing.batchMs);
      t.roundRates.push(workload.records / timing.seconds);
      t.workerCpuMs += workerCpuMs;
      t.dynamodbCpuMs += dynamodbCpuMs;
      onProgress(
        `  ${scenario.kind} ${Math.round(scenario.duplicateShare * 100)}% dup, round ${round + 1}/${scenario.rounds}, ${design.name}: ` +
          `${(workload.records / timing.seconds).toFixed(0)} records/s, ${(counts.requests / workload.records).toFixed(2)} round trips/record, ` +
          `CPU ms/record worker ${(workerCpuMs / workload.records).toFixed(2)}, DynamoDB Local ${(dynamodbCpuMs / workload.records).toFixed(2)}, ` +
          `redelivered ${timing.redelivered}; ${check.ok ? 'OK' : 'WRONG'}: ${check.summary}`,
      );
    }
  }
  return { scenario, inBatchDuplicates, laterDuplicates, designs: totals };
}
