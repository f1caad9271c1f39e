// --persist: the SQS emulator's queues and messages survive a restart as they were (bodies, attributes,
// message attributes, receive counts, delays, FIFO order; in-flight messages visible again, or in the DLQ
// when their receives are spent), and a job the local runtime had queued is there after a restart and completes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSqsEmulator } from '../../local/emulators/sqs';
import { jobTypesOf } from '../../local/live-view';
import { DYNAMODB_STATE_FILE, SQS_STATE_FILE } from '../../local/persist';
import { ensureQueue } from '../../local/provision';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime';
import { ensureAssembly } from '../../local/synth';

const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

async function sqsAt(file: string, persistIntervalMs = 100) {
  const emulator = await startSqsEmulator({ persistFile: file, persistIntervalMs });
  const client = new SQSClient({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const stop = async () => {
    client.destroy();
    await emulator.stop();
  };
  stops.push(stop);
  return { emulator, client, stop };
}

const receive = (client: SQSClient, QueueUrl: string, extra: { VisibilityTimeout?: number; MaxNumberOfMessages?: number } = {}) =>
  client
    .send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageAttributeNames: ['All'], ...extra }))
    .then((r) => r.Messages ?? []);

describe('the SQS emulator with a persistence file', () => {
  it('keeps queues and messages across a restart', async () => {
    const file = path.join(tempDir('jobline-persist-sqs-'), SQS_STATE_FILE);
    const first = await sqsAt(file);
    let sqs = first.client;
    const dlq = await ensureQueue(sqs, { QueueName: 'work-dlq', Attributes: {} });
    const work = await ensureQueue(sqs, {
      QueueName: 'work',
      Attributes: { VisibilityTimeout: '300', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }) },
    });
    const fifo = await ensureQueue(sqs, { QueueName: 'ordered.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } });

    // In flight (received once, not deleted): visible again after the restart, its receive count kept.
    const inFlight = await sqs.send(new SendMessageCommand({ QueueUrl: work.url, MessageBody: 'in flight' }));
    expect((await receive(sqs, work.url))[0]?.Body).toBe('in flight');
    // Received as often as the redrive policy allows and still in flight: in the DLQ after the restart,
    // as its visibility timeout would have put it.
    await sqs.send(new SendMessageCommand({ QueueUrl: work.url, MessageBody: 'spent' }));
    expect((await receive(sqs, work.url, { VisibilityTimeout: 0 }))[0]?.Body).toBe('spent');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await receive(sqs, work.url))[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    // Delayed: still delayed after the restart.
    await sqs.send(new SendMessageCommand({ QueueUrl: work.url, MessageBody: 'delayed', DelaySeconds: 600 }));
    // Visible, with message attributes of both kinds.
    const visible = await sqs.send(
      new SendMessageCommand({
        QueueUrl: work.url,
        MessageBody: 'visible',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'k' }, raw: { DataType: 'Binary', BinaryValue: Uint8Array.from([1, 2, 3]) } },
      }),
    );
    // FIFO: order and sequence numbers.
    const sent: { id: string; seq: string }[] = [];
    for (const n of [1, 2, 3]) {
      const r = await sqs.send(new SendMessageCommand({ QueueUrl: fifo.url, MessageBody: `f${n}`, MessageGroupId: 'g', MessageDeduplicationId: `d${n}` }));
      sent.push({ id: r.MessageId!, seq: r.SequenceNumber! });
    }
    expect((await receive(sqs, fifo.url))[0]?.Body).toBe('f1');

    // Saved while it runs, not only on stop.
    await expect.poll(() => (existsSync(file) ? readFileSync(file, 'utf8') : ''), { timeout: 5_000, interval: 50 }).toContain('"f3"');
    await first.stop();

    const second = await sqsAt(file);
    sqs = second.client;
    expect(second.emulator.restored).toEqual({ queues: 3, messages: 7 });
    // The template's attributes are taken by the first CreateQueue of a restored queue (they may have changed)...
    const again = await ensureQueue(sqs, {
      QueueName: 'work',
      Attributes: { VisibilityTimeout: '600', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }) },
    });
    expect(again.url).toBe(work.url.replace(/:\d+\//, `:${new URL(second.emulator.endpoint).port}/`));
    const attributes = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: again.url, AttributeNames: ['All'] }))).Attributes!;
    expect(attributes).toMatchObject({ VisibilityTimeout: '600', ApproximateNumberOfMessagesDelayed: '1' });
    expect(JSON.parse(attributes.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 });
    // ... and from then on CreateQueue is SQS's again: other attributes are another queue.
    await expect(ensureQueue(sqs, { QueueName: 'work', Attributes: { VisibilityTimeout: '30' } })).rejects.toThrow(/already exists/);

    const messages = await receive(sqs, again.url, { MaxNumberOfMessages: 10 });
    expect(messages.map((m) => m.Body).sort()).toEqual(['in flight', 'visible']);
    const wasInFlight = messages.find((m) => m.Body === 'in flight')!;
    expect(wasInFlight.MessageId).toBe(inFlight.MessageId);
    expect(wasInFlight.Attributes?.ApproximateReceiveCount).toBe('2');
    const withAttributes = messages.find((m) => m.Body === 'visible')!;
    expect(withAttributes.MessageId).toBe(visible.MessageId);
    expect(withAttributes.MD5OfMessageAttributes).toBe(visible.MD5OfMessageAttributes);
    expect(withAttributes.MessageAttributes?.kind).toEqual({ DataType: 'String', StringValue: 'k' });
    expect([...(withAttributes.MessageAttributes?.raw?.BinaryValue ?? [])]).toEqual([1, 2, 3]);
    expect(withAttributes.Attributes?.ApproximateReceiveCount).toBe('1');
    expect((await receive(sqs, dlq.url)).map((m) => m.Body)).toEqual(['spent']);

    const ordered = await receive(sqs, fifo.url, { MaxNumberOfMessages: 10 });
    expect(ordered.map((m) => [m.Body, m.MessageId, m.Attributes?.SequenceNumber])).toEqual(sent.map((s, i) => [`f${i + 1}`, s.id, s.seq]));
    const next = await sqs.send(new SendMessageCommand({ QueueUrl: fifo.url, MessageBody: 'f4', MessageGroupId: 'g', MessageDeduplicationId: 'd4' }));
    expect(BigInt(next.SequenceNumber!)).toBeGreaterThan(BigInt(sent[2]!.seq));
  });
});

