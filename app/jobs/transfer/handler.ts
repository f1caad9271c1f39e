/**
 * Example of a transactional job: moves an amount between two accounts stored in the stack's table.
 * Its only effects are DynamoDB writes, so the worker commits them in the same transaction as the job's
 * completion: a transfer can never be applied twice, whatever the deliveries, crashes and retries.
 *
 * Accounts open at balance 0 on first use and may go negative, so the ledger's invariant is simple:
 * every balance is the signed sum of the SUCCEEDED transfers that touched it, and all balances sum to 0.
 */
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { defineJob } from '../../../shared/jobs/define';
import { transferType } from './type';

export { transferPayload, transferType, type TransferPayload } from './type';

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

export const transfer = defineJob(transferType, (p, ctx) => {
  const at = new Date().toISOString();
  return Promise.resolve({
    result: { from: p.from, to: p.to, amount: p.amount },
    writes: [balanceChange(ctx.tableName, p.from, -p.amount, at), balanceChange(ctx.tableName, p.to, p.amount, at)],
  });
});
