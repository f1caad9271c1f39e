/**
 * What can be done with a job type's dead-letter queue, through SQS (AWS SDK v3; locally the runtime's
 * emulator) and the HTTP API, without printing anything: depth, peek, redrive, purge. `jobline dlq`
 * (cli/commands/dlq.ts) prints and confirms around these; the dashboard (dashboard/server) runs them too.
 *
 * Peek receives messages with a visibility timeout long enough to page through them without seeing one
 * twice, then makes every one it received visible again at once (ChangeMessageVisibility 0). Each peek
 * counts as a receive on the DLQ message; a jobline DLQ has no redrive policy of its own, so nothing moves
 * on that count (redrivePolicyWarning says so when a DLQ does have one). The count that tells how often the
 * job's queue delivered it is the `jobline-receive-count` the worker wrote.
 *
 * Redrive re-runs jobs through the state machine, never by moving messages: for each parked message it
 * reads the job over the API and, when the job is FAILED or CANCELLED in the message's generation, calls
 * the job's explicit retry (POST /jobs/{id}/retry) and deletes the message. What it cannot vouch for stays:
 * no job id, a body that names another job than its attributes, a message the worker found not to match its
 * record (forged), a job that is gone, a job that is not FAILED or CANCELLED. A message of an earlier
 * generation (its job was retried since) is deleted: a queue redrive would deliver it to a worker that
 * drops it.
 *
 * FIFO DLQs (the transfer example): SQS hands out no more messages of a group while one of its messages is
 * in flight, so a peek shows at most the first 10 of each group, and a redrive makes each message it leaves
 * visible again at once, so it reaches what follows in the group.
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { decodeMessage } from '../shared/jobs/message';
import { ApiError, type ApiJobView } from '../shared/client/api-client';
import { apiOf, jobTypeOf, type JobTypeQueues, type Target } from './target';

const sqsModule = () => import('@aws-sdk/client-sqs');

export interface DlqDepth {
  type: string;
  dlqUrl: string;
  messages: number;
  inFlight: number;
}

export async function dlqDepth(sqs: SQSClient, t: Pick<JobTypeQueues, 'type' | 'dlqUrl'>): Promise<DlqDepth> {
  const { GetQueueAttributesCommand } = await sqsModule();
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: t.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { type: t.type, dlqUrl: t.dlqUrl, messages: Number(Attributes.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

export async function dlqDepths(target: Target): Promise<DlqDepth[]> {
  const sqs = await target.sqs();
  return Promise.all(target.jobTypes.map((t) => dlqDepth(sqs, t)));
}

/** A parked message as the CLI and the dashboard show it. */
export interface ParkedMessage {
  messageId: string;
  jobId?: string;
  reason?: string;
  /** How many times the job's queue had delivered it when it was parked (jobline-receive-count). */
  receives?: number;
  /** Who parked it: the worker, the sweeper (jobline-source), or SQS's own redrive (no jobline attributes). */
  source: string;
  sentAt?: string;
  type?: string;
  generation?: number;
  /** Why the body is not a job message, when it is not. */
  malformed?: string;
  body: string;
}

