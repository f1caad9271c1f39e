// Differences between the local runtime and AWS that were fixed, each against the AWS behaviour it follows
// (docs/local-vs-aws.md): execution environments (frozen between invocations, memory, payload limits,
// Lambda's environment variables), the HTTP API's answers, and the SQS event source (filters, 6 MB events,
// FIFO scaling). Real processes, a real gateway and the SQS emulator; a handler written for the test.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway, type GatewayRoute } from '../../local/gateway';
import { FunctionPool, LAMBDA_PATH, type FunctionPoolOptions, type FunctionSpec, type InvokeResult } from '../../local/lambda/function-pool';
import { MAX_INVOKE_PAYLOAD_BYTES } from '../../local/lambda/sqs-event';
import { ensureQueue } from '../../local/provision';
import { SqsPoller, type PollerConfig } from '../../local/sqs-poller';
import { SQS_DEFAULT_MAX_CONCURRENCY } from '../../local/template/stack-model';
import { sqsClient } from '../../shared/aws/clients';
import { uniqueName } from '../support/resources';
import { Sha256 } from '../support/sha256';

const HANDLER = `
let ticks = 0;
let interval;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = async (event) => {
  if (event.version === '2.0') {
    if (event.rawPath === '/sleep') await sleep(5000);
    if (event.rawPath === '/big') return { statusCode: 200, body: 'x'.repeat(7 * 1024 * 1024) };
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
  }
  switch (event.action) {
    case 'env':
      return { env: process.env, offset: new Date(2026, 0, 1).getTimezoneOffset(), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, cwd: process.cwd() };
    case 'tick':
      interval ??= setInterval(() => ticks++, 10);
      return ticks;
    case 'ticks':
      return ticks;
    case 'oom': {
      const keep = [];
      for (;;) keep.push(new Array(100000).fill(Math.random()));
    }
    case 'big':
      return 'x'.repeat(event.bytes);
    default:
      return { echo: event };
  }
};
`;

let dir: string;
const pools: FunctionPool[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'jobline-fidelity-'));
  writeFileSync(path.join(dir, 'index.mjs'), HANDLER);
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

