/**
 * `jobline dlq list|peek|redrive|purge`: the dead-letter queues, through SQS (AWS SDK v3; locally the
 * runtime's emulator).
 *
 * Peek receives messages with a visibility timeout long enough to page through them without seeing one
 * twice, then makes every one it received visible again at once (ChangeMessageVisibility 0). Each peek
 * counts as a receive on the DLQ message; a jobline DLQ has no redrive policy of its own, so nothing moves
 * on that count (peek warns when a DLQ does have one). The count that tells how often the job's queue
 * delivered it is the `jobline-receive-count` the worker wrote, which peek shows.
 *
 * Redrive re-runs jobs through the state machine, never by moving messages: for each parked message it
 * reads the job over the API and, when the job is FAILED or CANCELLED in the message's generation, calls
 * the job's explicit retry (POST /jobs/{id}/retry) and deletes the message. What it cannot vouch for stays
 * and is reported: no job id, a body that names another job than its attributes, a message the worker
 * found not to match its record (forged), a job that is gone, a job that is not FAILED or CANCELLED. A
 * message of an earlier generation (its job was retried since) is deleted: a queue redrive would deliver it
 * to a worker that drops it.
 *
 * FIFO DLQs (the transfer example): SQS hands out no more messages of a group while one of its messages is
 * in flight, so peek shows at most the first 10 of each group, and a redrive makes each message it leaves
 * visible again at once, so it reaches what follows in the group.
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { decodeMessage } from '../../shared/jobs/message';
import { ApiError, type ApiJobView } from '../../shared/client/api-client';
import { confirm } from '../confirm';
import { EXIT } from '../exit';
import { colors, note, printJson, table } from '../output';
import { progressBar } from '../progress';
import { apiOf, jobTypeOf, type JobTypeQueues, type Target } from '../target';

const sqsModule = () => import('@aws-sdk/client-sqs');

interface Depth {
  type: string;
  dlqUrl: string;
  messages: number;
  inFlight: number;
}

async function depthOf(sqs: SQSClient, t: JobTypeQueues): Promise<Depth> {
  const { GetQueueAttributesCommand } = await sqsModule();
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: t.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { type: t.type, dlqUrl: t.dlqUrl, messages: Number(Attributes.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

export async function dlqDepths(target: Target): Promise<Depth[]> {
  const sqs = await target.sqs();
  return Promise.all(target.jobTypes.map((t) => depthOf(sqs, t)));
}

export async function list(target: Target, options: { json?: boolean }): Promise<void> {
  const depths = await dlqDepths(target);
  if (options.json) return printJson({ dlqs: depths });
  console.log(
    table(depths, [
      { header: 'JOB TYPE', value: (d) => d.type },
      { header: 'MESSAGES', value: (d) => (d.messages > 0 ? colors.red(String(d.messages)) : '0'), align: 'right' },
      { header: 'DLQ', value: (d) => d.dlqUrl },
    ]),
  );
  const parked = depths.filter((d) => d.messages > 0);
  if (parked.length > 0) note(`see why: jobline dlq peek ${parked[0]!.type}`);
}

/** A parked message as the CLI shows it. */
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

function parked(message: Message): ParkedMessage {
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

async function warnIfRedrivePolicy(target: Target, dlqUrl: string): Promise<void> {
  const [{ GetQueueAttributesCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['RedrivePolicy'] }));
  if (Attributes.RedrivePolicy) {
    const max = (JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: number }).maxReceiveCount;
    note(colors.yellow(`note: this DLQ has a redrive policy of its own (maxReceiveCount ${max}): every peek counts as a receive towards it`));
  }
}

export interface PeekOptions {
  limit: number;
  json?: boolean;
}

export interface ConfirmedOptions {
  yes?: boolean;
  json?: boolean;
}

export async function peek(target: Target, type: string, options: PeekOptions): Promise<void> {
  const { dlqUrl } = jobTypeOf(target, type);
  await warnIfRedrivePolicy(target, dlqUrl);
  const received = await receiveAll(target, dlqUrl, options.limit, 30);
  await release(target, dlqUrl, received);
  const messages = received.map(parked);
  if (options.json) return printJson({ type, dlqUrl, messages });
  if (messages.length === 0) {
    note(`the ${type} DLQ is empty`);
    return;
  }
  console.log(
    table(messages, [
      { header: 'JOB ID', value: (m) => m.jobId },
      { header: 'REASON', value: (m) => m.reason ?? m.malformed },
      { header: 'RECEIVES', value: (m) => m.receives, align: 'right' },
      { header: 'GEN', value: (m) => m.generation, align: 'right' },
      { header: 'PARKED', value: (m) => m.sentAt },
      { header: 'BY', value: (m) => m.source },
    ]),
  );
  if (messages.length === options.limit) note(`showing the first ${options.limit}: --limit shows more`);
  note(`re-run their jobs once the cause is fixed: jobline dlq redrive ${type}`);
}

export type RedriveAction = 'retried' | 'deleted' | 'kept';

export interface RedriveOutcome {
  messageId: string;
  jobId?: string;
  action: RedriveAction;
  why: string;
}

