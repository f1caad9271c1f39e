/**
 * The local HTTP API: serves the template's routes with API Gateway HTTP API semantics (payload format
 * 2.0, most specific route first, 404/413/500/503 answered as API Gateway answers them) and invokes each
 * route's function. A failed invocation (the function threw, timed out, crashed, ran out of memory or
 * returned more than Lambda's 6 MB) is `500 {"message":"Internal Server Error"}`; only the integration timeout
 * (30 s, or the integration's TimeoutInMillis) is `503 {"message":"Service Unavailable"}`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html); a body over 10 MB, or an
 * event over Lambda's 6 MB invocation payload, is `413 {"message":"Request Entity Too Large"}`. Routes with IAM authorization pass the caller's identity (`requestContext.authorizer.iam`)
 * from the access key id of the request's SigV4 Authorization header; signatures are not checked (there are
 * no credentials to check them against). A request without an Authorization header is one anonymous local
 * caller (access key id `local`) where AWS would answer 403, so that curl works; a header that is not SigV4
 * is refused with API Gateway's 403.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { authorize, toApiGatewayEvent } from './lambda/http-event';
import type { InvokeResult } from './lambda/function-pool';

export interface GatewayRoute {
  routeKey: string;
  /** The route's AuthorizationType in the template: NONE (the default) or AWS_IAM. */
  authorizationType?: string;
  /** How long API Gateway waits for the integration before it answers 503 (default and maximum: 30 s). */
  integrationTimeoutMs?: number;
  invoke(event: unknown): Promise<InvokeResult>;
}

/** HTTP API's integration timeout (default and maximum): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html */
export const INTEGRATION_TIMEOUT_MS = 30_000;

/**
 * Execution environments of a function behind the API, at most, locally (Lambda scales to the account's
 * concurrency, 1,000 by default): requests beyond it wait for a free environment, within the integration
 * timeout. `apiConcurrency` in the runtime options, or JOBLINE_API_CONCURRENCY, changes it.
 */
export const DEFAULT_API_CONCURRENCY = 8;

/** The API functions' environment limit: JOBLINE_API_CONCURRENCY (a positive integer) or DEFAULT_API_CONCURRENCY. */
export function apiConcurrencyFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.JOBLINE_API_CONCURRENCY;
  if (raw === undefined || raw.trim() === '') return DEFAULT_API_CONCURRENCY;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`JOBLINE_API_CONCURRENCY must be a positive integer, not ${JSON.stringify(raw)}`);
  return value;
}

interface CompiledRoute extends GatewayRoute {
  method: string;
  pattern: RegExp;
  names: string[];
  /** Lower sorts first: literal paths, then paths with variables, then greedy ones. */
  rank: number;
}

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** How much of an oversized body is read (and dropped) before the connection is cut instead. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

function compile(route: GatewayRoute): CompiledRoute {
  if (route.routeKey === '$default') return { ...route, method: 'ANY', pattern: /^.*$/, names: [], rank: 1e9 };
  const [method = 'ANY', path = '/'] = route.routeKey.split(' ');
  const names: string[] = [];
  let variables = 0;
  let greedy = false;
  const source = path
    .split('/')
    .map((segment) => {
      const variable = /^\{([^}+]+)(\+?)\}$/.exec(segment);
      if (!variable) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(variable[1]!);
      variables++;
      if (variable[2]) {
        greedy = true;
        return '(.+)';
      }
      return '([^/]+)';
    })
    .join('/');
  return { ...route, method, pattern: new RegExp(`^${source}/?$`), names, rank: (greedy ? 1e6 : 0) + variables * 1000 - path.length };
}

export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): { route: CompiledRoute; parameters?: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== 'ANY' && route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (route.names.length === 0) return { route };
    const parameters: Record<string, string> = {};
    route.names.forEach((name, i) => (parameters[name] = decodeURIComponent(match[i + 1]!)));
    return { route, parameters };
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/**
 * The request's body, or undefined when it is over API Gateway's 10 MB. An oversized body is still read to
 * its end (up to DRAIN_LIMIT_BYTES, without keeping it): a request abandoned halfway would leave the
 * client's keep-alive connection unusable for its next request.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DRAIN_LIMIT_BYTES) return undefined;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

const SERVICE_UNAVAILABLE = Symbol('integration timeout');

/** The invocation's outcome, or SERVICE_UNAVAILABLE when the integration timeout comes first (the function runs on, as in AWS). */
async function invokeWithin(route: GatewayRoute, event: unknown): Promise<InvokeResult | typeof SERVICE_UNAVAILABLE> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof SERVICE_UNAVAILABLE>(
    (resolve) => (timer = setTimeout(() => resolve(SERVICE_UNAVAILABLE), route.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS)),
  );
  try {
    return await Promise.race([route.invoke(event), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function respond(res: ServerResponse, outcome: InvokeResult | typeof SERVICE_UNAVAILABLE) {
  if (outcome === SERVICE_UNAVAILABLE) return send(res, 503, '{"message":"Service Unavailable"}');
  if (!outcome.ok) {
    // Lambda refused the event: more than its 6 MB invocation payload.
    if (outcome.kind === 'too-large') return send(res, 413, '{"message":"Request Entity Too Large"}');
    // A function error, a timeout, a crash, an out-of-memory kill, a response over 6 MB: all the same to HTTP API.
    return send(res, 500, '{"message":"Internal Server Error"}');
  }
  const result = outcome.result as { statusCode?: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean; cookies?: string[] } | null;
  // Payload 2.0: a result without a statusCode is a 200 whose body is the result as JSON.
  if (result === null || typeof result !== 'object' || typeof result.statusCode !== 'number') {
    return send(res, 200, typeof result === 'string' ? result : JSON.stringify(result));
  }
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = { ...(result.headers ?? {}) };
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}

export interface Gateway {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startGateway(routes: readonly GatewayRoute[], options: { port: number; host?: string }): Promise<Gateway> {
  const compiled = routes.map(compile).sort((a, b) => a.rank - b.rank);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, '{"message":"Request Entity Too Large"}', { connection: 'close' });
      const method = (req.method ?? 'GET').toUpperCase();
      const url = req.url ?? '/';
      const path = url.split('?')[0]!;
      const match = matchRoute(compiled, method, path);
      if (!match) return send(res, 404, '{"message":"Not Found"}');
      const authorization = authorize(match.route.authorizationType, req.headersDistinct);
      if (!authorization.allowed) return send(res, 403, '{"message":"Forbidden"}');
      const event = toApiGatewayEvent(
        { method, url, headers: req.headersDistinct, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', protocol: 'http', port: req.socket.localPort },
        match.route.routeKey,
        match.parameters,
        authorization.authorizer,
      );
      respond(res, await invokeWithin(match.route, event));
    } catch {
      if (!res.headersSent) send(res, 500, '{"message":"Internal Server Error"}');
      else res.destroy();
    }
  };
  // handle answers every request itself, its errors included: nothing is left to await.
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
