/**
 * The dashboard's HTTP server: the page and its libraries (static-files.ts), the JSON routes (api-routes.ts),
 * each request checked first (request-guard.ts: its Host, and for an action its origin, its content type
 * and read-only mode). `jobline dev` starts one beside the API (local/dev.ts) and `jobline dashboard`
 * starts one for any target (cli/commands/dashboard.ts). Node's own http server: a dozen routes need no
 * framework.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, ApiUnreachableError } from '../../shared/client/api-client';
import { CliError, EXIT } from '../../cli/exit';
import type { Target } from '../../cli/target';
import { apiProblem, cachedOverview, problem, route, type Answer } from './api-routes';
import { checkRequest } from './request-guard';
import { contentSecurityPolicy, staticFile, vendorFiles } from './static-files';
import { Tasks } from './tasks';

export const DEFAULT_DASHBOARD_PORT = 3001;
/** The largest action body taken (a filter is a few hundred bytes). */
const MAX_BODY_BYTES = 16 * 1024;

export interface DashboardOptions {
  /** What it shows; a function, because `jobline dev` replaces its target when a reload changes the job types. */
  target: () => Target;
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** When the port is taken, listen on any free one instead of failing (jobline dev's default port). */
  anyPortIfTaken?: boolean;
  readOnly?: boolean;
  /** Pages of 100 jobs counted per type and state for the overview (default 10, as jobline stats). */
  maxPages?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  /** The port asked for was taken, so it listens on another (anyPortIfTaken). */
  movedFrom?: number;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: Buffer | string, type: string, csp: string): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': csp,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError(400, 'the body is not valid JSON');
  }
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a failure of the target looks like to the page: the API's refusal as it was, unreachable as 502. */
export function failureAnswer(error: unknown): Answer {
  if (error instanceof BodyError) return problem(error.status, 'invalid_body', error.message);
  if (error instanceof ApiError) return apiProblem(error);
  if (error instanceof ApiUnreachableError) return problem(502, 'api_unreachable', error.message);
  if (error instanceof CliError) {
    if (error.exitCode === EXIT.notFound) return problem(404, 'not_found', error.message);
    return problem(error.exitCode === EXIT.unreachable ? 502 : 409, 'refused', `${error.message}${error.hint ? ` (${error.hint})` : ''}`);
  }
  const e = error as { name?: string; message?: string; $metadata?: unknown } | undefined;
  if (e?.$metadata !== undefined) return problem(502, 'aws_error', `${e.name}: ${e.message}`);
  if (e && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test(`${e.message} ${(e as { code?: string }).code ?? ''}`))
    return problem(502, 'unreachable', e.message ?? 'unreachable');
  return problem(500, 'internal', error instanceof Error ? error.message : String(error));
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const readOnly = options.readOnly ?? false;
  const tasks = new Tasks();
  const maxPages = options.maxPages ?? 10;
  const overview = cachedOverview(options.target, maxPages, 2000);
  const vendor = vendorFiles();
  const csp = await contentSecurityPolicy();
  const sendJson = (response: ServerResponse, answer: Answer) => send(response, answer.status, JSON.stringify(answer.body), 'application/json; charset=utf-8', csp);
  let port = 0;

  const server = createServer((request, response) => {
    void (async () => {
      const method = request.method ?? 'GET';
      const url = new URL(request.url ?? '/', 'http://dashboard');
      const refusal = checkRequest(method, request.headers, { host, port, readOnly });
      if (refusal) {
        request.resume();
        return sendJson(response, problem(refusal.status, refusal.code, refusal.message));
      }
      if (url.pathname.startsWith('/api/')) {
        try {
          const body = method === 'POST' ? await readBody(request) : (request.resume(), undefined);
          sendJson(response, await route(method, url, body, { target: options.target(), readOnly, tasks, maxPages, overview }));
        } catch (error) {
          sendJson(response, failureAnswer(error));
        }
        return;
      }
      request.resume();
      const file = method === 'GET' ? await staticFile(url.pathname, vendor) : undefined;
      if (file) send(response, 200, file.body, file.type, csp);
      else send(response, 404, 'not found', 'text/plain; charset=utf-8', csp);
    })().catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, failureAnswer(error));
      else response.destroy();
    });
  });

  const listen = (at: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen({ host, port: at }, () => {
        server.off('error', onError);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const wanted = options.port ?? DEFAULT_DASHBOARD_PORT;
  let movedFrom: number | undefined;
  try {
    port = await listen(wanted);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !options.anyPortIfTaken) throw Object.assign(error as Error, { port: wanted });
    movedFrom = wanted;
    port = await listen(0);
  }
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    ...(movedFrom !== undefined ? { movedFrom } : {}),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