/** What to do with one parked message, given its job as the API shows it (undefined: no such job for this caller). */
export function decide(message: ParkedMessage, job: ApiJobView | undefined): { action: 'retry' | 'delete' | 'keep'; why: string } {
  if (!message.jobId) return { action: 'keep', why: `no job id: ${message.malformed ?? 'not a job message'}` };
  if (/does not match its job record/.test(message.reason ?? '')) return { action: 'keep', why: 'forged: the worker found it does not match its job record' };
  if (!job) return { action: 'keep', why: "its job is gone (expired, never existed, or another caller's)" };
  if (message.type !== undefined && message.type !== job.type) return { action: 'keep', why: `forged: a ${message.type} message for a ${job.type} job` };
  const generation = message.generation ?? 1;
  if (generation > job.generation) return { action: 'keep', why: `forged: generation ${generation}, the job is in generation ${job.generation}` };
  if (generation < job.generation) return { action: 'delete', why: `stale: the job was retried since (generation ${job.generation}, ${job.status})` };
  if (job.status === 'FAILED' || job.status === 'CANCELLED') return { action: 'retry', why: `the job was ${job.status}` };
  return { action: 'keep', why: `the job is ${job.status}: nothing to re-run (jobline dlq purge removes it)` };
}

export async function redrive(target: Target, type: string, options: ConfirmedOptions): Promise<number> {
  const { dlqUrl } = jobTypeOf(target, type);
  const api = apiOf(target);
  const [{ DeleteMessageCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  const { messages: depth } = await depthOf(sqs, { type, dlqUrl, queueUrl: '' });
  if (depth === 0) {
    if (options.json) printJson({ type, retried: 0, deleted: 0, kept: 0, messages: [] });
    else note(`the ${type} DLQ is empty: nothing to redrive`);
    return EXIT.ok;
  }
  await confirm(`redrive about ${depth} message(s) of the ${type} DLQ: retry each FAILED or CANCELLED job and delete its message`, options);

  const fifo = dlqUrl.endsWith('.fifo');
  const bar = progressBar(`redrive ${type}`, depth);
  const outcomes: RedriveOutcome[] = [];
  const kept: Message[] = [];
  const retriedJobs = new Set<string>();
  const remove = (m: Message) => sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle! }));
  // Each message is hidden for two minutes while it is handled; what stays is made visible again at the end.
  await receiveAll(target, dlqUrl, Number.MAX_SAFE_INTEGER, 120, async (batch) => {
    for (const message of batch) {
      const p = parked(message);
      const job = p.jobId ? await api.get(p.jobId) : undefined;
      let { action, why } = decide(p, job);
      if (action === 'retry' && retriedJobs.has(p.jobId!)) [action, why] = ['delete', 'another message of the job was redriven already'];
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
      outcomes.push({ messageId: p.messageId, ...(p.jobId ? { jobId: p.jobId } : {}), action: action === 'retry' ? 'retried' : action === 'delete' ? 'deleted' : 'kept', why });
      if (outcomes.length > depth) bar.total(outcomes.length);
      bar.update(outcomes.length, p.jobId);
    }
  }).finally(() => bar.stop());
  await release(target, dlqUrl, kept);

  const count = (action: RedriveAction) => outcomes.filter((o) => o.action === action).length;
  const summary = { type, retried: count('retried'), deleted: count('deleted'), kept: count('kept'), messages: outcomes };
  if (options.json) printJson(summary);
  else {
    console.log(`redrive ${type}: ${summary.retried} job(s) retried, ${summary.deleted} stale message(s) deleted, ${summary.kept} message(s) left in the DLQ`);
    const left = outcomes.filter((o) => o.action === 'kept');
    if (left.length > 0) {
      console.log(
        table(left, [
          { header: 'MESSAGE', value: (o) => o.messageId },
          { header: 'JOB ID', value: (o) => o.jobId },
          { header: 'LEFT BECAUSE', value: (o) => o.why },
        ]),
      );
    }
    const retried = outcomes.filter((o) => o.action === 'retried');
    if (retried.length === 1) note(`follow it: jobline jobs watch ${retried[0]!.jobId}`);
    else if (retried.length > 1) note(`follow them: jobline jobs list --type ${type}`);
  }
  return summary.kept > 0 ? EXIT.failed : EXIT.ok;
}

/**
 * Deletes the DLQ's messages by receiving and deleting them (DeleteMessageBatch), not with PurgeQueue:
 * PurgeQueue takes up to 60 s (the SQS emulator waits the full 60 s) and allows one call a minute, and it
 * cannot say what it deleted. This way the count is exact and the queue is empty when the command returns;
 * a message another consumer holds in flight is not deleted.
 */
export async function purge(target: Target, type: string, options: ConfirmedOptions): Promise<void> {
  const { dlqUrl } = jobTypeOf(target, type);
  const [{ DeleteMessageBatchCommand }, sqs] = await Promise.all([sqsModule(), target.sqs()]);
  const { messages } = await depthOf(sqs, { type, dlqUrl, queueUrl: '' });
  await confirm(`delete all ${messages} message(s) of the ${type} DLQ? This cannot be undone`, options);
  const bar = progressBar(`purge ${type}`, messages);
  let purged = 0;
  await receiveAll(target, dlqUrl, Number.MAX_SAFE_INTEGER, 60, async (batch) => {
    const { Successful = [] } = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: batch.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })) }),
    );
    purged += Successful.length;
    if (purged > messages) bar.total(purged);
    bar.update(purged);
  }).finally(() => bar.stop());
  if (options.json) return printJson({ type, dlqUrl, purged });
  console.log(`purged the ${type} DLQ: ${purged} message(s) deleted`);
}
