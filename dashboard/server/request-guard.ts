/**
 * Which requests the dashboard's server answers. It listens on 127.0.0.1 by default and can cancel and
 * retry jobs with the operator's credentials, so a web page the operator happens to have open elsewhere
 * must not be able to use it:
 * - the Host header must name the address it listens on (or a loopback name), which defeats DNS
 *   rebinding (a hostile name resolved to 127.0.0.1 still sends its own name as Host);
 * - a request that changes something must be a POST with `content-type: application/json` (a cross-site
 *   form cannot send that without a CORS preflight, which this server never grants) and, when the browser
 *   sends an Origin, that origin must be the dashboard's own;
 * - in read-only mode every such request is refused, whatever the page shows.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Refusal = { status: number; code: string; message: string };

export interface GuardOptions {
  /** The address the server listens on (127.0.0.1 by default). */
  host: string;
  port: number;
  readOnly: boolean;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** The Host header values this server answers to. */
export function allowedHosts(host: string, port: number): Set<string> | 'any' {
  // Bound to every address: it was opened to the network on purpose, under whatever name reaches it.
  if (WILDCARD_HOSTS.has(host)) return 'any';
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new Set([...LOOPBACK_NAMES, bracketed].map((name) => `${name}:${port}`));
}

/** Whether the method and path change something (and so are subject to read-only mode). */
export function isAction(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/** Undefined when the request may be answered; otherwise why not. */
export function checkRequest(method: string, headers: IncomingHttpHeaders, options: GuardOptions): Refusal | undefined {
  const hosts = allowedHosts(options.host, options.port);
  const host = (headers.host ?? '').toLowerCase();
  if (hosts !== 'any' && !hosts.has(host)) {
    return { status: 421, code: 'wrong_host', message: `this dashboard answers to ${[...hosts].join(', ')}, not to Host "${host}"` };
  }
  if (!isAction(method)) return undefined;
  if (method !== 'POST') return { status: 405, code: 'method_not_allowed', message: `${method} is not a dashboard action: actions are POSTs` };
  if (options.readOnly) return { status: 403, code: 'read_only', message: 'this dashboard is read-only (--read-only): it changes nothing' };
  // An opaque origin ("null": a sandboxed frame, a file) is nobody's own page either.
  const origin = headers.origin;
  if (origin !== undefined && !(hosts === 'any' ? hostOf(origin) === host : hosts.has(hostOf(origin)))) {
    return { status: 403, code: 'cross_origin', message: `actions are taken from the dashboard's own page only, not from ${origin}` };
  }
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return { status: 415, code: 'json_only', message: 'actions take a JSON body (content-type: application/json)' };
  return undefined;
}

function hostOf(origin: string): string {
  try {
    const url = new URL(origin);
    return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`.toLowerCase();
  } catch {
    return '';
  }
}
