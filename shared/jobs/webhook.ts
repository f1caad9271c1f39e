/**
 * Example of a leased job: POSTs a JSON body to a URL. Its effect is outside DynamoDB, so the worker
 * holds a lease while it runs, and the target receives the job id as its `Idempotency-Key` header:
 * a target that honours it applies the call once even when jobline has to call again (a crash after the
 * call, before the completion was recorded).
 *
 * 2xx succeeds. 408, 425, 429, 5xx, network errors and timeouts are retried with backoff. Any other 4xx
 * (and a redirect) fails the job at once: sending the same request again cannot help.
 */
import * as z from 'zod/mini';
import type { Infer } from './zod';
import { PermanentError, TransientError } from '../errors';
import { defineJob } from './define';

const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'idempotency-key', 'connection', 'transfer-encoding']);

export const webhookPayload = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an absolute http(s) URL' }).check(z.maxLength(2048, 'url must be at most 2048 characters')),
  body: z.json(),
  headers: z.optional(
    z
      .record(
        z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, 'header names are letters, digits and dashes')),
        // What an HTTP header value may hold (no CR, LF or NUL; Latin-1 only): fetch refuses anything else.
        z.string().check(z.maxLength(1024), z.regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'header values are printable Latin-1 text without line breaks')),
      )
      .check(z.refine((h) => Object.keys(h).every((name) => !RESERVED_HEADERS.has(name.toLowerCase())), 'headers may not set content-type, host or idempotency-key')),
  ),
  timeoutSeconds: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(60)), 10),
});

export type WebhookPayload = Infer<typeof webhookPayload>;
export interface WebhookResult {
  status: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export const webhook = defineJob({
  name: 'webhook',
  kind: 'leased',
  schema: webhookPayload,
  queue: { batchSize: 10, timeoutSeconds: 30, maxReceiveCount: 5, maxConcurrency: 10 },
  handler: async (p, ctx): Promise<WebhookResult> => {
    let response: Response;
    try {
      response = await fetch(p.url, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...p.headers, 'content-type': 'application/json', 'idempotency-key': ctx.jobId, 'user-agent': 'jobline-webhook' },
        body: JSON.stringify(p.body),
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(p.timeoutSeconds * 1000)]),
      });
    } catch (error) {
      throw new TransientError(`webhook call failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    // Drain the body so the connection can be reused; its content is not kept.
    await response.arrayBuffer().catch(() => undefined);
    const { status } = response;
    if (status >= 200 && status < 300) return { status };
    if (status >= 500 || RETRYABLE_STATUS.has(status)) {
      const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
      throw new TransientError(`webhook target answered ${status}`, retryAfter === undefined ? undefined : { retryAfterSeconds: retryAfter });
    }
    throw new PermanentError(`webhook target answered ${status}`);
  },
});
