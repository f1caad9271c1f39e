/**
 * SQS emulated in this process by the npm package local-aws-sqs 2.0.2 (AWS JSON and query protocols),
 * loaded with three fixes so that it behaves as SQS does where jobline depends on it. Each fix is a
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
import type { RunningEmulator } from './dynamodb-local';
import { freePort } from './free-port';

const require = createRequire(import.meta.url);

interface LocalAwsSqs {
  createRequestHandler(options: Record<string, unknown>): { requestHandler: (req: unknown, res: unknown) => void };
}

const PATCHES: { why: string; find: string; replace: string }[] = [
  {
    why: 'a visibility change is not a receive',
    find: 'let n=Number(t.record.attributes.ApproximateReceiveCount)+1;t.record.attributes.ApproximateReceiveCount=String(n),n==1&&(',
    replace: 'let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);t.record.attributes.ApproximateReceiveCount=String(n),!i&&n==1&&(',
  },
  {
    why: 'FIFO group lock, and a long poll answers once it has messages',
    find: 'for(let y of S(this,E))if(!y.delayed){if(y.visible){l(this,D,Wt).call(this,y,i);let f=ke({},y);f.record=ke({},f.record),f.record.attributes=ke({},f.record.attributes),r.push(f)}if(r.length==e){clearInterval(c),clearTimeout(n),o();break}}',
    replace:
      '{let g=new Set;if(this.FifoQueue)for(let z of S(this,E))!z.visible&&!z.delayed&&!r.some(q=>q.record.MessageId==z.record.MessageId)&&g.add(z.record.attributes.MessageGroupId);' +
      'for(let y of S(this,E))if(!y.delayed){if(y.visible&&!g.has(y.record.attributes.MessageGroupId)){l(this,D,Wt).call(this,y,i);let f=ke({},y);f.record=ke({},f.record),f.record.attributes=ke({},f.record.attributes),r.push(f)}if(r.length==e){clearInterval(c),clearTimeout(n),o();break}}' +
      'if(r.length>0){clearInterval(c),clearTimeout(n),o()}}',
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

/** `port`: a fixed port, or 0 / none for any free port. Queue URLs name it (http://127.0.0.1:<port>/<account>/<queue>). */
export async function startSqsEmulator(options: { port?: number; region?: string; accountId?: string } = {}): Promise<RunningEmulator & { server: Server }> {
  const port = options.port || (await freePort());
  const { requestHandler } = loadPatchedLocalAwsSqs().createRequestHandler({
    port,
    hostname: '127.0.0.1',
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    // Local runs create and delete queues freely; AWS's 60 s wait after a delete would only get in the way.
    emulateQueueCreationLifecycle: false,
  });
  const server = createServer(requestHandler as Parameters<typeof createServer>[1]);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
