// The webhook job's address guard and its node:http call, against receivers on 127.0.0.1 and, for the
// worker path, the emulators. Every URL called here points at this machine's loopback (refused or not),
// and host names are answered by a stub resolver that only knows loopback addresses (no DNS).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobContext, JobType } from '../../shared/jobs/define';
import { PermanentError, TransientError } from '../../shared/errors';
import { callWebhook, webhook, webhookPayload, type WebhookCallOptions } from '../../app/jobs/webhook/handler';
import { createLogger } from '../../shared/log';
import { PUBLIC_ONLY, type Allow, type ResolvedAddress } from '../../shared/net/address-guard';
import { processBatch } from '../../shared/worker/process-batch';
import { apiDeps, call, statusEvent, submitEvent } from '../support/api';
import { createJobQueues, createJobsTable, invocation, receiveRecords, workerDeps, type JobQueues } from '../support/resources';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const type = webhook as unknown as JobType;
const LOOPBACK: Allow = new Set(['loopback']);
const JOB_ID = '0b6f3a9e-1c2d-4e5f-8a7b-9c0d1e2f3a4b';

/** Polls until `check` returns a value other than undefined, or fails at the deadline. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const ENV_NAMES = ['JOBLINE_WEBHOOK_ALLOW', 'JOBLINE_LOCAL_RUNTIME'] as const;
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));
function setEnv(values: Partial<Record<(typeof ENV_NAMES)[number], string | undefined>>) {
  for (const name of ENV_NAMES) {
    const value = name in values ? values[name] : undefined;
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
afterAll(() => setEnv(savedEnv));

function context(signal: AbortSignal = new AbortController().signal): JobContext {
  return { jobId: JOB_ID, type: 'webhook', attempt: 1, deadline: Date.now() + 30_000, signal, tableName: 'unused', log: createLogger({}, 'error') };
}

/** Runs the job type's own handler, as the worker does, on a payload the schema accepted. */
async function runHandler(payload: unknown, signal?: AbortSignal): Promise<unknown> {
  if (webhook.kind !== 'leased') throw new Error('webhook must be leased');
  return webhook.handler(webhookPayload.parse(payload), context(signal));
}

/** What the handler threw (or undefined when it returned). */
async function failureOf(run: Promise<unknown>): Promise<Error | undefined> {
  try {
    await run;
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaderNames: string[];
  body: string;
}

/** A target on 127.0.0.1 that records every request and connection and answers as told. */
interface CaptureServer {
  port: number;
  requests: Captured[];
  connections: number;
  answer: (request: Captured, response: ServerResponse) => void;
  close(): Promise<void>;
}

async function startCaptureServer(): Promise<CaptureServer> {
  const capture: CaptureServer = { port: 0, requests: [], connections: 0, answer: (_, res) => res.end(), close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const captured: Captured = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaderNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      capture.requests.push(captured);
      capture.answer(captured, res);
    });
  });
  server.on('connection', () => capture.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  capture.port = (server.address() as { port: number }).port;
  capture.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return capture;
}