export function parked(message: Message): ParkedMessage {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const body = message.Body ?? '';
  let decoded: ReturnType<typeof decodeMessage> | undefined;
  let malformed: string | undefined;
  try {
    decoded = decodeMessage(body);
  } catch (error) {
    malformed = error instanceof Error ? error.message : String(error);
  }
  const reason = attribute('jobline-reason');
  const receives = attribute('jobline-receive-count');
  const sent = message.Attributes?.SentTimestamp;
  const jobId = attribute('jobline-job-id') ?? decoded?.jobId;
  return {
    messageId: message.MessageId ?? '',
    ...(jobId ? { jobId } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(receives !== undefined ? { receives: Number(receives) } : {}),
    source: attribute('jobline-source') ?? (reason !== undefined ? 'worker' : 'sqs redrive'),
    ...(sent ? { sentAt: new Date(Number(sent)).toISOString() } : {}),
    ...(decoded ? { type: decoded.type, generation: decoded.gen } : {}),
    ...(malformed ? { malformed } : {}),
    body,
  };
}

/**
 * Receives the DLQ's messages up to `limit`, each once (hidden for `holdSeconds` so paging moves on),
 * calling `each` on them as they arrive. Returns every message received, with its receipt handle.
 */
async function receiveAll(target: Target, dlqUrl: string, limit: number, holdSeconds: number, each?: (batch: Message[]) => Promise<void>): Promise<Message[]> {
  const [{ ReceiveMessageCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  const seen = new Map<string, Message>();
  for (let empty = 0; seen.size < limit && empty < (target.kind === 'local' ? 1 : 2);) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, limit - seen.size),
        VisibilityTimeout: holdSeconds,
        WaitTimeSeconds: target.receiveWaitSeconds,
        MessageAttributeNames: ['All'],
        AttributeNames: ['All'],
      }),
    );
    const fresh = Messages.filter((m) => !seen.has(m.MessageId ?? ''));
    for (const m of Messages) seen.set(m.MessageId ?? '', m);
    empty = fresh.length === 0 ? empty + 1 : 0;
    if (fresh.length > 0) await each?.(fresh);
  }
  return [...seen.values()];
}

/** Makes these messages visible again now (best effort: otherwise they are back when their timeout ends). */
async function release(target: Target, dlqUrl: string, messages: readonly Message[]): Promise<void> {
  const [{ ChangeMessageVisibilityBatchCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    await sqs
      .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlqUrl, Entries: batch.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }))
      .catch(() => {});
  }
}

/** A warning when the DLQ has a redrive policy of its own (then every peek counts towards it); undefined otherwise. */
export async function redrivePolicyWarning(target: Target, dlqUrl: string): Promise<string | undefined> {
  const [{ GetQueueAttributesCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['RedrivePolicy'] }));
  if (!Attributes.RedrivePolicy) return undefined;
  const max = (JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: number }).maxReceiveCount;
  return `this DLQ has a redrive policy of its own (maxReceiveCount ${max}): every peek counts as a receive towards it`;
}

export interface Peek {
  type: string;
  dlqUrl: string;
  messages: ParkedMessage[];
  warning?: string;
}

/** Up to `limit` of a job type's parked messages; nothing is removed (each is made visible again at once). */
export async function peekDlq(target: Target, type: string, limit: number): Promise<Peek> {
  const { dlqUrl } = jobTypeOf(target, type);
  const warning = await redrivePolicyWarning(target, dlqUrl);
  const received = await receiveAll(target, dlqUrl, limit, 30);
  await release(target, dlqUrl, received);
  return { type, dlqUrl, messages: received.map(parked), ...(warning ? { warning } : {}) };
}

export type RedriveAction = 'retried' | 'deleted' | 'kept';

export interface RedriveOutcome {
  messageId: string;
  jobId?: string;
  action: RedriveAction;
  why: string;
}

export interface RedriveSummary {
  type: string;
  retried: number;
  deleted: number;
  kept: number;
  messages: RedriveOutcome[];
}

/**
 * What to do with one parked message, given its job as the API shows it (undefined: no such job for this
 * caller). `retriedInThisPass`: this redrive has retried the job already, so a message of its current
 * generation is the retried run failing again (it arrived during the pass): it stays, for a look, rather than
 * being retried in a loop or deleted as a copy.
 */
export function decide(message: ParkedMessage, job: ApiJobView | undefined, retriedInThisPass = false): { action: 'retry' | 'delete' | 'keep'; why: string } {
  if (!message.jobId) return { action: 'keep', why: `no job id: ${message.malformed ?? 'not a job message'}` };
  if (/does not match its job record/.test(message.reason ?? '')) return { action: 'keep', why: 'forged: the worker found it does not match its job record' };
  if (!job) return { action: 'keep', why: "its job is gone (expired, never existed, or another caller's)" };
  if (message.type !== undefined && message.type !== job.type) return { action: 'keep', why: `forged: a ${message.type} message for a ${job.type} job` };
  const generation = message.generation ?? 1;
  if (generation > job.generation) return { action: 'keep', why: `forged: generation ${generation}, the job is in generation ${job.generation}` };
  if (generation < job.generation) return { action: 'delete', why: `stale: the job was retried since (generation ${job.generation}, ${job.status})` };
  if (retriedInThisPass) return { action: 'keep', why: `the job was retried by this redrive and is ${job.status} again (generation ${job.generation})` };
  if (job.status === 'FAILED' || job.status === 'CANCELLED') return { action: 'retry', why: `the job was ${job.status}` };
  return { action: 'keep', why: `the job is ${job.status}: nothing to re-run (jobline dlq purge removes it)` };
}

