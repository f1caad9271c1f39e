/**
 * SQS emulated in this process by the npm package local-aws-sqs 2.0.2 (AWS JSON and query protocols),
 * loaded with four fixes so that it behaves as SQS does where jobline depends on it. Each fix is a
 * literal replacement in the package's code; if the package changes, loading fails loudly instead of
 * silently running unpatched (the version is pinned in package.json).
 *
 * Fixed here:
 * 1. ChangeMessageVisibility counted as a receive (ApproximateReceiveCount + 1), so every backoff
 *    brought a message closer to the DLQ than SQS would.
 * 2. No FIFO in-flight group lock: SQS hands out no message of a group while another message of that
 *    group is in flight; the emulator did. (The local poller also runs each group in order, in one lane.)
 * 3. A long poll with MaxNumberOfMessages > 1 waited the full WaitTimeSeconds unless the batch filled;
 *    SQS answers as soon as it has messages.
 * 4. No fair queues: a standard queue's messages with a MessageGroupId were handed out oldest first
 *    whatever their group; SQS serves quiet groups before noisy ones (FAIR_QUEUE_* below).
 *
 *
 * Added for `jobline dev --persist` (local/persist.ts): the emulator holds everything in memory, so each
 * queue gets methods to take a snapshot of its messages and to put them back (bodies, attributes, message
 * attributes, receive counts, FIFO sequence numbers; remaining delays and retention), and a queue restored
 * from a snapshot takes the attributes of the first CreateQueue of its name (the template's, which may
 * have changed since) instead of refusing them as a different queue.
 *
 * Left as they are (they do not change what jobline observes, or are handled where they matter):
 * - ApproximateNumberOfMessages counts in-flight messages too (the live view reads DLQ depth, which has
 *   no consumers, so its count is exact);
 * - `MessageSystemAttributeNames` is ignored: ask with `AttributeNames: ['All']`;
 * - every receive takes at least one 10 ms scan of the queue.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { readSqsSnapshot, restoreOrder, writeSqsSnapshot, type SqsMessageSnapshot, type SqsQueueSnapshot, type SqsSnapshot } from '../persist';
import type { RunningEmulator } from './dynamodb-local';
import { freePort } from './free-port';

const require = createRequire(import.meta.url);

/** What the patches below add to each queue of the emulator (local-aws-sqs's Queue). */
interface PatchedQueue {
  QueueName: string;
  Tags: Record<string, string>;
  getAttributes(names: string[]): Record<string, string> | undefined;
  __joblineSnapshot(): { sequences: Record<string, { seqId: string; count: number }>; messages: SqsMessageSnapshot[] };
  __joblineRestore(state: { sequences?: Record<string, { seqId: string; count: number }>; messages: readonly SqsMessageSnapshot[] }): void;
  /** Set on a queue restored from a snapshot: the first CreateQueue of its name adopts that request's attributes. */
  __joblineRestored?: boolean;
}

interface LocalAwsSqs {
  createRequestHandler(options: Record<string, unknown>): { requestHandler: (req: unknown, res: unknown) => void; service: { Queues: PatchedQueue[] } };
}

/**
 * SQS fair queues (July 2025): on a standard queue whose messages carry a MessageGroupId, a group is noisy
 * when it holds more than about 10% of the queue's in-flight messages while 30 or more are in flight, and
 * SQS hands out the quiet groups' messages first. The emulator applies that rule as documented.
 */
export const FAIR_QUEUE_MIN_IN_FLIGHT = 30;
export const FAIR_QUEUE_NOISY_SHARE = 0.1;