function pool(overrides: Partial<FunctionSpec> = {}, options: Partial<FunctionPoolOptions> = {}): FunctionPool {
  const p = new FunctionPool(
    {
      name: 'fidelity',
      file: path.join(dir, 'index.mjs'),
      exportName: 'handler',
      codeDir: dir,
      timeoutSeconds: 10,
      memoryMb: 256,
      environment: { AWS_REGION: 'eu-west-1', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', OWN: 'mine' },
      ...overrides,
    },
    { maxEnvironments: 2, ...options },
  );
  pools.push(p);
  return p;
}

const resultOf = (outcome: InvokeResult) => {
  if (!outcome.ok) throw new Error(`${outcome.kind}: ${outcome.errorType}: ${outcome.errorMessage}`);
  return outcome.result;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** The process's state letter in /proc (T: stopped), on Linux. */
const procState = (pid: number) => (existsSync(`/proc/${pid}/stat`) ? /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] : undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('execution environments', () => {
  // The variables Lambda defines (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
  // with Lambda's PATH instead of the host's; no other variable of the host reaches the function.
  it("see Lambda's environment variables and none of the host's", async () => {
    process.env.JOBLINE_FIDELITY_HOST_ONLY = 'host';
    try {
      const { env, offset, timeZone, cwd } = resultOf(await pool().invoke({ action: 'env' })) as { env: Record<string, string>; offset: number; timeZone: string; cwd: string };
      expect(env).toMatchObject({
        PATH: `${path.dirname(process.execPath)}:${LAMBDA_PATH}`,
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        OWN: 'mine',
        _HANDLER: 'index.handler',
        AWS_REGION: 'eu-west-1',
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: 'fidelity',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fidelity',
        LAMBDA_TASK_ROOT: path.resolve(dir),
      });
      expect(env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      expect(env.LAMBDA_RUNTIME_DIR).toMatch(/local[/\\]lambda$/);
      expect(env.JOBLINE_FIDELITY_HOST_ONLY).toBeUndefined();
      expect(env.HOME).toBeUndefined();
      expect(offset).toBe(0);
      expect(timeZone).toBe('UTC');
      expect(path.resolve(cwd)).toBe(path.resolve(env.LAMBDA_TASK_ROOT!));
    } finally {
      delete process.env.JOBLINE_FIDELITY_HOST_ONLY;
    }
  });

  // "Lambda freezes the execution environment" between invocations and thaws it for the next one
  // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): a timer started by one
  // invocation does not run while the environment is idle.
  it.skipIf(process.platform === 'win32')('are frozen between invocations: background timers stop while idle', async () => {
    const p = pool();
    expect(resultOf(await p.invoke({ action: 'tick' }))).toBe(0);
    const [pid] = p.pids();
    await sleep(400);
    if (existsSync('/proc')) expect(procState(pid!)).toBe('T');
    const ticks = resultOf(await p.invoke({ action: 'ticks' })) as number;
    // Running, a 10 ms interval would have ticked ~40 times; frozen 10 ms after the answer, it ticks once or twice.
    expect(ticks).toBeLessThan(8);
    expect(p.stats.coldStarts).toBe(1);
  });

  it.skipIf(process.platform === 'win32')('are still stopped and killed when frozen', async () => {
    const p = pool();
    resultOf(await p.invoke({ action: 'tick' }));
    const [pid] = p.pids();
    await sleep(100);
    if (existsSync('/proc')) expect(procState(pid!)).toBe('T');
    await p.stop();
    expect(alive(pid!)).toBe(false);
  });

  // Lambda stops a function that exceeds its memory: "Error: Runtime exited with error: signal: killed"
  // (Runtime.ExitError, https://repost.aws/knowledge-center/lambda-runtime-error; memory:
  // https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
  it('that exceed their memory are killed, and the invocation fails as in Lambda', async () => {
    const logs: string[] = [];
    const p = pool({ memoryMb: 128 }, { onLog: (_, line) => logs.push(line) });
    const outcome = await p.invoke({ action: 'oom' });
    expect(outcome).toMatchObject({
      ok: false,
      kind: 'crash',
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/),
    });
    expect(p.stats.outOfMemory).toBe(1);
    expect(logs.some((l) => l.startsWith('Runtime.OutOfMemory'))).toBe(true);
    expect(p.pids()).toEqual([]);
    // The next invocation gets a new environment.
    expect(resultOf(await p.invoke({ action: 'ticks' }))).toBe(0);
  });

  // Invocation payload: 6 MB each for request and response (synchronous):
  // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html. A request over it is refused
  // (RequestTooLargeException, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html); a response
  // over it fails the invocation (Function.ResponseSizeTooLarge).
  it('refuse request payloads over 6 MB and fail responses over 6 MB', async () => {
    const p = pool();
    const refused = await p.invoke({ action: 'echo', data: 'x'.repeat(MAX_INVOKE_PAYLOAD_BYTES) });
    expect(refused).toMatchObject({ ok: false, kind: 'too-large', errorType: 'RequestTooLargeException' });
    expect(p.stats.coldStarts).toBe(0);

    const tooBig = await p.invoke({ action: 'big', bytes: MAX_INVOKE_PAYLOAD_BYTES });
    expect(tooBig).toMatchObject({ ok: false, kind: 'error', errorType: 'Function.ResponseSizeTooLarge' });
    const fits = resultOf(await p.invoke({ action: 'big', bytes: MAX_INVOKE_PAYLOAD_BYTES - 2 }));
    expect((fits as string).length).toBe(MAX_INVOKE_PAYLOAD_BYTES - 2);
    expect(p.stats.coldStarts).toBe(1);
  });
});

describe('the HTTP API', () => {
  let gateway: Gateway;
  let api: FunctionPool;
  let slow: FunctionPool;

  beforeAll(async () => {
    api = new FunctionPool(
      { name: 'api', file: path.join(dir, 'index.mjs'), exportName: 'handler', codeDir: dir, timeoutSeconds: 1, memoryMb: 256, environment: {} },
      { maxEnvironments: 4 },
    );
    slow = new FunctionPool(
      { name: 'slow', file: path.join(dir, 'index.mjs'), exportName: 'handler', codeDir: dir, timeoutSeconds: 10, memoryMb: 256, environment: {} },
      { maxEnvironments: 1 },
    );
    const routes: GatewayRoute[] = [
      { routeKey: 'GET /echo/{name}', authorizationType: 'AWS_IAM', invoke: (e) => api.invoke(e) },
      { routeKey: 'POST /echo', invoke: (e) => api.invoke(e) },
      { routeKey: 'GET /sleep', invoke: (e) => api.invoke(e) },
      { routeKey: 'GET /big', invoke: (e) => api.invoke(e) },
      { routeKey: 'GET /slow', integrationTimeoutMs: 300, invoke: (e) => slow.invoke({ ...(e as object), rawPath: '/sleep' }) },
    ];
    gateway = await startGateway(routes, { port: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([api.stop(), slow.stop()]);
  });

  // A Lambda function error, a function timeout included, is HTTP API's 500 {"message":"Internal Server Error"}
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html); 503 is
  // the integration timeout's, 30 s at most (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
  it('answers a function timeout with 500 and the integration timeout with 503', async () => {
    const timedOut = await fetch(`${gateway.url}/sleep`);
    expect(timedOut.status).toBe(500);
    expect(await timedOut.json()).toEqual({ message: 'Internal Server Error' });
    expect(api.stats.timeouts).toBe(1);

    const started = Date.now();
    const unavailable = await fetch(`${gateway.url}/slow`);
    expect(unavailable.status).toBe(503);
    expect(await unavailable.json()).toEqual({ message: 'Service Unavailable' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  // A response over Lambda's 6 MB fails the invocation: a function error, so 500.
  it('answers 500 when the function returns more than 6 MB', async () => {
    const response = await fetch(`${gateway.url}/big`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  // HTTP API's payload limit is 10 MB (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
  // Lambda's 6 MB: an event over it is refused by Lambda, answered with 413.
  it('answers 413 to a body that makes the event larger than 6 MB, and to one over 10 MB', async () => {
    const before = api.stats.invocations;
    for (const size of [MAX_INVOKE_PAYLOAD_BYTES, 11 * 1024 * 1024]) {
      const response = await fetch(`${gateway.url}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a'.repeat(size) });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    }
    expect(api.stats.invocations).toBe(before);
    // The client's next request is answered at once (an oversized body once left its keep-alive connection hanging for 30 s).
    const started = Date.now();
    const next = await fetch(`${gateway.url}/echo`, { method: 'POST', body: 'small' });
    expect(next.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  // The event as a deployed HTTP API builds it: the SigV4 caller in requestContext.authorizer.iam
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
  // the decoded path in rawPath and http.path, the forwarding and trace headers, a binary body in base64.
  it('passes the IAM caller, the decoded path, the forwarding headers and a binary body as HTTP API does', async () => {
    const url = new URL(`${gateway.url}/echo/a%20b`);
    const signer = new SignatureV4({ service: 'execute-api', region: 'us-east-1', credentials: { accessKeyId: 'AKIAFIDELITY0001', secretAccessKey: 'secret' }, sha256: Sha256 });
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, headers: { host: url.host } });
    const headers = { ...(signed.headers as Record<string, string>) };
    delete headers.host;
    const event = (await (await fetch(url, { headers })).json()) as {
      rawPath: string;
      pathParameters: Record<string, string>;
      headers: Record<string, string>;
      requestContext: { http: { path: string }; authorizer: { iam: { accessKey: string; userArn: string } }; time: string };
    };
    expect(event.requestContext.authorizer.iam).toMatchObject({ accessKey: 'AKIAFIDELITY0001', userArn: 'arn:aws:iam::000000000000:user/AKIAFIDELITY0001' });
    expect(event.rawPath).toBe('/echo/a b');
    expect(event.requestContext.http.path).toBe('/echo/a b');
    expect(event.pathParameters).toEqual({ name: 'a b' });
    expect(event.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-port': url.port, 'x-forwarded-proto': 'http' });
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);

    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]);
    const binary = (await (await fetch(`${gateway.url}/echo`, { method: 'POST', body: bytes })).json()) as {
      body: string;
      isBase64Encoded: boolean;
      headers: Record<string, string>;
    };
    expect(binary.headers['content-type']).toBeUndefined();
    expect(binary.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(binary.body, 'base64'))).toEqual(bytes);
  });
});

describe('the SQS event source', () => {
  let sqs: SQSClient;
  const pollers: SqsPoller[] = [];
  beforeAll(async () => {
    sqs = await sqsClient();
  });
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  });

  const poll = (
    config: Omit<PollerConfig, 'region' | 'batchingWindowSeconds' | 'reportBatchItemFailures'> & Partial<PollerConfig>,
    invoke: (event: SQSEvent) => Promise<InvokeResult>,
  ) => {
    const poller = new SqsPoller(sqs, { region: 'us-east-1', batchingWindowSeconds: 0, reportBatchItemFailures: true, ...config }, (e) => invoke(e as SQSEvent));
    pollers.push(poller);
    poller.start();
    return poller;
  };
  const ok = (result: unknown = {}): InvokeResult => ({ ok: true, result, durationMs: 1 });
  const waiting = async (url: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  // `jobline dev` stops its pollers before the functions they invoke: a poller that waited for a free place
  // behind a long invocation kept every environment alive until that invocation ended (up to its timeout).
  it('stops within its grace while every place is taken by an invocation that does not end', async () => {
    const queue = await ensureQueue(sqs, { QueueName: uniqueName('busy'), Attributes: { VisibilityTimeout: '30' } });
    for (const n of [1, 2]) await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify({ n }) }));
    let invocations = 0;
    let release = () => {};
    const never = new Promise<InvokeResult>((resolve) => (release = () => resolve(ok())));
    const poller = new SqsPoller(
      sqs,
      { region: 'us-east-1', queueUrl: queue.url, queueArn: queue.arn, batchSize: 1, maxConcurrency: 1, batchingWindowSeconds: 0, reportBatchItemFailures: true },
      () => {
        invocations++;
        return never;
      },
    );
    poller.start();
    try {
      await expect.poll(() => invocations, { timeout: 20_000 }).toBe(1);
      // Its grace is 500 ms; the 10 s bound leaves room for a busy machine and still ends a wait that would not.
      let bound: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([poller.stop(500).then(() => 'stopped'), new Promise((resolve) => (bound = setTimeout(() => resolve('still waiting'), 10_000)))]);
      clearTimeout(bound);
      expect(outcome).toBe('stopped');
    } finally {
      release();
    }
  });

  // "If none of your filters are satisfied, Lambda discards the record"; for SQS, Lambda deletes messages that
  // don't match: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html,
  // https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
  it('honours FilterCriteria: only matching records reach the function, the others are deleted', async () => {
    const queue = await ensureQueue(sqs, { QueueName: uniqueName('filtered'), Attributes: { VisibilityTimeout: '30' } });
    for (const body of [{ type: 'keep', n: 1 }, { type: 'drop', n: 2 }, { type: 'keep', n: 150 }, 'not json', { type: 'keep', n: 3 }]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: typeof body === 'string' ? body : JSON.stringify(body) }));
    }
    const seen: unknown[] = [];
    const poller = poll(
      { queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, maxConcurrency: 2, filters: [{ body: { type: ['keep'], n: [{ numeric: ['<', 100] }] } }] },
      (event) => {
        seen.push(...event.Records.map((r) => JSON.parse(r.body)));
        return Promise.resolve(ok());
      },
    );
    await expect.poll(() => poller.stats.records + poller.stats.filteredRecords, { timeout: 15_000 }).toBe(5);
    expect(seen).toEqual(
      expect.arrayContaining([
        { type: 'keep', n: 1 },
        { type: 'keep', n: 3 },
      ]),
    );
    expect(seen).toHaveLength(2);
    expect(poller.stats.filteredRecords).toBe(3);
    await expect.poll(() => waiting(queue.url), { timeout: 5000 }).toBe(0);
  });

  // "Lambda passes all of the records in the batch to the function in a single call, up to the payload limit
  // for synchronous invocation (6 MB)": https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
  it('never sends an event over 6 MB: a larger batch goes in several invocations', async () => {
    const queue = await ensureQueue(sqs, { QueueName: uniqueName('large'), Attributes: { VisibilityTimeout: '30', MaximumMessageSize: '1048576' } });
    for (let i = 0; i < 10; i++) await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify({ i, pad: 'x'.repeat(900 * 1024) }) }));
    const sizes: number[] = [];
    const ids = new Set<number>();
    const poller = poll({ queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, batchingWindowSeconds: 2, maxConcurrency: 1 }, (event) => {
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
      for (const r of event.Records) ids.add((JSON.parse(r.body) as { i: number }).i);
      return Promise.resolve(ok());
    });
    await expect.poll(() => ids.size, { timeout: 20_000 }).toBe(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_INVOKE_PAYLOAD_BYTES);
    expect(poller.stats.largestBatch).toBeGreaterThan(1);
    expect(poller.stats.largestBatch).toBeLessThan(7);
  });

  // "For FIFO queues, the maximum number of concurrent invocations is equal to the number of message group IDs
  // (messageGroupId) or the maximum concurrency setting, whichever is lower"; without one, up to 1,250:
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html. One batch in flight per group.
  it('scales a FIFO source with its message groups, past 10 batches, one batch in flight per group', async () => {
    const queue = await ensureQueue(sqs, {
      QueueName: `${uniqueName('groups')}.fifo`,
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '30' },
    });
    const groups = 12;
    for (let round = 0; round < 2; round++) {
      for (let g = 0; g < groups; g++) {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify({ g, round }), MessageGroupId: `g${g}`, MessageDeduplicationId: `${g}-${round}` }),
        );
      }
    }
    const inFlight = new Map<string, number>();
    let now = 0;
    let most = 0;
    let overlap = false;
    const order = new Map<string, number[]>();
    const poller = poll({ queueUrl: queue.url, queueArn: queue.arn, batchSize: 1, maxConcurrency: SQS_DEFAULT_MAX_CONCURRENCY }, async (event) => {
      const groupIds = event.Records.map((r) => r.attributes.MessageGroupId!);
      for (const g of groupIds) {
        if ((inFlight.get(g) ?? 0) > 0) overlap = true;
        inFlight.set(g, (inFlight.get(g) ?? 0) + 1);
      }
      for (const r of event.Records) order.set(r.attributes.MessageGroupId!, [...(order.get(r.attributes.MessageGroupId!) ?? []), (JSON.parse(r.body) as { round: number }).round]);
      most = Math.max(most, ++now);
      await sleep(1500);
      now--;
      for (const g of groupIds) inFlight.set(g, inFlight.get(g)! - 1);
      return ok();
    });
    await expect.poll(() => poller.stats.records, { timeout: 30_000 }).toBe(groups * 2);
    expect(overlap).toBe(false);
    expect(most).toBeGreaterThan(10);
    expect(most).toBeLessThanOrEqual(groups);
    for (const rounds of order.values()) expect(rounds).toEqual([0, 1]);
  });
});
