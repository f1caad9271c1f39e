/** Builds API Gateway HTTP API (payload format 2.0) events, as API Gateway sends them to Lambda. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export interface HttpRequestInfo {
  method: string;
  /** The path with its query string, e.g. /jobs/abc?x=1 */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp?: string;
  host?: string;
  protocol?: 'http' | 'https';
}

const TEXT_TYPES = /^(text\/|application\/([\w.+-]+\+)?(json|xml|x-www-form-urlencoded|javascript))/i;

export function toApiGatewayEvent(request: HttpRequestInfo, routeKey: string, pathParameters: Record<string, string> | undefined): APIGatewayProxyEventV2 {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt) || '/';
  const rawQueryString = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  // API Gateway lower-cases header names and joins repeated headers with commas; cookies travel apart.
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(';').map((c) => c.trim()));
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(',') : value;
  }
  const host = request.host ?? headers.host ?? '127.0.0.1';
  headers['x-forwarded-proto'] ??= request.protocol ?? 'http';
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
  const contentType = headers['content-type'] ?? '';
  const isText = request.body.length === 0 || TEXT_TYPES.test(contentType) || contentType === '';
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: safeDecodeUri(rawPath),
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: { method: request.method.toUpperCase(), path: rawPath, protocol: 'HTTP/1.1', sourceIp: request.sourceIp ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(request.body.length > 0 ? { body: isText ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  };
}

/** API Gateway passes a path it cannot decode as it came. */
function safeDecodeUri(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}