describe('the webhook worker under JOBLINE_WEBHOOK_ALLOW (emulators, receiver on 127.0.0.1)', () => {
  let table: string;
  let queues: JobQueues;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(async () => {
    table = await createJobsTable();
    queues = await createJobQueues(type);
    receiver.respond = () => 200;
  });

  async function submitAndRun(url: string) {
    const deps = apiDeps(table, { webhook: queues });
    const submitted = await call(submitEvent('webhook', { url, body: { hello: 'world' } }), deps);
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.jobId as string;
    const records = await receiveRecords(queues.queue);
    expect(records).toHaveLength(1);
    const response = await processBatch(records, invocation(), workerDeps(type, table, queues));
    return { jobId, response, status: (await call(statusEvent(jobId), deps)).body };
  }

  it('with JOBLINE_WEBHOOK_ALLOW=loopback, the call arrives', async () => {
    setEnv({ JOBLINE_WEBHOOK_ALLOW: 'loopback' });
    const { jobId, response, status } = await submitAndRun(`${receiver.url}/hook`);
    expect(response.batchItemFailures).toEqual([]);
    expect(status).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { status: 200 } });
    expect(receiver.calls.get(jobId)).toBe(1);
  });

  it("with JOBLINE_WEBHOOK_ALLOW= (public only), the job fails permanently with the guard's reason and the receiver sees no call", async () => {
    setEnv({ JOBLINE_WEBHOOK_ALLOW: '' });
    const callsBefore = [...receiver.calls.values()].reduce((a, b) => a + b, 0);
    const { jobId, response, status } = await submitAndRun(`${receiver.url}/hook`);
    const reason = 'webhook target host 127.0.0.1 is a loopback address: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback would permit it)';
    expect(response.batchItemFailures).toEqual([]);
    expect(status).toMatchObject({ status: 'FAILED', attempts: 1, error: `PermanentError: ${reason}` });
    expect(status.result).toBeUndefined();
    // Parked in the DLQ with the reason.
    const parked = await waitFor('the dead letter', async () => {
      const records = await receiveRecords(queues.dlq);
      return records.length > 0 ? records : undefined;
    });
    expect(parked).toHaveLength(1);
    expect(parked[0]!.messageAttributes['jobline-job-id']?.stringValue).toBe(jobId);
    expect(parked[0]!.messageAttributes['jobline-reason']?.stringValue).toContain(reason);
    expect(receiver.calls.get(jobId)).toBeUndefined();
    expect([...receiver.calls.values()].reduce((a, b) => a + b, 0)).toBe(callsBefore);
  });
});

