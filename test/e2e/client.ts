/**
 * HTTP client of the end-to-end suite. Against a remote API that requires IAM it signs requests with
 * SigV4 (service execute-api) using the standard AWS credential chain; locally it sends them as they are.
 */
import { inject } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../support/sha256';
import { defaultProvider } from '@aws-sdk/credential-provider-node';

export const target = inject('target');

const signer =
  !target.local && process.env.JOBLINE_API_SIGN !== '0'
    ? new SignatureV4({ service: 'execute-api', region: target.region, credentials: defaultProvider(), sha256: Sha256 })
    : undefined;

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function api<T = any>(
  method: string,
  path: string,
  options: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const url = new URL(`${target.apiUrl}${path}`);
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  let headers: Record<string, string> = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  if (signer) {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      body: payload,
    });
    headers = signed.headers;
    delete headers.host;
  }
  const response = await fetch(url, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

/** Polls GET /jobs/{id} until the job is SUCCEEDED or FAILED, backing off from 100 ms to 1 s. */
export async function waitForJob(jobId: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 100; ; wait = Math.min(1000, wait * 1.5)) {
    const { body } = await api('GET', `/jobs/${jobId}`);
    if (body?.status === 'SUCCEEDED' || body?.status === 'FAILED') return body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${body?.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
