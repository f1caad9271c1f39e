// Issue 4, "Bad input": garbage put straight onto the job queues, mixed into batches with good jobs that were
// submitted through the API code. Messages are sent and received with the SQS emulator and handed to
// processBatch as Lambda's poller would. Every bad message must end in the DLQ with its reason and never be
// reported as a batch item failure; the good messages of the same batches must succeed; a bad message that
// names an existing job must leave that job FAILED with the reason.
//
// Replay a run with JOBLINE_FUZZ_SEED=<seed> (the seed is in the suites' names and in every failure).
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { dynamoClient, sqsClient } from '../../shared/aws/clients';
import type { JobType } from '../../shared/jobs/define';
import { MAX_MESSAGE_BYTES } from '../../shared/jobs/message';
import { transfer } from '../../app/jobs/transfer/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import { processBatch } from '../../shared/worker/process-batch';
import type { CreatedQueue } from '../../local/provision';
import { apiDeps, call, statusEvent, submitEvent } from '../support/api';
import { EXTRA_KEYS, REQUIRED, WRONG_VALUES, deep, jsonValue, objectText, q, setEntry, validEntries, type Entries, type TypeName } from '../support/fuzz-payloads';
import { Prng, fuzzSeed } from '../support/prng';
import { acknowledge, createJobQueues, createJobsTable, invocation, receiveRecords, workerDeps, type JobQueues } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const SEED = fuzzSeed();
/** Per job type: bad messages and good jobs, shuffled together. Tuned to a few seconds per type on 2 cores. */
const BAD_MESSAGES = 240;
const GOOD_JOBS = 60;
/** Jobs recorded through the API whose own messages wait on another queue: bad messages name them. */
const VICTIMS = 20;
const DEPTH = 10_000;
const ACCOUNTS = ['acct-0', 'acct-1', 'acct-2', 'acct-3', 'acct-4', 'acct-5'];

const JOB_TYPES: Record<TypeName, JobType> = { transfer, webhook };

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());

// ---------------------------------------------------------------------------------------------------------
// Plans

interface GoodJob {
  kind: 'good';
  payload: Record<string, unknown>;
}

interface BadMessage {
  kind: 'bad';
  category: string;
  note: string;
  body: string;
  /** FIFO queues: the message group (good transfers are grouped by their `from` account). */
  group: string;
  /** The existing job this message names: it must end FAILED with the message's reason. */
  victim?: string;
}

type PlanItem = GoodJob | BadMessage;

interface Context {
  type: TypeName;
  r: Prng;
  /** Victims not named by a message yet. */
  victims: string[];
  receiverUrl: string;
}

const OTHER: Record<TypeName, TypeName> = { transfer: 'webhook', webhook: 'transfer' };

function goodPayload(type: TypeName, r: Prng, index: number, receiverUrl: string): Record<string, unknown> {
  if (type === 'transfer') {
    const from = r.pick(ACCOUNTS);
    const to = r.pick(ACCOUNTS.filter((a) => a !== from));
    return { from, to, amount: r.int(1, 10_000), ...(r.chance(0.3) ? { memo: `good ${index}` } : {}) };
  }
  return { url: `${receiverUrl}/good/${index}`, body: JSON.parse(jsonValue(r, 3)), ...(r.chance(0.3) ? { headers: { 'x-trace': `t${index}` } } : {}) };
}

/** A payload that would pass for this type, for messages whose defect is elsewhere. It never reaches a handler. */
function validPayloadText(type: TypeName, r: Prng, receiverUrl: string): string {
  return objectText(validEntries(type, r, `${receiverUrl}/bad`), r);
}

function messageText(fields: Entries, r: Prng): string {
  return objectText(r.shuffle(fields), r);
}

/** A job id for a message that names a job: an existing one (a victim) now and then, else an unknown one. */
function jobIdFor(ctx: Context, allowVictim: boolean): { jobId: string; victim?: string } {
  if (allowVictim && ctx.victims.length > 0 && ctx.r.chance(0.35)) {
    const victim = ctx.victims.pop()!;
    return { jobId: victim, victim };
  }
  return { jobId: ctx.r.uuid() };
}