describe('the address guard in the webhook handler (receiver on 127.0.0.1)', () => {
  let target: CaptureServer;
  const url = (host: string, path = '/hook') => `http://${host}:${target.port}${path}`;

  beforeAll(async () => {
    target = await startCaptureServer();
  });
  afterAll(() => target.close());
  beforeEach(() => {
    target.requests.length = 0;
    target.answer = (_, res) => res.end();
  });
  afterEach(() => setEnv(savedEnv));

  it("follows the local runtime's default: loopback when JOBLINE_WEBHOOK_ALLOW is unset, public only when it is set empty", async () => {
    setEnv({ JOBLINE_LOCAL_RUNTIME: '1' });
    expect(await runHandler({ url: url('127.0.0.1'), body: 1 })).toEqual({ status: 200 });
    expect(target.requests).toHaveLength(1);

    setEnv({ JOBLINE_LOCAL_RUNTIME: '1', JOBLINE_WEBHOOK_ALLOW: '' });
    const refused = await failureOf(runHandler({ url: url('127.0.0.1'), body: 1 }));
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused!.message).toContain('loopback address: refused');

    // Outside the local runtime, unset means public only.
    setEnv({});
    expect(await failureOf(runHandler({ url: url('127.0.0.1'), body: 1 }))).toBeInstanceOf(PermanentError);
    expect(target.requests).toHaveLength(1);
  });

  // Only loopback targets here, even refused ones: a broken guard must not be able to send anything off
  // this machine. The other categories are decided by the same functions, tested without sockets in
  // test/unit/address-guard.test.ts.
  it('guards literal loopback addresses in every form URL parsing accepts, and connects to none it refuses', async () => {
    setEnv({ JOBLINE_WEBHOOK_ALLOW: '' });
    const connections = target.connections;
    const forms: [string, string][] = [
      ['127.0.0.1', 'webhook target host 127.0.0.1 is a loopback address'],
      ['2130706433', 'webhook target host 127.0.0.1 is a loopback address'],
      ['0x7f.1', 'webhook target host 127.0.0.1 is a loopback address'],
      ['0x7f000001', 'webhook target host 127.0.0.1 is a loopback address'],
      ['0177.0.0.1', 'webhook target host 127.0.0.1 is a loopback address'],
      ['127.1', 'webhook target host 127.0.0.1 is a loopback address'],
      ['127.42.0.9', 'webhook target host 127.42.0.9 is a loopback address'],
      ['[::1]', 'webhook target host ::1 is a loopback address'],
      ['[0:0:0:0:0:0:0:1]', 'webhook target host ::1 is a loopback address'],
      ['[::ffff:127.0.0.1]', 'webhook target host ::ffff:7f00:1 is a loopback address (IPv4-mapped 127.0.0.1)'],
      ['[0:0:0:0:0:ffff:7f00:1]', 'webhook target host ::ffff:7f00:1 is a loopback address (IPv4-mapped 127.0.0.1)'],
    ];
    for (const [host, reason] of forms) {
      const error = await failureOf(runHandler({ url: url(host), body: 1 }));
      expect(error, host).toBeInstanceOf(PermanentError);
      expect(error!.message, host).toBe(`${reason}: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback would permit it)`);
    }
    expect(target.connections).toBe(connections);
    expect(target.requests).toHaveLength(0);
  });

  it('lets odd loopback forms through once loopback is allowed, and refuses them when only other categories are', async () => {
    setEnv({ JOBLINE_WEBHOOK_ALLOW: 'loopback' });
    for (const host of ['2130706433', '0x7f.1', '127.1']) expect(await runHandler({ url: url(host, `/${host}`), body: 1 }), host).toEqual({ status: 200 });
    expect(target.requests.map((r) => r.url)).toEqual(['/2130706433', '/0x7f.1', '/127.1']);

    setEnv({ JOBLINE_WEBHOOK_ALLOW: 'private,link-local' });
    const connections = target.connections;
    const refused = await failureOf(runHandler({ url: url('0x7f.1'), body: 1 }));
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused!.message).toBe(
      'webhook target host 127.0.0.1 is a loopback address: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback,private,link-local would permit it)',
    );
    expect(target.connections).toBe(connections);
    expect(target.requests).toHaveLength(3);
  });

  it('resolves host names and checks every address before connecting (stub resolver, no DNS)', async () => {
    const table: Record<string, ResolvedAddress[]> = {
      'hooks.test': [{ address: '127.0.0.1', family: 4 }],
      'both.test': [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ],
    };
    const asked: string[] = [];
    const resolve: WebhookCallOptions['resolve'] = async (host) => {
      asked.push(host);
      const found = table[host];
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return found;
    };
    const payload = webhookPayload.parse({ url: url('hooks.test'), body: { a: 1 } });

    expect(await callWebhook(payload, context(), { allow: LOOPBACK, resolve })).toEqual({ status: 200 });
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]!.headers.host).toBe(`hooks.test:${target.port}`);

    const connections = target.connections;
    const refused = await failureOf(callWebhook(payload, context(), { allow: PUBLIC_ONLY, resolve }));
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused!.message).toBe(
      'webhook target host hooks.test resolves to 127.0.0.1, which is a loopback address: refused, nothing was sent (JOBLINE_WEBHOOK_ALLOW=loopback would permit it)',
    );
    const both = await failureOf(callWebhook(webhookPayload.parse({ url: url('both.test'), body: 1 }), context(), { allow: PUBLIC_ONLY, resolve }));
    expect(both).toBeInstanceOf(PermanentError);
    expect(target.connections).toBe(connections);
    expect(target.requests).toHaveLength(1);

    const unknown = await failureOf(callWebhook(webhookPayload.parse({ url: url('unknown.test'), body: 1 }), context(), { allow: LOOPBACK, resolve }));
    expect(unknown).toBeInstanceOf(TransientError);
    expect(unknown!.message).toBe('webhook call failed: getaddrinfo ENOTFOUND unknown.test');
    expect(asked).toEqual(['hooks.test', 'hooks.test', 'both.test', 'unknown.test']);
  });

  it('treats an unreadable JOBLINE_WEBHOOK_ALLOW as a transient configuration problem and calls nothing', async () => {
    setEnv({ JOBLINE_WEBHOOK_ALLOW: 'loopback,intranet' });
    const error = await failureOf(runHandler({ url: url('127.0.0.1'), body: 1 }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error!.message).toMatch(/^webhook not called: JOBLINE_WEBHOOK_ALLOW names an unknown category "intranet"/);
    expect(target.requests).toHaveLength(0);
  });
});