const PATCHES: { why: string; find: string; replace: string }[] = [
  {
    why: 'a visibility change is not a receive',
    find: 'let n=Number(t.record.attributes.ApproximateReceiveCount)+1;t.record.attributes.ApproximateReceiveCount=String(n),n==1&&(',
    replace: 'let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);t.record.attributes.ApproximateReceiveCount=String(n),!i&&n==1&&(',
  },
  {
    why: 'FIFO group lock, fair queues, and a long poll answers once it has messages',
    find: 'for(let y of S(this,E))if(!y.delayed){if(y.visible){l(this,D,Wt).call(this,y,i);let f=ke({},y);f.record=ke({},f.record),f.record.attributes=ke({},f.record.attributes),r.push(f)}if(r.length==e){clearInterval(c),clearTimeout(n),o();break}}',
    replace:
      '{let g=new Set,L=S(this,E);if(this.FifoQueue)for(let z of L)!z.visible&&!z.delayed&&!r.some(q=>q.record.MessageId==z.record.MessageId)&&g.add(z.record.attributes.MessageGroupId);' +
      // Fair queues (standard queues with message groups): with 30 or more messages in flight, a group holding
      // more than 10% of them is noisy, and the other groups' messages are handed out first.
      'else{let m=new Map,T=0,N=new Set;for(let z of L)if(!z.visible&&!z.delayed){T++;let k=z.record.attributes.MessageGroupId;k!==void 0&&m.set(k,(m.get(k)||0)+1)}' +
      'if(T>=' +
      FAIR_QUEUE_MIN_IN_FLIGHT +
      ')for(let[k,v]of m)v>T*' +
      FAIR_QUEUE_NOISY_SHARE +
      '&&N.add(k);' +
      'N.size>0&&(L=[...L.filter(y=>!N.has(y.record.attributes.MessageGroupId)),...L.filter(y=>N.has(y.record.attributes.MessageGroupId))])}' +
      'for(let y of L)if(!y.delayed){if(y.visible&&!g.has(y.record.attributes.MessageGroupId)){l(this,D,Wt).call(this,y,i);let f=ke({},y);f.record=ke({},f.record),f.record.attributes=ke({},f.record.attributes),r.push(f)}if(r.length==e){clearInterval(c),clearTimeout(n),o();break}}' +
      'if(r.length>0){clearInterval(c),clearTimeout(n),o()}}',
  },
  {
    why: 'persistence: a delayed message knows when its delay ends',
    find: 'let i={visible:!0,record:t,delayed:!0},r=(isNaN(e)?this.DelaySeconds:e)*1e3;',
    replace: 'let i={visible:!0,record:t,delayed:!0},r=(isNaN(e)?this.DelaySeconds:e)*1e3;i.delayUntil=Date.now()+r;',
  },
  {
    // E: the queue's message entries ({ visible, delayed, record, timers }); X: FIFO sequence state per group;
    // Oe: removes a message by id; je: moves a message to the dead-letter queue (what a visibility timeout
    // does to a message received maxReceiveCount times); de: the dead-letter queue's name.
    why: 'persistence: snapshot and restore of a queue',
    find: 'clearRecords(){',
    replace:
      '__joblineSnapshot(){let t=Date.now();return{sequences:S(this,X),messages:S(this,E).map(e=>({record:e.record,inFlight:!e.visible,...(e.delayed&&e.delayUntil>t?{delayedUntil:e.delayUntil}:{})}))}}' +
      '__joblineRestore(t){C(this,X,t.sequences||{});let e=Date.now();for(let i of t.messages){' +
      'let r=Number(i.record.attributes.SentTimestamp)+this.MessageRetentionPeriod*1e3-e;if(!(r>0))continue;' +
      'let n=this.newRecord(i.record,Math.max(0,(i.delayedUntil||0)-e)/1e3);' +
      'clearTimeout(n.tmRetention),n.tmRetention=setTimeout(()=>{S(this,Oe).call(this,n.record.MessageId)},r),n.tmRetention.unref();' +
      'i.inFlight&&this.RedrivePolicy&&Number(n.record.attributes.ApproximateReceiveCount)>=this.RedrivePolicy.maxReceiveCount&&S(this,je).call(this,n)}}' +
      '__joblineAdopt(t){this.RedrivePolicy=void 0,C(this,de,void 0),this.RedriveAllowPolicy=void 0,this.setAttributes(t)}' +
      'clearRecords(){',
  },
  {
    why: 'persistence: a restored queue takes the attributes of its first CreateQueue',
    find: 'return n?(Ir(n,r),n.QueueUrl):',
    replace: 'return n?(n.__joblineRestored?(n.__joblineRestored=!1,n.__joblineAdopt(r)):Ir(n,r),n.QueueUrl):',
  },
];

let loaded: LocalAwsSqs | undefined;

function loadPatchedLocalAwsSqs(): LocalAwsSqs {
  if (loaded) return loaded;
  const file = require.resolve('local-aws-sqs');
  let source = readFileSync(file, 'utf8');
  for (const patch of PATCHES) {
    if (source.split(patch.find).length !== 2) {
      throw new Error(`local-aws-sqs is not the version jobline patches (${patch.why}); pin local-aws-sqs@2.0.2 or review local/emulators/sqs.ts`);
    }
    source = source.replace(patch.find, () => patch.replace);
  }
  const mod = new Module(file) as Module & { _compile(code: string, filename: string): void; paths: string[] };
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  mod._compile(source, file);
  loaded = mod.exports as LocalAwsSqs;
  return loaded;
}