describe('the local runtime with persistDir', () => {
  let assemblyDir: string;
  beforeAll(async () => {
    assemblyDir = (await ensureAssembly({ assemblyDir: tempDir('jobline-persist-assembly-'), force: true })).assemblyDir;
  });

  async function start(persistDir: string, events: string[]): Promise<LocalRuntime> {
    const options: LocalRuntimeOptions = { assemblyDir, port: 0, emulatorPorts: { dynamodb: 0, sqs: 0 }, persistDir, onEvent: (m) => events.push(m) };
    const runtime = await startLocalRuntime(options);
    stops.push(() => runtime.stop());
    return runtime;
  }

  it('a queued job is there after a restart, and completes', async () => {
    const persistDir = tempDir('jobline-persist-runtime-');
    const firstEvents: string[] = [];
    const first = await start(persistDir, firstEvents);
    expect(firstEvents.some((e) => e.startsWith(`persisting DynamoDB Local's tables and the SQS emulator's queues and messages in ${persistDir} (no sqs.json yet`))).toBe(true);
    // A second runtime on the same directory is refused while this one runs.
    await expect(startLocalRuntime({ assemblyDir, port: 0, emulatorPorts: { dynamodb: 0, sqs: 0 }, persistDir })).rejects.toThrow(/is in use by another jobline dev/);

    // The transfer worker is not polling: the job stays queued.
    const poller = [...first.pollers.entries()].find(([id]) => id.toLowerCase().includes('transfer'))![1];
    await poller.stop();
    const submitted = await fetch(`${first.apiUrl}/jobs/transfer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'persist-a', to: 'persist-b', amount: 7 }),
    });
    expect(submitted.status).toBe(202);
    const { jobId } = (await submitted.json()) as { jobId: string };
    const queueUrl = jobTypesOf(first).find((t) => t.type === 'transfer')!.queueUrl;
    const depth = await first.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(depth.Attributes?.ApproximateNumberOfMessages).toBe('1');
    expect(((await (await fetch(`${first.apiUrl}/jobs/${jobId}`)).json()) as { status: string }).status).toBe('PENDING');
    await first.stop();

    // On disk: DynamoDB Local's database, and the message with the job's id.
    expect(existsSync(path.join(persistDir, DYNAMODB_STATE_FILE))).toBe(true);
    expect(readFileSync(path.join(persistDir, SQS_STATE_FILE), 'utf8')).toContain(jobId);

    const events: string[] = [];
    const second = await start(persistDir, events);
    expect(events.some((e) => /\(restored \d+ queues with 1 message from sqs\.json\)$/.test(e))).toBe(true);
    await expect
      .poll(async () => (await (await fetch(`${second.apiUrl}/jobs/${jobId}`)).json()) as { status: string; attempts: number }, { timeout: 30_000, interval: 200 })
      .toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { from: 'persist-a', to: 'persist-b', amount: 7 } });
  }, 240_000);
});
