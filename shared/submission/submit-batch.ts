/**
 * A batch submit: up to 100 jobs in one call, each with its own payload, Idempotency-Key, delay and
 * callback URL, and each with its own outcome, exactly the one `submitJob` would have given it. What a
 * batch saves is round trips, not checks: the records' conditional puts go in transactions of up to 100
 * (SubmissionStore.createMany: a DynamoDB batch write cannot be conditional; a transaction cancelled by
 * replayed keys says which, and goes again without them), and the messages go 10 to a SendMessageBatch
 * call instead of one SendMessage per job. An entry the queue
 * refuses, or a call whose outcome is unknown, leaves its jobs recorded with `queued: false`: the sweeper
 * sends them, as it does for a single submit.
 */
import { reasonOf } from '../errors';
import type { JobRecord } from '../store/job-record';
import {
  countAccepted,
  messageOf,
  prepareJob,
  recordedOutcome,
  sendJobMessage,
  type PreparedJob,
  type QueueTarget,
  type SubmissionDeps,
  type SubmitOutcome,
  type SubmitRequest,
} from './submit-job';

/** The most jobs one batch submit takes. */
export const MAX_BATCH_JOBS = 100;
/** SendMessageBatch takes 10 entries, and 1 MiB in all. */
const SEND_BATCH_ENTRIES = 10;
const SEND_BATCH_BYTES = 1024 * 1024;

/** The outcomes of `requests`, in their order. */
export async function submitJobs(deps: SubmissionDeps, requests: readonly SubmitRequest[]): Promise<SubmitOutcome[]> {
  if (requests.length > MAX_BATCH_JOBS) throw new RangeError(`a batch submit takes at most ${MAX_BATCH_JOBS} jobs, not ${requests.length}`);
  const outcomes = new Array<SubmitOutcome>(requests.length);
  const toSend: { index: number; prepared: PreparedJob; job: JobRecord; replayed: boolean }[] = [];
  const toRecord: { index: number; prepared: PreparedJob }[] = [];
  requests.forEach((request, index) => {
    const prepared = prepareJob(deps, request);
    if (prepared.kind === 'prepared') toRecord.push({ index, prepared });
    else outcomes[index] = prepared;
  });
  const created = await deps.store.createMany(toRecord.map((r) => r.prepared.job));
  toRecord.forEach(({ index, prepared }, i) => {
    const recorded = recordedOutcome(prepared, created[i]!);
    if (recorded.kind === 'to_send') toSend.push({ index, prepared, job: recorded.job, replayed: recorded.replayed });
    else outcomes[index] = recorded;
  });
  // In the order of the request, so that a FIFO group's jobs are sent in the order they were given.
  toSend.sort((a, b) => a.index - b.index);
  const byQueue = new Map<string, typeof toSend>();
  for (const entry of toSend) byQueue.set(entry.prepared.queue.url, [...(byQueue.get(entry.prepared.queue.url) ?? []), entry]);
  for (const entries of byQueue.values()) {
    const queue = entries[0]!.prepared.queue;
    for (const chunk of sendChunks(queue, entries, (deps.now ?? Date.now)())) {
      const queued = await sendChunk(deps, queue, chunk);
      for (const [i, e] of chunk.entries()) {
        e.prepared.log.info('job submitted', { payloadBytes: e.job.payloadBytes, replay: e.replayed, queued: queued[i], batch: true });
        outcomes[e.index] = { kind: 'accepted', job: e.job, replayed: e.replayed, queued: queued[i]! };
      }
    }
  }
  for (const outcome of outcomes) countAccepted(deps, outcome);
  return outcomes;
}

/** Whether each job of a chunk is on its queue: one SendMessageBatch, or one SendMessage each without it. */
async function sendChunk(deps: SubmissionDeps, queue: QueueTarget, chunk: readonly { prepared: PreparedJob; job: JobRecord }[]): Promise<boolean[]> {
  if (!deps.sendBatch) return Promise.all(chunk.map((e) => sendJobMessage(deps, queue, e.job, e.prepared.log)));
  const now = (deps.now ?? Date.now)();
  try {
    const refused = await deps.sendBatch(
      queue,
      chunk.map((e, i) => ({ id: String(i), ...messageOf(queue, e.job, now) })),
    );
    for (const i of refused) chunk[Number(i)]?.prepared.log.warn("the queue refused the job's message; the sweeper will send it");
    return chunk.map((_, i) => !refused.has(String(i)));
  } catch (error) {
    for (const e of chunk) e.prepared.log.warn("could not send the job's message; the sweeper will send it", { reason: reasonOf(error) });
    return chunk.map(() => false);
  }
}

/** Groups of at most 10 messages and 1 MiB. */
function sendChunks<T extends { job: JobRecord }>(queue: QueueTarget, entries: readonly T[], now: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(messageOf(queue, entry.job, now).body);
    if (current.length === SEND_BATCH_ENTRIES || (current.length > 0 && bytes + size > SEND_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
