/**
 * Example of a transactional job: moves an amount between two accounts stored in the stack's table.
 * Its only effects are DynamoDB writes, so the worker commits them in the same transaction as the job's
 * completion: a transfer can never be applied twice, whatever the deliveries, crashes and retries.
 *
 * Accounts open at balance 0 on first use and may go negative, so the ledger's invariant is simple:
 * every balance is the signed sum of the SUCCEEDED transfers that touched it, and all balances sum to 0.
 */
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import type { Infer } from './zod';
import { defineJob } from './define';

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

export function accountKey(accountId: string): string {
  return `ACCOUNT#${accountId}`;
}

function balanceChange(tableName: string, account: string, delta: number, at: string): TransactWriteItem {
  return {
    Update: {
      TableName: tableName,
      Key: { pk: { S: accountKey(account) } },
      UpdateExpression: 'ADD balance :delta SET updatedAt = :at',
      ExpressionAttributeValues: { ':delta': { N: String(delta) }, ':at': { S: at } },
    },
  };
}

export const transfer = defineJob({
  name: 'transfer',
  kind: 'transactional',
  schema: transferPayload,
  // Transfers out of one account run in order, one at a time.
  queue: { fifo: true, batchSize: 10, timeoutSeconds: 30, maxConcurrency: 10 },
  groupKey: (p) => p.from,
  handler: async (p, ctx) => {
    const at = new Date().toISOString();
    return {
      result: { from: p.from, to: p.to, amount: p.amount },
      writes: [balanceChange(ctx.tableName, p.from, -p.amount, at), balanceChange(ctx.tableName, p.to, p.amount, at)],
    };
  },
});