/** A queue's attributes as CreateQueue takes them: what GetQueueAttributes reports less the counts and timestamps. */
const CREATE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'SqsManagedSseEnabled',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'FifoQueue',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'ContentBasedDeduplication',
];

export interface SqsEmulatorOptions {
  /** A fixed port, or 0 / none for any free port. Queue URLs name it (http://127.0.0.1:<port>/<account>/<queue>). */
  port?: number;
  region?: string;
  accountId?: string;
  /**
   * Keep the queues and their messages in this file (local/persist.ts): read at start when it exists,
   * written on stop, when the process exits, and every `persistIntervalMs` while something changed.
   */
  persistFile?: string;
  /** Default 2000. */
  persistIntervalMs?: number;
}

export interface RunningSqsEmulator extends RunningEmulator {
  server: Server;
  /** Every queue with its messages, as --persist saves them. */
  snapshot(): SqsSnapshot;
  /** What was read from `persistFile` at start (undefined: nothing, or no persistFile). */
  restored?: { queues: number; messages: number };
}

export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<RunningSqsEmulator> {
  const port = options.port || (await freePort());
  const saved = options.persistFile ? readSqsSnapshot(options.persistFile) : undefined;
  const ordered = saved ? restoreOrder(saved.queues) : [];
  const { requestHandler, service } = loadPatchedLocalAwsSqs().createRequestHandler({
    port,
    hostname: '127.0.0.1',
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    // Local runs create and delete queues freely; AWS's 60 s wait after a delete would only get in the way.
    emulateQueueCreationLifecycle: false,
    queues: ordered.map((q) => ({ QueueName: q.name, Attributes: q.attributes, ...(Object.keys(q.tags ?? {}).length > 0 ? { tags: q.tags } : {}) })),
  });
  let restored: RunningSqsEmulator['restored'];
  if (saved) {
    for (const q of ordered) {
      const queue = service.Queues.find((candidate) => candidate.QueueName === q.name);
      if (!queue) continue;
      queue.__joblineRestore({ ...(q.sequences ? { sequences: q.sequences } : {}), messages: q.messages });
      queue.__joblineRestored = true;
    }
    restored = { queues: ordered.length, messages: ordered.reduce((sum, q) => sum + q.messages.length, 0) };
  }

  const snapshot = (): SqsSnapshot => ({
    version: 1,
    savedAt: new Date().toISOString(),
    queues: service.Queues.map((queue): SqsQueueSnapshot => {
      const all = queue.getAttributes(['All']) ?? {};
      const attributes = Object.fromEntries(CREATE_ATTRIBUTES.filter((name) => all[name] !== undefined).map((name) => [name, all[name]!]));
      const { sequences, messages } = queue.__joblineSnapshot();
      return { name: queue.QueueName, attributes, tags: { ...queue.Tags }, ...(Object.keys(sequences).length > 0 ? { sequences } : {}), messages };
    }),
  });

  // Saving: what changed since the last write, every few seconds, on stop, and as the process exits.
  let lastWritten: string | undefined;
  const save = () => {
    if (!options.persistFile) return;
    const { savedAt: _savedAt, ...state } = snapshot();
    const content = JSON.stringify(state);
    if (content === lastWritten) return;
    writeSqsSnapshot(options.persistFile, JSON.stringify({ version: 1, savedAt: new Date().toISOString(), queues: state.queues }));
    lastWritten = content;
  };
  const saveOnExit = () => {
    try {
      save();
    } catch {
      // The process is ending: nothing to tell anyone.
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.persistFile) {
    save();
    timer = setInterval(() => {
      try {
        save();
      } catch (error) {
        console.error(`jobline: could not save the SQS emulator's state to ${options.persistFile}: ${(error as Error).message}`);
      }
    }, options.persistIntervalMs ?? 2000);
    timer.unref();
    process.once('exit', saveOnExit);
  }

  const server = createServer(requestHandler as Parameters<typeof createServer>[1]);
  server.keepAliveTimeout = 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    clearInterval(timer);
    process.removeListener('exit', saveOnExit);
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    snapshot,
    ...(restored ? { restored } : {}),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }).then(() => {
        clearInterval(timer);
        process.removeListener('exit', saveOnExit);
        save();
      }),
  };
}
