/** Building API Gateway (HTTP API, payload 2.0) responses. Errors always carry a code and a reason. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type ApiResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export interface Problem {
  code: string;
  message: string;
  details?: unknown;
}

export function problem(statusCode: number, code: string, message: string, details?: unknown, headers?: Record<string, string>): ApiResponse {
  const error: Problem = details === undefined ? { code, message } : { code, message, details };
  return json(statusCode, { error }, headers);
}

/**
 * A 400 naming the query parameters `route` does not take, or undefined. A mistyped parameter is refused
 * rather than ignored: `?delai=60` would otherwise run a job at once that was meant to wait.
 */
export function unknownQueryParameters(event: Pick<APIGatewayProxyEventV2, 'queryStringParameters'>, known: readonly string[], route: string): ApiResponse | undefined {
  const unknown = Object.keys(event.queryStringParameters ?? {}).filter((name) => !known.includes(name));
  if (unknown.length === 0) return undefined;
  const takes = known.length > 0 ? `takes ${known.join(', ')}` : 'takes no query parameters';
  return problem(400, 'invalid_query', `unknown query parameter ${unknown.join(', ')}: ${route} ${takes}`);
}

/** Header lookup that does not depend on case (API Gateway lower-cases them; other callers may not). */
export function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The absolute URL of a path on the API that received `event`. */
export function apiUrl(event: APIGatewayProxyEventV2, path: string): string {
  const proto = header(event, 'x-forwarded-proto')?.split(',')[0]?.trim() || 'https';
  const host = event.requestContext?.domainName || header(event, 'host') || 'localhost';
  const stage = event.requestContext?.stage;
  const prefix = stage && stage !== '$default' ? `/${stage}` : '';
  return `${proto}://${host}${prefix}${path}`;
}