type BadGenerator = (ctx: Context) => Omit<BadMessage, 'kind' | 'group'>;

const BAD_GENERATORS: [number, BadGenerator][] = [
  [
    6,
    ({ r }) => {
      const text = r.sqsText(r.int(1, 3000));
      return { category: 'random-text', note: `${text.length} characters`, body: text };
    },
  ],
  [
    4,
    ({ r }) => {
      const body = r.pick([' ', '\n', '\t', '\r\n', '{}', '[]', 'null', '""', '0', 'true', '{"v":1}', '{"jobId":null}', '\ufeff', '{ }', '{"payload":{}}']);
      return { category: 'empty-ish', note: JSON.stringify(body), body };
    },
  ],
  [
    3,
    ({ r, type, receiverUrl }) => {
      const size = r.int(100_000, 400_000);
      const [name, body] = r.pick<[string, () => string]>([
        ['plain text', () => 'x'.repeat(size)],
        ['a JSON string', () => q('s'.repeat(size))],
        [
          'a message with a huge unknown payload field',
          () =>
            messageText(
              [
                ['v', '1'],
                ['jobId', q(r.uuid())],
                ['type', q(type)],
                ['payload', objectText(setEntry(validEntries(type, r, `${receiverUrl}/bad`), 'pad', q('p'.repeat(size))), r)],
              ],
              r,
            ),
        ],
        [
          'a message with a huge extra top-level field',
          () =>
            messageText(
              [
                ['v', '1'],
                ['jobId', q(r.uuid())],
                ['type', q(type)],
                ['payload', validPayloadText(type, r, receiverUrl)],
                ['pad', q('p'.repeat(size))],
              ],
              r,
            ),
        ],
      ]);
      return { category: 'huge', note: `${name}, ${size} characters`, body: body() };
    },
  ],
  [
    5,
    ({ r, type, receiverUrl }) => {
      const valid = messageText(
        [
          ['v', '1'],
          ['jobId', q(r.uuid())],
          ['type', q(type)],
          ['payload', validPayloadText(type, r, receiverUrl)],
        ],
        r,
      );
      const body = r.pick(['[]', '[1,2]', `[${valid}]`, '1', '-1.5', '1e400', 'null', '"str"', q(valid), 'true', 'false', '[null]']);
      return { category: 'json-not-an-object', note: body.slice(0, 60), body };
    },
  ],
  [
    7,
    (ctx) => {
      const { r, type, receiverUrl } = ctx;
      const drop = new Set(r.chance(0.7) ? [r.pick(['v', 'jobId', 'type', 'payload'])] : r.shuffle(['v', 'jobId', 'type', 'payload']).slice(0, r.int(1, 4)));
      const { jobId, victim } = jobIdFor(ctx, !drop.has('jobId'));
      const fields: Entries = [
        ['v', '1'],
        ['jobId', q(jobId)],
        ['type', q(type)],
        ['payload', validPayloadText(type, r, receiverUrl)],
      ];
      return {
        category: 'missing-field',
        note: `without ${[...drop].join(', ')}`,
        body: messageText(
          fields.filter(([k]) => !drop.has(k)),
          r,
        ),
        victim,
      };
    },
  ],
  [
    6,
    (ctx) => {
      const { r, type, receiverUrl } = ctx;
      const v = r.pick(['2', '0', '"1"', 'null', '1.5', 'true', '[1]', '{}', '-1', '"1.0"', '1e400', '"v1"', '1e-400']);
      const { jobId, victim } = jobIdFor(ctx, true);
      return {
        category: 'wrong-version',
        note: `v ${v}`,
        body: messageText(
          [
            ['v', v],
            ['jobId', q(jobId)],
            ['type', q(type)],
            ['payload', validPayloadText(type, r, receiverUrl)],
          ],
          r,
        ),
        victim,
      };
    },
  ],
  [
    6,
    ({ r, type, receiverUrl }) => {
      const uuid = r.uuid();
      const jobId = r.pick([
        q(uuid.toUpperCase()),
        q(uuid.replaceAll('-', '')),
        '123',
        'null',
        '""',
        q(`${uuid} `),
        q(`{${uuid}}`),
        q('x'.repeat(36)),
        q(uuid.replace(/[0-9a-f]$/, 'g')),
        `[${q(uuid)}]`,
        `{"id":${q(uuid)}}`,
        q(uuid.slice(0, -1)),
        q(`JOB#${uuid}`),
      ]);
      return {
        category: 'bad-job-id',
        note: `jobId ${jobId}`,
        body: messageText(
          [
            ['v', '1'],
            ['jobId', jobId],
            ['type', q(type)],
            ['payload', validPayloadText(type, r, receiverUrl)],
          ],
          r,
        ),
      };
    },
  ],
  [
    7,
    (ctx) => {
      const { r, type, receiverUrl } = ctx;
      const [name, typeText, payload] = r.pick<[string, string, () => string]>([
        ['the other job type', q(OTHER[type]), () => validPayloadText(OTHER[type], r, receiverUrl)],
        ["the other job type, this type's payload", q(OTHER[type]), () => validPayloadText(type, r, receiverUrl)],
        ['upper case', q(type.toUpperCase()), () => validPayloadText(type, r, receiverUrl)],
        ['with a space', q(`${type} `), () => validPayloadText(type, r, receiverUrl)],
        ['empty', '""', () => validPayloadText(type, r, receiverUrl)],
        ['unknown', q('nonexistent'), () => validPayloadText(type, r, receiverUrl)],
        ['null', 'null', () => validPayloadText(type, r, receiverUrl)],
        ['a number', '7', () => validPayloadText(type, r, receiverUrl)],
        ['an object', `{"name":${q(type)}}`, () => validPayloadText(type, r, receiverUrl)],
      ]);
      const { jobId, victim } = jobIdFor(ctx, true);
      return {
        category: 'wrong-type',
        note: `type ${name}`,
        body: messageText(
          [
            ['v', '1'],
            ['jobId', q(jobId)],
            ['type', typeText],
            ['payload', payload()],
          ],
          r,
        ),
        victim,
      };
    },
  ],
  [
    12,
    (ctx) => {
      const { r, type, receiverUrl } = ctx;
      const entries = validEntries(type, r, `${receiverUrl}/bad`);
      const [name, payload] = r.pick<[string, () => string]>([
        [
          'a field of the wrong type',
          () => {
            const field = r.pick(Object.keys(WRONG_VALUES[type]));
            return objectText(setEntry(entries, field, r.pick(WRONG_VALUES[type][field]!)), r);
          },
        ],
        [
          'a required field missing',
          () => {
            const drop = r.pick(REQUIRED[type]);
            return objectText(
              entries.filter(([k]) => k !== drop),
              r,
            );
          },
        ],
        ['an extra field', () => objectText(setEntry(entries, r.pick(EXTRA_KEYS), jsonValue(r, 2)), r)],
        ['null', () => 'null'],
        ['an array', () => `[${objectText(entries, r)}]`],
        ['a string', () => q(objectText(entries, r))],
        ['a number', () => '42'],
        ['an empty object', () => '{}'],
        ['nested 10,000 levels (arrays)', () => '['.repeat(DEPTH) + ']'.repeat(DEPTH)],
        ['nested 10,000 levels (objects)', () => '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH)],
        ...(type === 'transfer' ? ([['from = to', () => objectText(setEntry(setEntry(entries, 'from', '"same"'), 'to', '"same"'), r)]] as [string, () => string][]) : []),
      ]);
      const { jobId, victim } = jobIdFor(ctx, true);
      return {
        category: 'payload-fails-schema',
        note: name,
        body: messageText(
          [
            ['v', '1'],
            ['jobId', q(jobId)],
            ['type', q(type)],
            ['payload', payload()],
          ],
          r,
        ),
        victim,
      };
    },
  ],
  [
    8,
    ({ r, type, receiverUrl }) => {
      const extra: Entries = r.chance(0.3) ? [[r.pick(['extra', 'attempt', 'status', 'v2', 'PAYLOAD']), jsonValue(r, 2)]] : [];
      return {
        category: 'unknown-job',
        note: `a well-formed message for no job${extra.length ? ' + an extra field' : ''}`,
        body: messageText([['v', '1'], ['jobId', q(r.uuid())], ['type', q(type)], ['payload', validPayloadText(type, r, receiverUrl)], ...extra], r),
      };
    },
  ],
  [
    4,
    ({ r, type, receiverUrl }) => {
      const valid = messageText(
        [
          ['v', '1'],
          ['jobId', q(r.uuid())],
          ['type', q(type)],
          ['payload', validPayloadText(type, r, receiverUrl)],
        ],
        r,
      );
      const [name, body] = r.pick<[string, () => string]>([
        ['v nested 10,000 levels', () => `{"v":${deep(r, DEPTH)},"jobId":${q(r.uuid())}}`],
        ['jobId nested 10,000 levels', () => `{"v":1,"jobId":${deep(r, DEPTH)},"type":${q(type)},"payload":{}}`],
        ['type nested 10,000 levels', () => `{"v":1,"jobId":${q(r.uuid())},"type":${deep(r, DEPTH)},"payload":{}}`],
        ['the whole body nested 10,000 levels', () => deep(r, DEPTH)],
        ['unterminated nesting', () => '['.repeat(DEPTH)],
        ['truncated message', () => valid.slice(0, r.int(1, valid.length - 1))],
        ['BOM before the message', () => `\ufeff${valid}`],
        ['trailing garbage', () => `${valid}x`],
        ['single quotes', () => valid.replaceAll('"', "'")],
        ['duplicate key: the last v wins', () => `${valid.slice(0, -1)},"v":2}`],
        ['duplicate key: the last jobId wins', () => `${valid.slice(0, -1)},"jobId":"nope"}`],
      ]);
      return { category: 'malformed-json', note: name, body: body() };
    },
  ],
];

const BAD_CATEGORIES = [
  'random-text',
  'empty-ish',
  'huge',
  'json-not-an-object',
  'missing-field',
  'wrong-version',
  'bad-job-id',
  'wrong-type',
  'payload-fails-schema',
  'unknown-job',
  'malformed-json',
];

function plan(type: TypeName, victims: readonly string[], receiverUrl: string): PlanItem[] {
  const setup = new Prng(SEED ^ (type === 'transfer' ? 0x7a11 : 0x3eb0));
  const ctx: Context = { type, r: setup, victims: setup.shuffle(victims), receiverUrl };
  const items: PlanItem[] = [];
  for (let i = 0; i < GOOD_JOBS; i++) items.push({ kind: 'good', payload: goodPayload(type, setup, i, receiverUrl) });
  for (let i = 0; i < BAD_MESSAGES; i++) {
    const r = Prng.forCase(SEED ^ (type === 'transfer' ? 1 : 2), i);
    ctx.r = r;
    const made = r.weighted(BAD_GENERATORS)(ctx);
    items.push({ kind: 'bad', ...made, group: r.chance(0.6) ? r.pick(ACCOUNTS) : `g-${r.int(0, 20)}` });
  }
  return setup.shuffle(items);
}

// ---------------------------------------------------------------------------------------------------------
// Running a plan: enqueue in order, then drain the queue batch by batch as Lambda would.

interface Sent {
  item: PlanItem;
  messageId?: string;
  jobId?: string;
}

interface BatchReport {
  records: number;
  good: number;
  bad: number;
  failures: string[];
  threw?: string;
}

interface Outcome {
  sent: Sent[];
  batches: BatchReport[];
}

async function run(type: TypeName, items: readonly PlanItem[], table: string, queues: JobQueues): Promise<Outcome> {
  const sqs = await sqsClient();
  const jobType = JOB_TYPES[type];
  const submitDeps = apiDeps(table, { [type]: queues });
  const sent: Sent[] = [];
  let dedup = 0;
  for (const item of items) {
    if (item.kind === 'good') {
      const response = await call(submitEvent(type, item.payload), submitDeps);
      expect(response.status, `seed ${SEED}: submitting a good ${type} job: ${JSON.stringify(response.body)}`).toBe(202);
      sent.push({ item, jobId: response.body.jobId });
    } else {
      const { MessageId } = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.queue.url,
          MessageBody: item.body,
          ...(jobType.queue.fifo ? { MessageGroupId: item.group, MessageDeduplicationId: `fuzz-${SEED}-${dedup++}` } : {}),
        }),
      );
      sent.push({ item, messageId: MessageId });
    }
  }

  const badIds = new Set(sent.filter((s) => s.item.kind === 'bad').map((s) => s.messageId));
  const deps = workerDeps(jobType, table, queues);
  const batches: BatchReport[] = [];
  for (let empty = 0; empty < 2;) {
    const records = await receiveRecords(queues.queue, jobType.queue.batchSize);
    if (records.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    const report: BatchReport = {
      records: records.length,
      good: records.filter((rec) => !badIds.has(rec.messageId)).length,
      bad: records.filter((rec) => badIds.has(rec.messageId)).length,
      failures: [],
    };
    try {
      const response = await processBatch(records, invocation(), deps);
      report.failures = response.batchItemFailures.map((f) => f.itemIdentifier);
      await acknowledge(queues.queue, records, response);
    } catch (error) {
      // Lambda would retry the whole batch; here its records stay in flight and the checks below report them.
      report.threw = String(error);
    }
    batches.push(report);
  }
  return { sent, batches };
}

