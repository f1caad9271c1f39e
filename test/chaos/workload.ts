/**
 * The chaos workload: transfers among random accounts and webhooks to the local receiver, a few of them
 * poison (their target answers 4xx, so they must end FAILED with their message in the DLQ).
 */
import { Prng } from '../support/prng';

export interface TransferJob {
  kind: 'transfer';
  key: string;
  payload: { from: string; to: string; amount: number };
}

export interface WebhookJob {
  kind: 'webhook';
  key: string;
  poison: boolean;
  /** As the API stores it (with its default timeout), so the harness's extra copies equal the original. */
  payload: { url: string; body: { n: number }; timeoutSeconds: number };
}

export type ChaosJob = TransferJob | WebhookJob;

export interface WorkloadOptions {
  jobs: number;
  webhookShare: number;
  poisonShare: number;
  accounts: number;
  receiverUrl: string;
  seed: number;
}

export function accountName(i: number): string {
  return `acct-${String(i).padStart(4, '0')}`;
}

export function buildWorkload(o: WorkloadOptions): ChaosJob[] {
  const random = new Prng(o.seed);
  return Array.from({ length: o.jobs }, (_, n): ChaosJob => {
    const key = `chaos-${o.seed}-${n}`;
    if (random.next() < o.webhookShare) {
      const poison = random.next() < o.poisonShare;
      return { kind: 'webhook', key, poison, payload: { url: `${o.receiverUrl}/${poison ? 'reject' : 'hook'}`, body: { n }, timeoutSeconds: 10 } };
    }
    const from = Math.floor(random.next() * o.accounts);
    const to = (from + 1 + Math.floor(random.next() * (o.accounts - 1))) % o.accounts;
    return { kind: 'transfer', key, payload: { from: accountName(from), to: accountName(to), amount: 1 + Math.floor(random.next() * 1000) } };
  });
}
