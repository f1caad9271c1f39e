/**
 * Example of a leased job: POSTs a JSON body to a URL. Its effect is outside DynamoDB, so the worker
 * holds a lease while it runs, and the target receives the job id as its `Idempotency-Key` header:
 * a target that honours it applies the call once even when jobline has to call again (a crash after the
 * call, before the completion was recorded).
 *
 * 2xx succeeds. 408, 425, 429, 5xx, network errors and timeouts are retried with backoff. Any other 4xx
 * (and a redirect) fails the job at once: sending the same request again cannot help.
 */
import { z } from 'zod';
import { PermanentError, TransientError } from '../errors';
import { defineJob } from './define';

const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'idempotency-key', 'connection', 'transfer-encoding']);

export const webhookPayload = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an absolute http(s) URL' })
    .max(2048),
  body: z.json(),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'header names are letters, digits and dashes'), z.string().max(1024))
    .refine((h) => Object.keys(h).every((name) => !RESERVED_HEADERS.has(name.toLowerCase())), 'headers may not set content-type, host or idempotency-key')
    .optional(),
  timeoutSeconds: z.number().int().min(1).max(60).default(10),
});

export type WebhookPayload = z.output<typeof webhookPayload>;
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
