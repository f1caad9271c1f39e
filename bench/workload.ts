/**
 * The deliveries of one throughput run, built once and fed to both designs: the same jobs, the same
 * bodies, the same batches. Duplicates are extra deliveries of a job already in the stream: a third of
 * them inside the original's batch (a duplicate send), the rest 1-20 batches later (a redelivery).
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { encodeMessage } from '../shared/jobs/message';
import { toSqsRecord } from '../local/lambda/sqs-event';

export type Kind = 'transfer' | 'webhook';

export interface BenchJob {
  jobId: string;
  payload: Record<string, unknown>;
  body: string;
  /** transfer only: the amount moved from `a-<n>` to `b-<n>`, so each account is touched by one job. */
  amount?: number;
  from?: string;
  to?: string;
}

export interface Workload {
  kind: Kind;
  jobs: BenchJob[];
  batches: SQSRecord[][];
  records: number;
  inBatchDuplicates: number;
  laterDuplicates: number;
}

export const BATCH_SIZE = 10;
const LATER_SPREAD_BATCHES = 20;

/** A small seeded generator, so that a run can be repeated delivery for delivery. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildWorkload(options: { kind: Kind; records: number; duplicateShare: number; seed: number; receiverUrl: string }): Workload {
  const rand = random(options.seed);
  const duplicates = Math.round(options.records * options.duplicateShare);
  const unique = options.records - duplicates;
  const wantInBatch = Math.round(duplicates / 3);

  const jobs: BenchJob[] = Array.from({ length: unique }, (_, n) => makeJob(options.kind, `${options.seed}-${n}`, n, options.receiverUrl));
  const order = jobs.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const inBatch = new Set(order.slice(0, wantInBatch));
  const laterCount = new Map<number, number>();
  for (let d = 0; d < duplicates - wantInBatch; d++) {
    const i = Math.floor(rand() * unique);
    laterCount.set(i, (laterCount.get(i) ?? 0) + 1);
  }

  let seq = 0;
  const record = (job: BenchJob): SQSRecord => {
    const id = `${options.seed}-${seq++}`;
    const now = String(Date.now());
    const attributes: Record<string, string> = { ApproximateReceiveCount: '1', SentTimestamp: now, ApproximateFirstReceiveTimestamp: now, SenderId: 'bench' };
    // The transfer queue is FIFO, grouped by the source account, as the API sends it.
    if (job.from !== undefined) Object.assign(attributes, { MessageGroupId: job.from, MessageDeduplicationId: job.jobId, SequenceNumber: String(seq) });
    return toSqsRecord(
      { MessageId: `msg-${id}`, ReceiptHandle: `rh-${id}`, Body: job.body, Attributes: attributes },
      `arn:aws:sqs:us-east-1:000000000000:bench-${options.kind}`,
      'us-east-1',
    );
  };

  const batches: SQSRecord[][] = [];
  const pending: { job: BenchJob; due: number }[] = [];
  let next = 0;
  let inBatchDuplicates = 0;
  let laterDuplicates = 0;
  while (next < unique || pending.length > 0) {
    const b = batches.length;
    const batch: SQSRecord[] = [];
    // Redeliveries that are due come first; once the new jobs run out, whatever is left.
    for (let p = 0; p < pending.length && batch.length < BATCH_SIZE;) {
      if (pending[p]!.due <= b || next >= unique) {
        batch.push(record(pending[p]!.job));
        laterDuplicates++;
        pending.splice(p, 1);
      } else p++;
    }
    while (batch.length < BATCH_SIZE && next < unique) {
      const i = next++;
      const job = jobs[i]!;
      batch.push(record(job));
      if (inBatch.has(i)) {
        if (batch.length < BATCH_SIZE) {
          batch.push(record(job));
          inBatchDuplicates++;
        } else pending.push({ job, due: b + 1 });
      }
      for (let k = 0; k < (laterCount.get(i) ?? 0); k++) pending.push({ job, due: b + 1 + Math.floor(rand() * LATER_SPREAD_BATCHES) });
    }
    batches.push(batch);
  }
  return { kind: options.kind, jobs, batches, records: options.records, inBatchDuplicates, laterDuplicates };
}

function makeJob(kind: Kind, tag: string, n: number, receiverUrl: string): BenchJob {
  const jobId = randomUUID();
  if (kind === 'transfer') {
    const from = `a-${tag}`;
    const to = `b-${tag}`;
    const amount = 1 + (n % 997);
    const payload = { from, to, amount };
    return { jobId, payload, body: encodeMessage(jobId, 'transfer', payload), amount, from, to };
  }
  const payload = { url: `${receiverUrl}/hook`, body: { n, tag } };
  return { jobId, payload, body: encodeMessage(jobId, 'webhook', payload) };
}
