/**
 * Example of a leased job: POSTs a JSON body to a URL. Its effect is outside DynamoDB, so the worker
 * holds a lease while it runs, and the target receives the job id as its `Idempotency-Key` header:
 * a target that honours it applies the call once even when jobline has to call again (a crash after the
 * call, before the completion was recorded).
 *
 * 2xx succeeds. 408, 425, 429, 5xx, network errors and timeouts are retried with backoff. Any other 4xx
 * (and a redirect) fails the job at once: sending the same request again cannot help.
 *
 * The target's addresses pass the address guard (shared/net/address-guard.ts) first: loopback, private,
 * link-local and other non-public addresses are refused (a permanent failure, nothing sent) unless
 * JOBLINE_WEBHOOK_ALLOW allows their category. The call is made with node:http(s) so that the guard is the
 * socket's own address lookup: the address checked is the address connected to.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { withTimeout } from '../../../shared/abort';
import { PermanentError, TransientError } from '../../../shared/errors';
import { defineJob, type JobContext } from '../../../shared/jobs/define';
import { AddressRefusedError, allowFromEnv, checkHost, guardedLookup, type Allow, type Resolver } from '../../../shared/net/address-guard';
import { webhookType, type WebhookPayload } from './type';

export { webhookPayload, webhookType, type WebhookPayload } from './type';

export interface WebhookResult {
  status: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/**
 * Ports that fetch (the WHATWG standard jobline followed before it made its calls with node:http) never
 * calls: other protocols' ports, where an HTTP request could be taken for that protocol's commands.
 */
const BLOCKED_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179,
  389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000,
  6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

function retryAfterSeconds(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/**
 * Connection pools, one per protocol and guard setting: a pooled connection was opened to an address the
 * guard checked under that setting, so it is reused only under the same one.
 */
const agents = new Map<string, HttpAgent>();
function agentFor(protocol: 'http:' | 'https:', allow: Allow): HttpAgent {
  const key = `${protocol}${[...allow].sort().join(',')}`;
  let agent = agents.get(key);
  if (!agent) {
    const options = { keepAlive: true, scheduling: 'lifo' as const, timeout: 5000 };
    agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    agents.set(key, agent);
  }
  return agent;
}

export interface WebhookCallOptions {
  /** Address categories beyond public ones the call may reach (default: from JOBLINE_WEBHOOK_ALLOW). */
  allow?: Allow;
  /** Resolves the target's host name (default: the system resolver). Tests pass a stub. */
  resolve?: Resolver;
}

/** Makes the webhook call of a job: the handler of the webhook job type, with its environment made explicit. */
export async function callWebhook(p: WebhookPayload, ctx: Pick<JobContext, 'jobId' | 'signal'>, options: WebhookCallOptions = {}): Promise<WebhookResult> {
  let allow: Allow;
  try {
    allow = options.allow ?? allowFromEnv();
  } catch (error) {
    // A configuration problem, not the job's: retried, so the jobs run once the setting is fixed.
    throw new TransientError(`webhook not called: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  let url: URL;
  try {
    url = new URL(p.url);
  } catch {
    throw new PermanentError('webhook url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PermanentError('webhook url must be an absolute http(s) URL');
  if (url.username !== '' || url.password !== '') throw new PermanentError('webhook url may not carry credentials (user:password@): send them in a header');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (BLOCKED_PORTS.has(port)) throw new PermanentError(`webhook url uses port ${port}, which is another protocol's port: HTTP calls to it are refused`);
  const refused = checkHost(url.hostname, allow);
  if (refused) throw new PermanentError(refused.message);

  const body = Buffer.from(JSON.stringify(p.body), 'utf8');
  // No prototype: a header may be called "constructor".
  const headers = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(p.headers ?? {})) {
    const lower = name.toLowerCase();
    headers[lower] = headers[lower] === undefined ? value : `${headers[lower]}, ${value}`;
  }
  Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(body.length), 'idempotency-key': ctx.jobId, 'user-agent': 'jobline-webhook' });

  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const requestOptions: RequestOptions = {
    method: 'POST',
    hostname: host,
    port,
    path: `${url.pathname}${url.search}`,
    headers,
    // Host names are resolved and checked here; literal addresses were checked above.
    lookup: guardedLookup(allow, options.resolve),
    // A pool shared with calls made under another resolver would skip this one: stub resolvers get their own connections.
    agent: options.resolve ? false : agentFor(url.protocol, allow),
  };

  const { signal, clear } = withTimeout(ctx.signal, p.timeoutSeconds * 1000);
  let answer: { status: number; retryAfter: string | undefined };
  try {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    answer = await post(send, requestOptions, body, signal).catch((error: unknown) => {
      // A pooled connection the target had already closed: once more, on a connection of its own (the call
      // has its idempotency key, so a target that did see the first one applies it once).
      if (error instanceof StaleConnectionError) return post(send, { ...requestOptions, agent: false }, body, signal);
      throw error;
    });
  } catch (error) {
    if (error instanceof AddressRefusedError) throw new PermanentError(error.message, { cause: error });
    throw new TransientError(`webhook call failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    clear();
  }
  const { status } = answer;
  if (status >= 200 && status < 300) return { status };
  if (status >= 500 || RETRYABLE_STATUS.has(status)) {
    const retryAfter = retryAfterSeconds(answer.retryAfter);
    throw new TransientError(`webhook target answered ${status}`, retryAfter === undefined ? undefined : { retryAfterSeconds: retryAfter });
  }
  throw new PermanentError(`webhook target answered ${status}`);
}

/**
 * One request: resolves with the status once the response's body has been read and discarded (or has
 * failed: the status is known by then), rejects when no response arrives. The signal aborts either part.
 */
function post(send: typeof httpRequest, options: RequestOptions, body: Buffer, signal: AbortSignal): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    let response: IncomingMessage | undefined;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const answered = () => settle(() => resolve({ status: response!.statusCode ?? 0, retryAfter: headerValue(response!.headers['retry-after']) }));
    const onAbort = () => {
      const reason = abortReason(signal);
      request.destroy(reason);
      response?.destroy(reason);
      if (response) answered();
      else settle(() => reject(reason));
    };
    const request = send(options, (res) => {
      response = res;
      // Read and discard the body, so the connection can be reused; its content is not kept.
      res.on('end', answered);
      res.on('error', answered);
      res.on('close', answered);
      res.resume();
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (response) answered();
      else if (request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE') && !signal.aborted) settle(() => reject(new StaleConnectionError(error)));
      else settle(() => reject(error));
    });
    signal.addEventListener('abort', onAbort, { once: true });
    request.end(body);
  });
}

/** The request failed on a reused keep-alive connection before any answer: safe to send once more. */
class StaleConnectionError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(`the call was aborted${reason === undefined ? '' : `: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}`}`);
}

const headerValue = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export const webhook = defineJob(webhookType, (p, ctx): Promise<WebhookResult> => callWebhook(p, ctx));