export interface RedriveProgress {
  /** Messages handled so far. */
  done: number;
  /** The depth counted at the start, grown when more turned up. */
  total: number;
  last: RedriveOutcome;
}

/**
 * Redrives every message of a job type's DLQ through the state machine (see above). `depth` is the count
 * the caller confirmed against; `onProgress` is called after each message.
 */
export async function redriveDlq(target: Target, type: string, depth: number, onProgress?: (progress: RedriveProgress) => void): Promise<RedriveSummary> {
  const { dlqUrl } = jobTypeOf(target, type);
  const api = apiOf(target);
  const [{ DeleteMessageCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  const fifo = dlqUrl.endsWith('.fifo');
  const outcomes: RedriveOutcome[] = [];
  const kept: Message[] = [];
  const retriedJobs = new Set<string>();
  const remove = (m: Message) => sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle! }));
  // Each message is hidden for two minutes while it is handled; what stays is made visible again at the end.
  await receiveAll(target, dlqUrl, Number.MAX_SAFE_INTEGER, 120, async (batch) => {
    for (const message of batch) {
      const p = parked(message);
      const job = p.jobId ? await api.get(p.jobId) : undefined;
      let { action, why } = decide(p, job, retriedJobs.has(p.jobId ?? ''));
      if (action === 'retry') {
        try {
          await api.retry(p.jobId!);
          retriedJobs.add(p.jobId!);
        } catch (error) {
          if (!(error instanceof ApiError) || error.status >= 500) throw error;
          [action, why] = ['keep', `retry refused: ${error.message}`];
        }
      }
      if (action !== 'keep') await remove(message);
      // A FIFO DLQ hands out nothing more of a message group while one of its messages is hidden: a message
      // that stays is made visible again at once there, so that the rest of its group can be reached.
      else if (fifo) await release(target, dlqUrl, [message]);
      else kept.push(message);
      const outcome: RedriveOutcome = {
        messageId: p.messageId,
        ...(p.jobId ? { jobId: p.jobId } : {}),
        action: action === 'retry' ? 'retried' : action === 'delete' ? 'deleted' : 'kept',
        why,
      };
      outcomes.push(outcome);
      onProgress?.({ done: outcomes.length, total: Math.max(depth, outcomes.length), last: outcome });
    }
  });
  await release(target, dlqUrl, kept);
  const count = (action: RedriveAction) => outcomes.filter((o) => o.action === action).length;
  return { type, retried: count('retried'), deleted: count('deleted'), kept: count('kept'), messages: outcomes };
}

/**
 * Deletes the DLQ's messages by receiving and deleting them (DeleteMessageBatch), not with PurgeQueue:
 * PurgeQueue takes up to 60 s (the SQS emulator waits the full 60 s) and allows one call a minute, and it
 * cannot say what it deleted. This way the count is exact and the queue is empty when it returns; a message
 * another consumer holds in flight is not deleted. Returns how many were deleted.
 */
export async function purgeDlq(target: Target, type: string, onProgress?: (purged: number) => void): Promise<number> {
  const { dlqUrl } = jobTypeOf(target, type);
  const [{ DeleteMessageBatchCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  let purged = 0;
  await receiveAll(target, dlqUrl, Number.MAX_SAFE_INTEGER, 60, async (batch) => {
    const { Successful = [] } = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: batch.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })) }),
    );
    purged += Successful.length;
    onProgress?.(purged);
  });
  return purged;
}
