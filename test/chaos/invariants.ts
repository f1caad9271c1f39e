/**
 * The chaos suite's invariants, as pure functions over what the run observed, so they can be unit-tested
 * (and shown to fail) without running the chaos itself.
 */
export interface ObservedJob {
  jobId: string;
  type: string;
  status: string;
  /** The transfer's payload, for the ledger check. */
  transfer?: { from: string; to: string; amount: number };
}

export interface Observation {
  jobs: ObservedJob[];
  /** Jobs the harness submitted but never got a job id for (lost before reaching the system). */
  unsubmitted: number;
  balances: Map<string, number>;
  /** Job ids whose message is in a DLQ. */
  deadLettered: Set<string>;
  /** Webhook calls seen by the receiver, per Idempotency-Key (= job id). */
  webhookCalls: Map<string, number>;
  /** Each webhook call's [start, end] in ms, per key; with `leaseMs`, shows two workers running one job. */
  webhookIntervals?: Map<string, [number, number][]>;
  leaseMs?: number;
}

/**
 * Slack for the time between a worker's claim and its call being seen by the receiver (a stalled process on
 * a busy machine): a call that starts while another call of its key is running, less than (lease - slack)
 * after it, ran under a live lease. Two workers claiming at once start their calls milliseconds apart.
 */
export const LEASE_SLACK_MS = 500;

export interface Verdict {
  lost: number;
  doubleApplied: number;
  failed: number;
  failedInDlq: number;
  ledgerSum: number;
  webhookKeysMissing: number;
  webhookCallsPerKey: number;
  /** Webhook calls that ran while another call of the same job still held a live lease. */
  concurrentUnderLease: number;
  problems: string[];
}

/** Pairs of calls of one key that overlapped although the first one's lease had not run out yet. */
export function callsUnderLiveLease(intervals: ReadonlyMap<string, readonly (readonly [number, number])[]>, leaseMs: number): number {
  let count = 0;
  for (const calls of intervals.values()) {
    const sorted = [...calls].sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j]![0] < sorted[i]![1]; j++) {
        if (sorted[j]![0] - sorted[i]![0] < leaseMs - LEASE_SLACK_MS) count++;
      }
    }
  }
  return count;
}

export function checkInvariants(o: Observation): Verdict {
  const problems: string[] = [];
  // Lost: not SUCCEEDED, and not FAILED with its message parked in a DLQ.
  const lostJobs = o.jobs.filter((j) => j.status !== 'SUCCEEDED' && !(j.status === 'FAILED' && o.deadLettered.has(j.jobId)));
  const lost = lostJobs.length + o.unsubmitted;
  if (lost > 0) problems.push(`${lost} jobs lost (e.g. ${lostJobs.slice(0, 3).map((j) => `${j.jobId}:${j.status}`).join(', ')}${o.unsubmitted ? `; ${o.unsubmitted} never submitted` : ''})`);

  const failedJobs = o.jobs.filter((j) => j.status === 'FAILED');
  const failedInDlq = failedJobs.filter((j) => o.deadLettered.has(j.jobId)).length;

  // The ledger: every balance is the signed sum of the SUCCEEDED transfers that touched it.
  const expected = new Map<string, number>();
  for (const j of o.jobs) {
    if (j.status !== 'SUCCEEDED' || !j.transfer) continue;
    expected.set(j.transfer.from, (expected.get(j.transfer.from) ?? 0) - j.transfer.amount);
    expected.set(j.transfer.to, (expected.get(j.transfer.to) ?? 0) + j.transfer.amount);
  }
  const accounts = new Set([...expected.keys(), ...o.balances.keys()]);
  let doubleApplied = 0;
  for (const account of accounts) {
    if ((o.balances.get(account) ?? 0) !== (expected.get(account) ?? 0)) doubleApplied++;
  }
  if (doubleApplied > 0) problems.push(`${doubleApplied} accounts whose balance is not the sum of their SUCCEEDED transfers (a transfer applied twice, or not at all)`);
  const ledgerSum = [...o.balances.values()].reduce((a, b) => a + b, 0);
  if (ledgerSum !== 0) problems.push(`the balances sum to ${ledgerSum}, not 0`);

  const succeededWebhooks = o.jobs.filter((j) => j.type === 'webhook' && j.status === 'SUCCEEDED');
  const webhookKeysMissing = succeededWebhooks.filter((j) => !o.webhookCalls.has(j.jobId)).length;
  if (webhookKeysMissing > 0) problems.push(`${webhookKeysMissing} SUCCEEDED webhooks the receiver never saw`);
  const calls = succeededWebhooks.reduce((sum, j) => sum + (o.webhookCalls.get(j.jobId) ?? 0), 0);
  const concurrentUnderLease = o.webhookIntervals && o.leaseMs ? callsUnderLiveLease(o.webhookIntervals, o.leaseMs) : 0;
  if (concurrentUnderLease > 0) problems.push(`${concurrentUnderLease} webhook calls ran while another call of the same job still held its lease`);

  return {
    lost,
    doubleApplied,
    failed: failedJobs.length,
    failedInDlq,
    ledgerSum,
    webhookKeysMissing,
    webhookCallsPerKey: succeededWebhooks.length ? calls / succeededWebhooks.length : 0,
    concurrentUnderLease,
    problems,
  };
}