describe('the webhook call as its target sees it (node:http, allowed loopback target)', () => {
  let target: CaptureServer;
  const url = (path = '/hook') => `http://127.0.0.1:${target.port}${path}`;
  const run = (payload: Record<string, unknown>, signal?: AbortSignal) =>
    callWebhook(webhookPayload.parse({ body: { n: 1 }, url: url(), ...payload }), context(signal), { allow: LOOPBACK });

  beforeAll(async () => {
    target = await startCaptureServer();
  });
  afterAll(() => target.close());
  beforeEach(() => {
    target.requests.length = 0;
    target.answer = (_, res) => res.end();
  });

  it("POSTs the JSON body with its headers: content-type, idempotency key, user agent, and the job's own", async () => {
    const body = { event: 'done', list: [1, 2.5, null, true], text: 'caf\u00e9 \u{1F600}', nested: { a: { b: 'c' } } };
    const result = await run({
      url: url('/hooks/a?b=1&c=%20d#fragment'),
      body,
      headers: { 'X-Signature': 'sig', 'x-tenant': 't\u00e9', 'User-Agent': 'theirs', constructor: 'c', 'X-Dup': 'a', 'x-dup': 'b' },
    });
    expect(result).toEqual({ status: 200 });
    expect(target.requests).toHaveLength(1);
    const [received] = target.requests;
    expect(received!.method).toBe('POST');
    expect(received!.url).toBe('/hooks/a?b=1&c=%20d');
    expect(received!.body).toBe(JSON.stringify(body));
    expect(received!.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(JSON.stringify(body))),
      'idempotency-key': JOB_ID,
      'user-agent': 'jobline-webhook',
      'x-signature': 'sig',
      constructor: 'c',
      'x-dup': 'a, b',
      host: `127.0.0.1:${target.port}`,
    });
    // Latin-1 header values arrive as Latin-1 bytes.
    expect(Buffer.from(received!.headers['x-tenant'] as string, 'latin1').toString('latin1')).toBe('t\u00e9');
    expect(received!.headers['transfer-encoding']).toBeUndefined();
    expect(received!.rawHeaderNames.filter((n) => n.toLowerCase() === 'user-agent')).toHaveLength(1);
  });

  it('succeeds on any 2xx, reading and discarding a large body', async () => {
    target.answer = (_, res) => {
      res.statusCode = 201;
      res.end(Buffer.alloc(4 * 1024 * 1024, 'x'));
    };
    expect(await run({})).toEqual({ status: 201 });
    target.answer = (_, res) => {
      res.statusCode = 204;
      res.end();
    };
    expect(await run({})).toEqual({ status: 204 });
  });

  it('does not follow a redirect: the job fails at once', async () => {
    target.answer = (_, res) => {
      res.writeHead(302, { location: url('/elsewhere') });
      res.end();
    };
    const error = await failureOf(run({}));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error!.message).toBe('webhook target answered 302');
    expect(target.requests.map((r) => r.url)).toEqual(['/hook']);
  });

  it.each([400, 401, 403, 404, 409, 410, 422])('fails at once on %i', async (status) => {
    target.answer = (_, res) => {
      res.statusCode = status;
      res.end('no');
    };
    const error = await failureOf(run({}));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error!.message).toBe(`webhook target answered ${status}`);
  });

  it.each([408, 425, 429, 500, 502, 503, 504])('retries %i', async (status) => {
    target.answer = (_, res) => {
      res.statusCode = status;
      res.end();
    };
    const error = await failureOf(run({}));
    expect(error).toBeInstanceOf(TransientError);
    expect(error!.message).toBe(`webhook target answered ${status}`);
    expect((error as TransientError).retryAfterSeconds).toBeUndefined();
  });

  it('honours Retry-After in seconds or as an HTTP date', async () => {
    target.answer = (_, res) => {
      res.writeHead(503, { 'retry-after': '7' });
      res.end();
    };
    expect(((await failureOf(run({}))) as TransientError).retryAfterSeconds).toBe(7);
    const at = new Date(Date.now() + 30_000).toUTCString();
    target.answer = (_, res) => {
      res.writeHead(429, { 'retry-after': at });
      res.end();
    };
    const seconds = ((await failureOf(run({}))) as TransientError).retryAfterSeconds!;
    expect(seconds).toBeGreaterThan(25);
    expect(seconds).toBeLessThanOrEqual(30);
    target.answer = (_, res) => {
      res.writeHead(503, { 'retry-after': 'soon' });
      res.end();
    };
    expect(((await failureOf(run({}))) as TransientError).retryAfterSeconds).toBeUndefined();
  });

  it('gives up after timeoutSeconds when the target does not answer (transient)', async () => {
    const pending: ServerResponse[] = [];
    target.answer = (_, res) => pending.push(res);
    const started = Date.now();
    const error = await failureOf(run({ timeoutSeconds: 1 }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error!.message).toBe('webhook call failed: The operation was aborted due to timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const res of pending) res.destroy();
  });

  it('keeps the status when the body is still arriving at the timeout', async () => {
    const pending: ServerResponse[] = [];
    target.answer = (_, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      pending.push(res);
    };
    expect(await run({ timeoutSeconds: 1 })).toEqual({ status: 200 });
    for (const res of pending) res.destroy();
  });

  it("stops when the job's signal aborts (transient)", async () => {
    const controller = new AbortController();
    target.answer = () => controller.abort(new Error("the job's deadline passed"));
    const error = await failureOf(run({}, controller.signal));
    expect(error).toBeInstanceOf(TransientError);
    expect(error!.message).toBe("webhook call failed: the job's deadline passed");
    // Already aborted: nothing is sent.
    const before = target.requests.length;
    expect(await failureOf(run({}, controller.signal))).toBeInstanceOf(TransientError);
    expect(target.requests).toHaveLength(before);
  });

  it('sends once more, on a new connection, when a pooled connection turns out closed', async () => {
    // The target answers the first request of a connection and drops the connection at its second one, as a
    // server does that closed an idle keep-alive connection just as it was reused.
    const seen = new WeakSet<object>();
    target.answer = (_, res) => {
      if (seen.has(res.socket!)) return res.socket!.destroy();
      seen.add(res.socket!);
      res.end();
    };
    const connections = target.connections;
    expect(await run({ url: url('/first') })).toEqual({ status: 200 });
    expect(await run({ url: url('/second') })).toEqual({ status: 200 });
    // The second call reused the first one's connection, which was dropped; its repeat came on a new one.
    expect(target.requests.map((r) => r.url)).toEqual(['/first', '/second', '/second']);
    expect(target.connections).toBeGreaterThan(connections);
  });

  it('retries a connection error', async () => {
    const closed = await startCaptureServer();
    const port = closed.port;
    await closed.close();
    const error = await failureOf(run({ url: `http://127.0.0.1:${port}/` }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error!.message).toBe(`webhook call failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('refuses, without a connection, URLs with credentials and ports of other protocols', async () => {
    const connections = target.connections;
    const credentials = await failureOf(run({ url: `http://user:secret@127.0.0.1:${target.port}/` }));
    expect(credentials).toBeInstanceOf(PermanentError);
    expect(credentials!.message).toBe('webhook url may not carry credentials (user:password@): send them in a header');
    for (const port of [25, 6000]) {
      const error = await failureOf(run({ url: `http://127.0.0.1:${port}/` }));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error!.message).toBe(`webhook url uses port ${port}, which is another protocol's port: HTTP calls to it are refused`);
    }
    expect(target.connections).toBe(connections);
  });
});
