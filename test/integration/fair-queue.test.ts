// SQS fair queues in the local emulator (local/emulators/sqs.ts, fix 4), against AWS's documented rule: on a
// standard queue whose messages carry a MessageGroupId, a group holding more than about 10% of the in-flight
// messages while 30 or more are in flight is noisy, and the quiet groups' messages are handed out first.
// And jobline's side: a job type's tenantKey becomes its messages' MessageGroupId, from submit and from the
// sweeper alike.
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ensureQueue } from '../../local/provision';
import { sqsClient } from '../../shared/aws/clients';
import { defineJob } from '../../shared/jobs/define';
import { tenantGroupId } from '../../shared/jobs/tenant';
import { webhookType } from '../../app/jobs/webhook/type';
import { webhook } from '../../app/jobs/webhook/handler';
import { ROUTES } from '../../shared/api/routes';
import type { JobType } from '../../shared/jobs/define';
import { sweep } from '../../shared/sweeper/sweep';
import { apiDeps, asCaller, call } from '../support/api';
import { createJobQueues, createJobsTable, receiveRecords, sweepDepsFor, uniqueName } from '../support/resources';

const sqs = await sqsClient();

async function queueWith(groups: { group?: string; count: number }[]) {
  const { url } = await ensureQueue(sqs, { QueueName: uniqueName('fair'), Attributes: {} });
  let n = 0;
  for (const { group, count } of groups) {
    for (let i = 0; i < count; i += 10) {
      const entries = Array.from({ length: Math.min(10, count - i) }, () => ({
        Id: String(n),
        MessageBody: `${group ?? 'none'}-${n++}`,
        ...(group ? { MessageGroupId: group } : {}),
      }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    }
  }
  return url;
}

const receive = async (url: string, max: number) => {
  const bodies: string[] = [];
  while (bodies.length < max) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: Math.min(10, max - bodies.length), VisibilityTimeout: 300 }));
    if (!Messages?.length) break;
    bodies.push(...Messages.map((m) => m.Body!));
  }
  return bodies;
};
const groupsOf = (bodies: string[]) => bodies.map((b) => b.split('-')[0]);

describe('fair queues in the SQS emulator', () => {
  it('serves a quiet group first while a noisy one holds more than 10% of 30+ in-flight messages', async () => {
    const url = await queueWith([{ group: 'a', count: 100 }]);
    expect(new Set(groupsOf(await receive(url, 40)))).toEqual(new Set(['a'])); // 40 of a in flight: a is noisy
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Array.from({ length: 5 }, (_, i) => ({ Id: String(i), MessageBody: `b-${i}`, MessageGroupId: 'b' })) }));
    // b's messages are the newest, yet they come first; then a's again.
    expect(groupsOf(await receive(url, 10))).toEqual(['b', 'b', 'b', 'b', 'b', 'a', 'a', 'a', 'a', 'a']);
  });

  it('hands out oldest first below 30 in flight, and without message groups', async () => {
    const few = await queueWith([{ group: 'a', count: 40 }]);
    await receive(few, 20); // 20 in flight: nobody is noisy yet
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: few, Entries: [{ Id: '1', MessageBody: 'b-1', MessageGroupId: 'b' }] }));
    expect(groupsOf(await receive(few, 10))).toEqual(Array(10).fill('a'));

    const plain = await queueWith([{ count: 100 }]);
    await receive(plain, 40);
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: plain, Entries: [{ Id: '1', MessageBody: 'late-1' }] }));
    expect(groupsOf(await receive(plain, 10))).toEqual(Array(10).fill('none'));
  });
});

describe('tenant keys', () => {
  it('a tenant is its own MessageGroupId when SQS takes it as one, else a hash that keeps it one group', () => {
    expect(tenantGroupId('customer-42')).toBe('customer-42');
    expect(tenantGroupId('arn:aws:sts::123456789012:assumed-role/Role/session')).toBe('arn:aws:sts::123456789012:assumed-role/Role/session');
    const long = `arn:aws:sts::123456789012:assumed-role/${'r'.repeat(64)}/${'s'.repeat(64)}`;
    expect(tenantGroupId(long)).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(tenantGroupId(long)).toBe(tenantGroupId(long));
    expect(tenantGroupId('')).not.toBe(tenantGroupId(' '));
    expect(tenantGroupId('an tenant with spaces')).toMatch(/^sha256:/);
  });

  it('the webhook example: the target host is the tenant', () => {
    expect(webhookType.tenantKey!({ url: 'https://hooks.example.com/a?b=1', body: {}, timeoutSeconds: 10 }, 'caller')).toBe('hooks.example.com');
  });

  it('is for standard queues only', () => {
    expect(() =>
      defineJob({
        name: 'ordered',
        kind: 'leased',
        schema: webhookType.schema,
        queue: { fifo: true, batchSize: 10 },
        groupKey: () => 'g',
        tenantKey: () => 't',
        handler: async () => ({}),
      }),
    ).toThrow(/tenantKey is for standard queues/);
  });
});

describe('a job type with a tenant key', () => {
  it("sends its jobs' messages with the tenant as MessageGroupId, from the API and from the sweeper", async () => {
    const type = webhook as unknown as JobType;
    const table = await createJobsTable();
    const queues = await createJobQueues(type);
    // The worker never runs here: the target is never called.
    const body = { url: 'http://127.0.0.1:9/tenant-a/hook', body: {} };
    const response = await call(asCaller(undefined, 'POST', '/jobs/webhook', ROUTES.submit, 'webhook', body), apiDeps(table, { webhook: queues }));
    expect(response.status).toBe(202);
    const [sent] = await receiveRecords(queues.queue);
    expect(sent!.attributes.MessageGroupId).toBe('127.0.0.1:9');
    // The message is lost (deleted unprocessed): the sweeper sends the job again, in the same group.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queues.queue.url, ReceiptHandle: sent!.receiptHandle }));
    const report = await sweep(sweepDepsFor(table, type, queues, Date.now() + 600_000));
    expect(report.resent).toBe(1);
    const [again] = await receiveRecords(queues.queue);
    expect(again!.attributes.MessageGroupId).toBe('127.0.0.1:9');
  });
});
