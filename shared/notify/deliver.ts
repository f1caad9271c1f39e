/**
 * One callback delivery: a signed POST of the job's final view, through the address guard
 * (shared/net/address-guard.ts, JOBLINE_WEBHOOK_ALLOW as for the webhook example: public addresses only in
 * AWS unless configured; the local runtime allows loopback). The guard is the socket's own lookup, so the
 * address checked is the address connected to.
 *
 * 2xx: delivered. 408, 425, 429, 5xx, network errors, timeouts: retried (with the Retry-After it asked
 * for). Any other status (other 4xx, a redirect) and a refused address: permanent, nothing more is sent.
 */
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AddressRefusedError, checkHost, guardedLookup, type Allow, type Resolver } from '../net/address-guard';
import { notificationKey, type CallbackMessage } from './notification';
import { SIGNATURE_HEADER, signatureHeader } from './signature';

export type Delivery = { kind: 'delivered'; status: number } | { kind: 'retry'; reason: string; retryAfterSeconds?: number } | { kind: 'permanent'; reason: string };

const RETRYABLE = new Set([408, 425, 429]);
const agents = new Map<string, HttpAgent>();
function agentFor(protocol: string, allow: Allow): HttpAgent {
  const key = `${protocol}${[...allow].sort().join(',')}`;
  let agent = agents.get(key);
  if (!agent) {
    const options = { keepAlive: true, timeout: 5000 };
    agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    agents.set(key, agent);
  }
  return agent;
}

function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export interface DeliverOptions {
  secret: string;
  allow: Allow;
  timeoutMs: number;
  resolve?: Resolver;
  nowSeconds?: () => number;
}

/** The exact body and headers of a callback (what is signed is what is sent). */
export function callbackRequest(message: CallbackMessage, secret: string, nowSeconds: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(message.view);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'jobline-callback',
      'idempotency-key': notificationKey(message.jobId, message.generation),
      'jobline-event': message.event,
      [SIGNATURE_HEADER]: signatureHeader(secret, body, nowSeconds),
    },
  };
}

export async function deliverCallback(message: CallbackMessage, options: DeliverOptions): Promise<Delivery> {
  let url: URL;
  try {
    url = new URL(message.url);
  } catch {
    return { kind: 'permanent', reason: 'the callback URL is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { kind: 'permanent', reason: 'the callback URL is not http(s)' };
  const refused = checkHost(url.hostname, options.allow);
  if (refused) return { kind: 'permanent', reason: refused.message.replace('webhook target', 'callback') };

  const { body, headers } = callbackRequest(message, options.secret, (options.nowSeconds ?? (() => Math.floor(Date.now() / 1000)))());
  const request: RequestOptions = {
    method: 'POST',
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers,
    lookup: guardedLookup(options.allow, options.resolve),
    agent: options.resolve ? false : agentFor(url.protocol, options.allow),
    signal: AbortSignal.timeout(options.timeoutMs),
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  try {
    const answer = await new Promise<{ status: number; retryAfter?: number }>((resolve, reject) => {
      const req = send(request, (res) => {
        res.resume();
        const done = () => resolve({ status: res.statusCode ?? 0, retryAfter: retryAfter(res.headers['retry-after']) });
        res.on('end', done);
        res.on('error', done);
      });
      req.on('error', reject);
      req.end(body);
    });
    const { status } = answer;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status >= 500 || RETRYABLE.has(status))
      return { kind: 'retry', reason: `the receiver answered ${status}`, ...(answer.retryAfter !== undefined ? { retryAfterSeconds: answer.retryAfter } : {}) };
    return { kind: 'permanent', reason: `the receiver answered ${status}` };
  } catch (error) {
    if (error instanceof AddressRefusedError) return { kind: 'permanent', reason: error.message.replace('webhook target', 'callback') };
    return { kind: 'retry', reason: `the callback failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
