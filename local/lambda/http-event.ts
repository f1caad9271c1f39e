/**
 * Builds API Gateway HTTP API (payload format 2.0) events, as API Gateway sends them to Lambda, and the
 * `requestContext.authorizer.iam` identity of routes with IAM authorization. The format:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * Where that page says nothing (how the path is decoded, the forwarding headers), the event follows events
 * captured from a deployed HTTP API (hotsock/voker, vokerhttp/testdata/apigwv2-request.json): `rawPath` and
 * `requestContext.http.path` both percent-decoded, `x-amzn-trace-id`, `x-forwarded-for`, `x-forwarded-port`
 * and `x-forwarded-proto` added to the headers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
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
  /** The port the request came in on (x-forwarded-port); API Gateway's is 443. */
  port?: number;
}

/** What API Gateway passes in `requestContext.authorizer.iam` for a route with IAM authorization. */
export interface IamIdentity {
  accessKey: string;
  accountId: string;
  callerId: string;
  cognitoIdentity: null;
  principalOrgId: string | null;
  userArn: string;
  userId: string;
}

export interface IamAuthorizer {
  iam: IamIdentity;
}

/** An HTTP API event; routes with IAM authorization add `requestContext.authorizer`. */
export type HttpApiEvent = APIGatewayProxyEventV2 & { requestContext: { authorizer?: IamAuthorizer } };

export const LOCAL_ACCOUNT_ID = '000000000000';
/** The access key id of a request to an IAM route that is not signed at all (locally only; AWS answers 403). */
export const ANONYMOUS_ACCESS_KEY = 'local';

/**
 * The access key id of a SigV4 `Authorization` header
 * (`AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...`),
 * or undefined when the header is not of that shape. The signature itself is not checked.
 */
export function sigV4AccessKeyId(authorization: string): string | undefined {
  const match = /^AWS4-HMAC-SHA256\s+(.+)$/s.exec(authorization.trim());
  if (!match) return undefined;
  const parameters = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) return undefined;
    parameters.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const credential = (parameters.get('Credential') ?? '').split('/');
  const signedHeaders = parameters.get('SignedHeaders') ?? '';
  const signature = parameters.get('Signature') ?? '';
  if (credential.length !== 5) return undefined;
  const [keyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  if (!/^[A-Za-z0-9]+$/.test(keyId) || !/^\d{8}$/.test(date) || !region || !service || terminator !== 'aws4_request') return undefined;
  if (!/^[a-z0-9-]+(;[a-z0-9-]+)*$/.test(signedHeaders) || !/^[0-9a-f]+$/i.test(signature)) return undefined;
  return keyId;
}

/** The identity API Gateway reports for an IAM user's access key, in the local account. */
export function iamIdentity(accessKeyId: string): IamIdentity {
  return {
    accessKey: accessKeyId,
    accountId: LOCAL_ACCOUNT_ID,
    callerId: accessKeyId,
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/${accessKeyId}`,
    userId: accessKeyId,
  };
}

export type Authorization = { allowed: true; authorizer?: IamAuthorizer } | { allowed: false };

/**
 * Authorizes a request to a route the way the local gateway does. AWS_IAM routes: the identity of the
 * SigV4 header's access key (signatures are not checked); no Authorization header at all is the one
 * anonymous local caller (`local`; AWS would answer 403, locally curl works); a header that is not SigV4 is
 * refused (API Gateway's 403). Routes without authorization (NONE) get no authorizer.
 */
export function authorize(authorizationType: string | undefined, headers: Record<string, string | string[] | undefined>): Authorization {
  if (authorizationType !== 'AWS_IAM') return { allowed: true };
  const values = Object.entries(headers)
    .filter(([name, value]) => name.toLowerCase() === 'authorization' && value !== undefined)
    .flatMap(([, value]) => (Array.isArray(value) ? value : [value!]));
  if (values.length === 0) return { allowed: true, authorizer: { iam: iamIdentity(ANONYMOUS_ACCESS_KEY) } };
  const keyId = values.length === 1 ? sigV4AccessKeyId(values[0]!) : undefined;
  return keyId ? { allowed: true, authorizer: { iam: iamIdentity(keyId) } } : { allowed: false };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestContext.time`: `27/Nov/2026:20:47:23 +0000`. */
export function apiGatewayTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

const TEXT_TYPES = /^(text\/|application\/([\w.+-]+\+)?(json|xml|x-www-form-urlencoded|javascript))/i;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether API Gateway passes a body as text: a text content type, or none and the bytes are UTF-8 text. Otherwise base64. */
function isTextBody(body: Buffer, contentType: string): boolean {
  if (body.length === 0 || TEXT_TYPES.test(contentType)) return true;
  if (contentType.trim() !== '') return false;
  try {
    STRICT_UTF8.decode(body);
    return true;
  } catch {
    return false;
  }
}

/** An X-Ray trace header as API Gateway adds it: `Root=1-<epoch seconds, hex>-<24 hex digits>`. */
export function traceId(now = new Date()): string {
  return `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

export function toApiGatewayEvent(request: HttpRequestInfo, routeKey: string, pathParameters: Record<string, string> | undefined, authorizer?: IamAuthorizer): HttpApiEvent {
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
  // API Gateway appends the caller's address to any X-Forwarded-For the request carries.
  const sourceIp = request.sourceIp ?? '127.0.0.1';
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
  headers['x-forwarded-port'] = String(request.port ?? (request.protocol === 'https' ? 443 : 80));
  const now = new Date();
  headers['x-amzn-trace-id'] ??= traceId(now);
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
  const isText = isTextBody(request.body, headers['content-type'] ?? '');
  // HTTP API hands the path over percent-decoded, in both rawPath and requestContext.http.path.
  const path = safeDecodeUri(rawPath);
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      ...(authorizer ? { authorizer } : {}),
      http: { method: request.method.toUpperCase(), path, protocol: 'HTTP/1.1', sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
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
