/**
 * The transfer job type: its payload and queue options (FIFO, one group per source account). The API and
 * JobClient load only this module; the handler is in ./handler.ts.
 */
import * as z from 'zod/mini';
import { defineJobType } from '../../../shared/jobs/define';
import type { Infer } from '../../../shared/jobs/zod';

const accountId = z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'account ids are 1-64 letters, digits, dots, dashes or underscores'));

export const transferPayload = z
  .strictObject({
    from: accountId,
    to: accountId,
    /** Minor units (cents): integers only, so sums are exact. */
    amount: z.number().check(z.int(), z.positive(), z.maximum(1_000_000_000_000)),
    memo: z.optional(z.string().check(z.maxLength(200))),
  })
  .check(z.refine((p) => p.from !== p.to, { message: 'from and to must be different accounts', path: ['to'] }));

export type TransferPayload = Infer<typeof transferPayload>;

export const transferType = defineJobType({
  name: 'transfer',
  kind: 'transactional',
  schema: transferPayload,
  // Transfers out of one account run in order, one at a time.
  queue: { fifo: true, batchSize: 10, timeoutSeconds: 30, maxConcurrency: 10 },
  groupKey: (p) => p.from,
});
