/**
 * The local HTTP API: serves the template's routes with API Gateway HTTP API semantics (payload format
 * 2.0, most specific route first, 404/413/500/503 answered as API Gateway answers them) and invokes each
 * route's function. Routes with IAM authorization pass the caller's identity (`requestContext.authorizer.iam`)
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
  invoke(event: unknown): Promise<InvokeResult>;
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

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function respond(res: ServerResponse, outcome: InvokeResult) {
  if (!outcome.ok) {
    if (outcome.kind === 'timeout') return send(res, 503, '{"message":"Service Unavailable"}');
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
      if (body === undefined) return send(res, 413, '{"message":"Request Entity Too Large"}');
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
      respond(res, await match.route.invoke(event));
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
