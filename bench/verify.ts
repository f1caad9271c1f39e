/**
 * The correctness check after each throughput run: a benchmark of a design that applies a job twice (or
 * not at all) is meaningless. Transfers: every job moves its amount between two accounts that no other
 * job touches, so each account's balance says how many times its job was applied. Webhooks: the receiver
 * counts calls per Idempotency-Key (the job id).
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BenchJob } from './workload';

export interface Check {
  ok: boolean;
  summary: string;
  /** Jobs in the run, and how many took effect once, more than once, never. */
  jobs: number;
  once: number;
  more: number;
  never: number;
}

function verdict(jobs: number, once: number, more: number, never: number, what: string): Check {
  const ok = once === jobs && more === 0 && never === 0;
  return { ok, jobs, once, more, never, summary: `${what} once: ${once}/${jobs}, more than once: ${more}, never: ${never}` };
}

export async function checkTransfers(client: DynamoDBClient, table: string, jobs: readonly BenchJob[]): Promise<Check> {
  const balances = new Map<string, number>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, FilterExpression: 'begins_with(pk, :account)', ExpressionAttributeValues: { ':account': { S: 'ACCOUNT#' } }, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) balances.set(item.pk!.S!.slice('ACCOUNT#'.length), Number(item.balance?.N ?? 0));
    start = page.LastEvaluatedKey;
  } while (start);

  let once = 0;
  let more = 0;
  let missing = 0;
  for (const job of jobs) {
    const credited = balances.get(job.to!) ?? 0;
    const debited = -(balances.get(job.from!) ?? 0);
    if (credited === job.amount && debited === job.amount) once++;
    else if (credited === 0 && debited === 0) missing++;
    else more++;
  }
  const total = [...balances.values()].reduce((sum, b) => sum + b, 0);
  const check = verdict(jobs.length, once, more, missing, 'transfers applied');
  return { ...check, ok: check.ok && total === 0, summary: `${check.summary}; sum of balances ${total}` };
}

export function checkWebhooks(calls: ReadonlyMap<string, number>, jobs: readonly BenchJob[]): Check {
  let once = 0;
  let more = 0;
  let missing = 0;
  for (const job of jobs) {
    const n = calls.get(job.jobId) ?? 0;
    if (n === 1) once++;
    else if (n === 0) missing++;
    else more++;
  }
  const ids = new Set(jobs.map((j) => j.jobId));
  const strangers = [...calls.keys()].filter((key) => !ids.has(key)).length;
  const check = verdict(jobs.length, once, more, missing, 'receiver called');
  return { ...check, ok: check.ok && strangers === 0, summary: `${check.summary}${strangers ? `; unknown keys: ${strangers}` : ''}` };
}
