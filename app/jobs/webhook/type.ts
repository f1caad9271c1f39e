/**
 * The webhook job type: its payload (a URL, a JSON body, headers) and its queue options. The API and
 * JobClient load only this module; the handler that makes the call is in ./handler.ts.
 */
import * as z from 'zod/mini';
import { defineJobType } from '../../../shared/jobs/define';
import type { Infer } from '../../../shared/jobs/zod';

/** Headers jobline sets itself. */
const SET_BY_JOBLINE = ['content-type', 'content-length', 'host', 'idempotency-key'];
/** Hop-by-hop and connection-level headers: they describe jobline's connection, not the call, and cannot be forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer', 'transfer-encoding'];
const UNSENDABLE_HEADERS = new Set([...SET_BY_JOBLINE, ...HOP_BY_HOP]);
const isUnsendableHeader = (name: string) => {
  const lower = name.toLowerCase();
  return UNSENDABLE_HEADERS.has(lower) || lower.startsWith('proxy-');
};

const listed = (names: readonly string[]) => `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
/** The longest call a payload may ask for (timeoutSeconds): see the schema. */
export const MAX_CALL_SECONDS = 20;

export const webhookPayload = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'url must be an absolute http(s) URL' }).check(z.maxLength(2048, 'url must be at most 2048 characters')),
  body: z.json(),
  headers: z.optional(
    z
      .record(
        z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, 'header names are letters, digits and dashes')),
        // What an HTTP header value may hold (no CR, LF or NUL; Latin-1 only): node:http refuses anything else.
        z.string().check(z.maxLength(1024), z.regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'header values are printable Latin-1 text without line breaks')),
      )
      .check(
        z.superRefine((headers, ctx) => {
          const refused = Object.keys(headers).filter(isUnsendableHeader);
          if (refused.length === 0) return;
          ctx.addIssue({
            code: 'custom',
            input: headers,
            message: `headers may not set ${refused.slice(0, 10).join(', ')}: jobline sets ${listed(SET_BY_JOBLINE)} itself, and ${listed([...HOP_BY_HOP, 'proxy-*'])} are connection-level headers a webhook call cannot carry`,
          });
        }),
      ),
  ),
  // A call must end within one invocation of the worker: its queue's 30 s timeout, less the lease's margin
  // and the claim and commit around the call (about 25 s for the handler). A longer call could never succeed.
  timeoutSeconds: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(MAX_CALL_SECONDS)), 10),
});

export type WebhookPayload = Infer<typeof webhookPayload>;

export const webhookType = defineJobType({
  name: 'webhook',
  kind: 'leased',
  schema: webhookPayload,
  queue: { batchSize: 10, timeoutSeconds: 30, maxConcurrency: 10 },
  // The target's host is the tenant (SQS fair queues): one flooded or slow endpoint's backlog does not hold
  // back the calls to the others.
  tenantKey: (payload) => new URL(payload.url).host,
  // And a rate per host, across every worker: at most 100 calls a second to one endpoint (bursts of 100),
  // however many jobs for it are waiting. A deployment can set its own numbers (limitOverrides).
  limits: { key: (payload) => new URL(payload.url).host, rate: { perSecond: 100, burst: 100 } },
});