interface Parked {
  body: string;
  reason?: string;
  jobId?: string;
}

/**
 * The DLQ's messages by source message id. A copy whose body left no room for that attribute (a body at
 * SQS's size limit keeps only a shortened reason) is attributed by its body, when `sourceByBody` knows it.
 */
async function drainDeadLetters(queue: CreatedQueue, sourceByBody: ReadonlyMap<string, string> = new Map()): Promise<Map<string, Parked[]>> {
  const sqs = await sqsClient();
  const parked = new Map<string, Parked[]>();
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
        MessageAttributeNames: ['All'],
        AttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return parked;
    for (const m of Messages) {
      const source = m.MessageAttributes?.['jobline-source-message-id']?.StringValue ?? sourceByBody.get(m.Body ?? '') ?? `(no source id: ${m.MessageId})`;
      const entry = { body: m.Body ?? '', reason: m.MessageAttributes?.['jobline-reason']?.StringValue, jobId: m.MessageAttributes?.['jobline-job-id']?.StringValue };
      parked.set(source, [...(parked.get(source) ?? []), entry]);
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

async function queueDepth(queue: CreatedQueue): Promise<{ visible: string | undefined; inFlight: string | undefined; received: number }> {
  const sqs = await sqsClient();
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Attributes?.ApproximateNumberOfMessages, inFlight: Attributes?.ApproximateNumberOfMessagesNotVisible, received: Messages.length };
}

async function scanTable(table: string): Promise<{ jobs: Map<string, { status: string; error?: string }>; balances: Map<string, number> }> {
  const jobs = new Map<string, { status: string; error?: string }>();
  const balances = new Map<string, number>();
  let start: Record<string, any> | undefined;
  do {
    const page = await dynamoClient().send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? '';
      if (pk.startsWith('JOB#')) jobs.set(item.jobId?.S ?? '', { status: item.status?.S ?? '', ...(item.error?.S !== undefined ? { error: item.error.S } : {}) });
      else if (pk.startsWith('ACCOUNT#')) balances.set(pk.slice('ACCOUNT#'.length), Number(item.balance?.N ?? 0));
      else balances.set(`(unexpected item ${pk})`, NaN);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { jobs, balances };
}

const describeBad = (s: Sent) =>
  s.item.kind === 'bad' ? `[${s.item.category}] ${s.item.note} (${JSON.stringify(s.item.body.slice(0, 80))}${s.item.body.length > 80 ? '...' : ''})` : `good job ${s.jobId}`;

/**
 * The invariants of one run. `victims` are the existing jobs that bad messages may name; their own messages
 * wait on another queue and are never processed here.
 */
async function expectInvariants(type: TypeName, outcome: Outcome, table: string, queues: JobQueues, victims: readonly string[]): Promise<void> {
  const { sent, batches } = outcome;
  const bad = sent.filter((s) => s.item.kind === 'bad');
  const good = sent.filter((s) => s.item.kind === 'good');
  const byMessageId = new Map(sent.filter((s) => s.messageId).map((s) => [s.messageId!, s]));
  const label = `seed ${SEED} (replay: JOBLINE_FUZZ_SEED=${SEED}), ${type}`;

  // No batch threw, and no record was reported as failed: bad ones are parked, good ones succeed.
  const crashes = batches.filter((b) => b.threw).map((b) => `a batch of ${b.records} (${b.bad} bad) threw ${b.threw}`);
  expect(crashes, `${label}: processBatch threw`).toEqual([]);
  const reported = batches.flatMap((b) => b.failures).map((id) => (byMessageId.has(id) ? describeBad(byMessageId.get(id)!) : `message ${id} (a good job's)`));
  expect(reported, `${label}: records reported in batchItemFailures`).toEqual([]);

  // The queue is empty.
  expect(await queueDepth(queues.queue), `${label}: the queue after the run`).toEqual({ visible: '0', inFlight: '0', received: 0 });

  // Every bad message is in the DLQ once, as it was sent, with a reason; nothing else is.
  const parked = await drainDeadLetters(queues.dlq, new Map(bad.map((s) => [(s.item as BadMessage).body, s.messageId!])));
  const missing: string[] = [];
  const wrong: string[] = [];
  const reasons = new Map<string, string | undefined>();
  for (const s of bad) {
    const copies = parked.get(s.messageId!) ?? [];
    parked.delete(s.messageId!);
    if (copies.length === 0) {
      missing.push(describeBad(s));
      continue;
    }
    const item = s.item as BadMessage;
    const copy = copies[0]!;
    reasons.set(s.messageId!, copy.reason);
    if (copies.length > 1) wrong.push(`${describeBad(s)}: parked ${copies.length} times`);
    if (!copy.reason || copy.reason.trim() === '') wrong.push(`${describeBad(s)}: no jobline-reason`);
    if (copy.body !== item.body) wrong.push(`${describeBad(s)}: parked body differs (${copy.body.length} vs ${item.body.length} characters)`);
    if (item.victim && copy.jobId !== item.victim) wrong.push(`${describeBad(s)}: jobline-job-id ${copy.jobId}, expected ${item.victim}`);
  }
  expect(missing, `${label}: bad messages that are not in the DLQ`).toEqual([]);
  expect(wrong, `${label}: DLQ copies`).toEqual([]);
  expect(
    [...parked.entries()].map(([id, copies]) => `${id}: ${copies[0]?.body.slice(0, 80)}`),
    `${label}: unexpected DLQ messages`,
  ).toEqual([]);
  expect(await queueDepth(queues.dlq), `${label}: the DLQ after draining`).toEqual({ visible: '0', inFlight: '0', received: 0 });

  // Job records: the good jobs SUCCEEDED, named victims FAILED with the reason, the others untouched, and no
  // record appeared for a job id that only a bad message carried.
  const { jobs, balances } = await scanTable(table);
  const deps = apiDeps(table, { [type]: queues });
  for (const s of good) {
    const view = (await call(statusEvent(s.jobId!), deps)).body;
    expect({ jobId: s.jobId, status: view.status, error: view.error }, `${label}: good job`).toEqual({ jobId: s.jobId, status: 'SUCCEEDED', error: undefined });
  }
  // A bad message is not bound to the job it names (its type, payload or version differ from the record):
  // it is parked, and the named job is left exactly as it was. Before messages were bound to their
  // records, any such message failed the job it named.
  const named = new Map(bad.filter((s) => (s.item as BadMessage).victim).map((s) => [(s.item as BadMessage).victim!, s]));
  for (const victim of victims) {
    const by = named.get(victim);
    expect(jobs.get(victim)?.status, `${label}: victim ${victim}, named by ${by ? describeBad(by) : 'no message'}`).toBe('PENDING');
  }
  expect(reasons.size, `${label}: every parked message has its reason`).toBe(bad.length);
  const expectedJobs = new Set([...good.map((s) => s.jobId!), ...victims]);
  expect(
    [...jobs.keys()].filter((id) => !expectedJobs.has(id)),
    `${label}: job records no submit created`,
  ).toEqual([]);

  // No bad message had an effect: money moved only by the good transfers, webhooks called only for good jobs.
  if (type === 'transfer') {
    const expected = new Map<string, number>();
    for (const s of good) {
      const p = (s.item as GoodJob).payload as { from: string; to: string; amount: number };
      expected.set(p.from, (expected.get(p.from) ?? 0) - p.amount);
      expected.set(p.to, (expected.get(p.to) ?? 0) + p.amount);
    }
    expect(Object.fromEntries([...balances].toSorted()), `${label}: balances`).toEqual(Object.fromEntries([...expected].toSorted()));
  } else {
    const calls = Object.fromEntries([...receiver.calls].toSorted());
    const expectedCalls = Object.fromEntries(good.map((s) => [s.jobId!, 1] as const).toSorted());
    expect(calls, `${label}: webhook calls`).toEqual(expectedCalls);
  }
}

async function recordVictims(type: TypeName, table: string, count: number, receiverUrl: string): Promise<string[]> {
  // Submitted through the API onto a queue of their own, which nothing processes: their records exist and
  // stay PENDING unless a bad message names them.
  const parking = await createJobQueues(JOB_TYPES[type]);
  const deps = apiDeps(table, { [type]: parking });
  const r = new Prng(SEED ^ 0x71c7);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await call(submitEvent(type, goodPayload(type, r, 10_000 + i, `${receiverUrl}/victim`)), deps);
    expect(response.status, `seed ${SEED}: recording victim ${i}`).toBe(202);
    ids.push(response.body.jobId);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------------------

for (const type of ['transfer', 'webhook'] as const) {
  describe(`message fuzz: ${type} (${JOB_TYPES[type].queue.fifo ? 'FIFO, transactional' : 'standard, leased'}) (seed ${SEED})`, () => {
    it(`parks ${BAD_MESSAGES} bad messages in the DLQ with their reason, while the ${GOOD_JOBS} good jobs of the same batches succeed`, { timeout: 120_000 }, async () => {
      onTestFailed(() => console.error(`message-fuzz (${type}) failed: replay with JOBLINE_FUZZ_SEED=${SEED} npx vitest run test/integration/message-fuzz.test.ts`));
      const started = Date.now();
      receiver.calls.clear();
      const table = await createJobsTable();
      const queues = await createJobQueues(JOB_TYPES[type]);
      const victims = await recordVictims(type, table, VICTIMS, receiver.url);
      const items = plan(type, victims, receiver.url);

      const outcome = await run(type, items, table, queues);
      const mixed = outcome.batches.filter((b) => b.good > 0 && b.bad > 0).length;
      const counts = new Map<string, number>();
      for (const item of items) if (item.kind === 'bad') counts.set(item.category, (counts.get(item.category) ?? 0) + 1);
      const named = items.filter((i) => i.kind === 'bad' && i.victim).length;
      console.log(
        `message-fuzz ${type} seed ${SEED}: ${BAD_MESSAGES} bad + ${GOOD_JOBS} good in ${outcome.batches.length} batches (${mixed} mixed), ${named} naming existing jobs, ${Date.now() - started} ms (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')})`,
      );

      await expectInvariants(type, outcome, table, queues, victims);
      expect(mixed, `seed ${SEED}: batches that mix good and bad messages`).toBeGreaterThanOrEqual(5);
      expect(named, `seed ${SEED}: bad messages naming an existing job`).toBeGreaterThanOrEqual(5);
      expect([...counts.keys()].toSorted(), `seed ${SEED}: categories`).toEqual([...BAD_CATEGORIES].toSorted());
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Bugs this fuzz found (issue 4), each kept as a regression test on the input that triggered it.

describe('message fuzz: regressions', () => {
  async function expectHandled(type: TypeName, bad: Omit<BadMessage, 'kind'>[]): Promise<void> {
    receiver.calls.clear();
    const table = await createJobsTable();
    const queues = await createJobQueues(JOB_TYPES[type]);
    const r = new Prng(SEED);
    const items: PlanItem[] = [{ kind: 'good', payload: goodPayload(type, r, 0, receiver.url) }, ...bad.map((b) => ({ kind: 'bad' as const, ...b }))];
    const outcome = await run(type, items, table, queues);
    await expectInvariants(type, outcome, table, queues, []);
  }

  it('parks a poison message too big for a DLQ copy with attributes without taking the other poison messages of its batch down with it', async () => {
    await expectHandled('webhook', [
      { category: 'huge', note: 'garbage of MAX_MESSAGE_BYTES - 50', body: 'x'.repeat(MAX_MESSAGE_BYTES - 50), group: 'g' },
      { category: 'random-text', note: 'small garbage', body: 'not json', group: 'g' },
    ]);
  });

  it('parks a message whose reason would be huge (an unsupported version of 600 KB)', async () => {
    await expectHandled('transfer', [
      { category: 'wrong-version', note: 'v is a 600 KB string', body: JSON.stringify({ v: 'x'.repeat(600_000), jobId: '00000000-0000-4000-8000-000000000000' }), group: 'g' },
    ]);
  });

  it('parks a schema-failing message that carries the job id of a good message in the same batch (it was once taken for a duplicate)', async () => {
    for (const type of ['transfer', 'webhook'] as const) {
      const table = await createJobsTable();
      const queues = await createJobQueues(JOB_TYPES[type]);
      const payload = goodPayload(type, new Prng(SEED), 0, receiver.url);
      const submitted = await call(submitEvent(type, payload), apiDeps(table, { [type]: queues }));
      expect(submitted.status).toBe(202);
      const jobId = submitted.body.jobId as string;
      const forged = JSON.stringify({ v: 1, jobId, type, payload: { nope: 1 } });
      const sqs = await sqsClient();
      const { MessageId } = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.queue.url,
          MessageBody: forged,
          ...(JOB_TYPES[type].queue.fifo ? { MessageGroupId: String(payload.from), MessageDeduplicationId: 'forged' } : {}),
        }),
      );
      const records = await receiveRecords(queues.queue);
      expect(records).toHaveLength(2);
      const response = await processBatch(records, invocation(), workerDeps(JOB_TYPES[type], table, queues));
      await acknowledge(queues.queue, records, response);
      expect(response.batchItemFailures, `${type}: batch item failures`).toEqual([]);
      expect((await call(statusEvent(jobId), apiDeps(table, { [type]: queues }))).body.status, `${type}: the good job`).toBe('SUCCEEDED');
      const parked = await drainDeadLetters(queues.dlq);
      expect(parked.get(MessageId!)?.[0]?.reason ?? '(not in the DLQ)', `${type}: the forged message's DLQ reason`).toMatch(/does not match its job record|schema/);
    }
  });

  it('parks a webhook message whose payload body is nested 10,000 levels deep (processBatch once threw)', async () => {
    await expectHandled('webhook', [
      {
        category: 'payload-fails-schema',
        note: 'body nested 10,000 levels',
        body: `{"v":1,"jobId":"00000000-0000-4000-8000-000000000001","type":"webhook","payload":{"url":"http://127.0.0.1:9/h","body":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}}`,
        group: 'g',
      },
    ]);
  });
});
