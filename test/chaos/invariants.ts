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
  /** From the job record at the end of the run. */
  generation?: number;
  payloadHash?: string;
  /** The record's finishedAt, in epoch milliseconds. */
  finishedAt?: number;
  /** The terminal states its record's timeline shows it reached, each with its generation. */
  terminals?: { state: string; generation: number }[];
  /** Its timeline was cut at its first entries by a retry (MAX_HISTORY_KEPT): older terminals may be gone. */
  historyCut?: boolean;
  /** It was submitted with a Callback-Url. */
  callback?: boolean;
}

/** A notification as its listener saw it: an event on jobline's bus, or a callback at its receiver. */
export interface ObservedNotice {
  jobId: string;
  status: string;
  generation: number;
  /** Callbacks: whether Jobline-Signature verified with the stack's secret. */
  signed?: boolean;
}

/** A message seen in a DLQ (read before each redrive, or in the final drain), as its body names its job. */
export interface DeadLetterSighting {
  jobId: string;
  generation: number;
  payloadHash: string;
}

/** A webhook call as the receiver saw it. */
export interface ObservedCall {
  key: string;
  path: string;
  /** Arrival, epoch milliseconds (the same clock as the records' finishedAt). */
  at: number;
  status: number;
}

/** A job the clients expected to fail and watched until it did, and what they did then. */
export interface WatchedJob {
  jobId: string;
  /** The record's finishedAt (epoch ms) when the client first saw the job FAILED; undefined: never seen FAILED. */
  failedAt?: number;
  /** Reject-once jobs: resubmitted under a new key, or retried explicitly (`accepted`: the retry was answered 202). */
  followUp?: { action: 'resubmit'; againJobId?: string } | { action: 'retry'; requestedAt: number; accepted: boolean };
}

/** What the second caller saw when it submitted the first caller's key with another payload. */
export interface CrossCallerProbe {
  key: string;
  /** The first caller's job. */
  aJobId: string;
  /** The second caller's answer to its submit (last one, after retries of 5xx) and the job id in it. */
  bStatus: number;
  bJobId?: string;
  /** Status of the second caller's GET of the first caller's job (must be 404), and the reverse. */
  bGetOfA: number;
  aGetOfB?: number;
}

export interface Observation {
  jobs: ObservedJob[];
  /** Jobs the harness submitted but never got a job id for (lost before reaching the system). */
  unsubmitted: number;
  balances: Map<string, number>;
  /** Job ids whose message is in a DLQ (see deadLetteredJobs). */
  deadLettered: Set<string>;
  /** Webhook calls seen by the receiver, per Idempotency-Key (= job id). */
  webhookCalls: Map<string, number>;
  /** Each webhook call's [start, end] in ms, per key; with `leaseMs`, shows two workers running one job. */
  webhookIntervals?: Map<string, [number, number][]>;
  leaseMs?: number;
  /** Every webhook call, with its path and arrival time. */
  calls?: ObservedCall[];
  /** Jobs expected to fail (poison, reject-once, unavailable targets), watched by their clients. */
  watched?: WatchedJob[];
  /** Forged messages: the real jobs they name (which must end SUCCEEDED) and their SQS message ids. */
  forged?: { victims: string[]; messageIds: string[] };
  /** Message ids of the stale generation-1 copies sent after explicit retries. */
  stale?: string[];
  /** Message ids the workers logged as `message dropped without running`. */
  dropped?: Set<string>;
  /** Message ids the workers parked in a DLQ (a message that is not its job's own is parked, not run). */
  parked?: Set<string>;
  crossCaller?: CrossCallerProbe[];
  /** Jobs whose handler result was replaced by an oversized one (they must still end SUCCEEDED). */
  oversized?: Set<string>;
  /** Delayed jobs: their run time (epoch ms) as the submit's answer gave it. */
  delayed?: Map<string, number>;
  /** Jobs the clients cancelled (answered 200 CANCELLED), and whether they retried them then. */
  cancelled?: Map<string, { retried: boolean }>;
  /**
   * A job type's limits, as deployed for the run, and what each limited host (one limit key) saw: its calls'
   * arrival times (epoch ms) and [start, end] intervals (ms, one clock per host).
   */
  limits?: ObservedLimits;
  /** jobline events read from the local EventBridge's events file, and the callbacks the receiver got. */
  events?: ObservedNotice[];
  callbacks?: ObservedNotice[];
}

export interface ObservedLimits {
  rate: { perSecond: number; burst: number };
  concurrency: number;
  hosts: { host: string; callTimes: readonly number[]; intervals: readonly (readonly [number, number])[] }[];
  /** JobsDeferred, summed over the workers' metrics: how often a job was sent back by a limit. */
  deferrals: number;
  /** Jobs sent in bursts past the limits (to a target that always answers 2xx): each must end SUCCEEDED. */
  burstJobs: readonly string[];
}

/**
 * The rate a limited host saw, over windows of `windowMs`: at most `burst + perSecond x (window + slack)`
 * calls. The slack is the time between a job's start slot and its call reaching the receiver (claim,
 * DynamoDB retries, a stalled process): calls come at or after their slots, never before, so a late group
 * can only bunch within it.
 */
export const RATE_WINDOW_MS = 2000;
export const RATE_SLACK_MS = 1000;

export function rateExcess(
  callTimes: readonly number[],
  rate: { perSecond: number; burst: number },
  windowMs = RATE_WINDOW_MS,
  slackMs = RATE_SLACK_MS,
): { max: number; bound: number; over: number; example?: string } {
  const times = [...callTimes].sort((a, b) => a - b);
  const bound = Math.floor(rate.burst + (rate.perSecond * (windowMs + slackMs)) / 1000);
  let max = 0;
  let over = 0;
  let example: string | undefined;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    const count = j - i;
    max = Math.max(max, count);
    if (count > bound) {
      over++;
      example ??= `${count} calls in the ${windowMs} ms from ${new Date(times[i]!).toISOString()}`;
    }
  }
  return { max, bound, over, ...(example ? { example } : {}) };
}

/**
 * The calls a limited host had in flight at once: never more than the concurrency limit. A call holds its
 * place from before it is sent until after its answer is read, so the receiver's view of it (arrival to
 * answer, or to the connection's close) lies within its hold; equal times count an end before a start.
 */
export function concurrencyExcess(intervals: readonly (readonly [number, number])[], limit: number): { max: number; over: number } {
  const edges = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let inFlight = 0;
  let max = 0;
  let over = 0;
  for (const [, step] of edges) {
    inFlight += step!;
    max = Math.max(max, inFlight);
    if (step === 1 && inFlight > limit) over++;
  }
  return { max, over };
}

/**
 * Slack for the time between a worker's claim and its call being seen by the receiver (a stalled process on
 * a busy machine): a call that starts while another call of its key is running, less than (lease - slack)
 * after it, ran under a live lease. Two workers claiming at once start their calls milliseconds apart.
 */
export const LEASE_SLACK_MS = 500;

export const FORGED_PATH_PREFIX = '/forged/';
export const FORGED_ACCOUNT_PREFIX = 'forged-';
export const REJECT_ONCE_PATH_PREFIX = '/reject-once/';

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
  /** Effects of FAILED jobs that re-ran without an explicit retry (see redriveReruns). */
  redriveReruns: number;
  /** Effects of forged messages, and jobs named by them that did not end SUCCEEDED (see forgedRan). */
  forgedRan: number;
  /** Forged messages no worker refused (dropped or parked), and stale copies no worker dropped. */
  forgedUnrefused: number;
  staleUndropped: number;
  /** Explicitly retried jobs that did not end SUCCEEDED in generation 2. */
  retriedWrong: number;
  /** Jobs left PENDING or RUNNING. */
  stuck: number;
  /** Violations of caller scoping (see crossCallerViolations). */
  crossCaller: number;
  /** Jobs with an oversized result that did not end SUCCEEDED. */
  oversizedFailed: number;
  /** Delayed jobs that ran (a webhook call arrived, a transfer finished) before their run time. */
  delayedEarly: number;
  /** Cancelled jobs (not retried) with an effect: a webhook call (transfers: see doubleApplied). */
  cancelledRan: number;
  /** Cancelled jobs not CANCELLED at the end; cancelled-then-retried jobs not SUCCEEDED in generation 2. */
  cancelledWrong: number;
  /** Terminal states (job, state, generation) with no event; events of no terminal state (see notificationGaps). */
  eventsMissing: number;
  eventsWrong: number;
  /** The same for the callbacks of jobs submitted with a Callback-Url; and callbacks whose signature failed. */
  callbacksMissing: number;
  callbacksWrong: number;
  /** Windows of a limited host over its rate's bound; calls over its concurrency limit; burst jobs not SUCCEEDED. */
  rateOver: number;
  concurrencyOver: number;
  limitedFailed: number;
  /** What each limited host saw at most: calls in one rate window, calls in flight at once. */
  limitedHosts: { host: string; calls: number; maxInWindow: number; maxInFlight: number }[];
  problems: string[];
}

/** Pairs of calls of one key that overlapped although the first one's lease had not run out yet. */
export function callsUnderLiveLease(intervals: ReadonlyMap<string, readonly (readonly [number, number])[]>, leaseMs: number, examples: string[] = []): number {
  let count = 0;
  for (const [key, calls] of intervals) {
    const sorted = [...calls].sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j]![0] < sorted[i]![1]; j++) {
        if (sorted[j]![0] - sorted[i]![0] < leaseMs - LEASE_SLACK_MS) {
          count++;
          if (examples.length < 3) {
            const [first, second] = [sorted[i]!, sorted[j]!];
            examples.push(`${key}: a call started ${Math.round(second[0] - first[0])} ms after one that ran ${Math.round(first[1] - first[0])} ms`);
          }
        }
      }
    }
  }
  return count;
}

/**
 * The FAILED jobs whose own message was seen in a DLQ: a sighting with the job's id, generation and payload
 * hash (a forged message that ended in a DLQ names a real job, but is not that job's message).
 */
export function deadLetteredJobs(jobs: readonly ObservedJob[], sightings: readonly DeadLetterSighting[]): Set<string> {
  const seen = new Map<string, DeadLetterSighting[]>();
  for (const s of sightings) seen.set(s.jobId, [...(seen.get(s.jobId) ?? []), s]);
  const parked = new Set<string>();
  for (const job of jobs) {
    if (job.status !== 'FAILED') continue;
    const own = (seen.get(job.jobId) ?? []).some(
      (s) => (job.generation === undefined || s.generation === job.generation) && (job.payloadHash === undefined || s.payloadHash === job.payloadHash),
    );
    if (own) parked.add(job.jobId);
  }
  return parked;
}

/**
 * FAILED is terminal: a job re-runs only by an explicit retry. Counts
 * - webhook calls of a job made after it was FAILED (more than LEASE_SLACK_MS after: a worker stalled past
 *   its expired lease may still call just after) while it was FAILED: until the client's retry request, or
 *   for good when it was not retried. The FAILED time is the earliest known: when its client first saw it
 *   FAILED, else the record's finishedAt at the end;
 * - watched jobs seen FAILED, never retried, that did not end FAILED;
 * - reject-once paths where more than one job (Idempotency-Key) got a 2xx: the effect happened twice, once
 *   for the FAILED job (re-run) and once for its resubmission.
 */
export function redriveReruns(
  jobs: readonly ObservedJob[],
  calls: readonly ObservedCall[],
  watched: readonly WatchedJob[],
  slackMs = LEASE_SLACK_MS,
): { count: number; examples: string[] } {
  const byId = new Map(jobs.map((j) => [j.jobId, j]));
  const windows = new Map<string, [number, number]>();
  const examples: string[] = [];
  let count = 0;
  for (const w of watched) {
    if (w.failedAt === undefined) continue;
    const retried = w.followUp?.action === 'retry' && w.followUp.accepted;
    windows.set(w.jobId, [w.failedAt, retried ? (w.followUp as { requestedAt: number }).requestedAt : Infinity]);
    const final = byId.get(w.jobId)?.status;
    if (!retried && final !== undefined && final !== 'FAILED') {
      count++;
      if (examples.length < 3) examples.push(`${w.jobId} was FAILED, never retried, and ended ${final}`);
    }
  }
  for (const j of jobs) {
    if (j.status !== 'FAILED' || j.finishedAt === undefined) continue;
    const known = windows.get(j.jobId);
    if (!known) windows.set(j.jobId, [j.finishedAt, Infinity]);
    else if (known[1] === Infinity) known[0] = Math.min(known[0], j.finishedAt);
  }
  for (const call of calls) {
    const window = windows.get(call.key);
    if (window && call.at > window[0] + slackMs && call.at < window[1]) {
      count++;
      if (examples.length < 5) examples.push(`${call.key} called ${call.at - window[0]} ms after it was FAILED (${call.path})`);
    }
  }
  const succeededKeys = new Map<string, Set<string>>();
  for (const call of calls) {
    if (!call.path.startsWith(REJECT_ONCE_PATH_PREFIX) || call.status < 200 || call.status > 299) continue;
    succeededKeys.set(call.path, (succeededKeys.get(call.path) ?? new Set()).add(call.key));
  }
  for (const [path, keys] of succeededKeys) {
    if (keys.size <= 1) continue;
    count += keys.size - 1;
    if (examples.length < 5) examples.push(`${path} got a 2xx for ${keys.size} jobs: ${[...keys].join(', ')}`);
  }
  return { count, examples };
}

/**
 * Forged messages must not run: no call of a forged target, no balance on a forged account, and every job
 * a forged message named ends SUCCEEDED (as a plain job does), not FAILED or stuck by the forgery.
 */
export function forgedRan(
  calls: readonly ObservedCall[],
  balances: ReadonlyMap<string, number>,
  jobs: readonly ObservedJob[],
  victims: readonly string[],
): { count: number; examples: string[] } {
  const examples: string[] = [];
  const forgedCalls = calls.filter((c) => c.path.startsWith(FORGED_PATH_PREFIX));
  const forgedAccounts = [...balances].filter(([account, balance]) => account.startsWith(FORGED_ACCOUNT_PREFIX) && balance !== 0);
  const status = new Map(jobs.map((j) => [j.jobId, j.status]));
  const harmed = victims.filter((id) => status.get(id) !== 'SUCCEEDED');
  for (const c of forgedCalls.slice(0, 3)) examples.push(`forged call ${c.path} as job ${c.key}`);
  for (const [account, balance] of forgedAccounts.slice(0, 3)) examples.push(`forged account ${account} has balance ${balance}`);
  for (const id of harmed.slice(0, 3)) examples.push(`job ${id}, named by a forged message, ended ${status.get(id) ?? 'MISSING'}`);
  return { count: forgedCalls.length + forgedAccounts.length + harmed.length, examples };
}

/** Messages the harness sent that must be refused without running, which no worker logged as refused. */
export function unrefused(messageIds: readonly string[], ...refused: readonly ReadonlySet<string>[]): string[] {
  return messageIds.filter((id) => !refused.some((set) => set.has(id)));
}

/**
 * Keys are scoped to their caller: the second caller's submit of the first caller's key with another payload
 * gets 202 with a job of its own (not 422, not the first caller's job), that job runs, and neither caller can
 * read the other's job (404).
 */
export function crossCallerViolations(probes: readonly CrossCallerProbe[], jobs: readonly ObservedJob[]): { count: number; examples: string[] } {
  const status = new Map(jobs.map((j) => [j.jobId, j.status]));
  const examples: string[] = [];
  let count = 0;
  const note = (problem: string) => {
    count++;
    if (examples.length < 5) examples.push(problem);
  };
  for (const p of probes) {
    if (p.bStatus !== 202) note(`key ${p.key}: the second caller's submit was answered ${p.bStatus}`);
    else if (!p.bJobId || p.bJobId === p.aJobId) note(`key ${p.key}: the second caller got ${p.bJobId ? "the first caller's job" : 'no job id'}`);
    else if (status.get(p.bJobId) !== 'SUCCEEDED') note(`key ${p.key}: the second caller's job ${p.bJobId} ended ${status.get(p.bJobId) ?? 'MISSING'}`);
    if (p.bGetOfA !== 404) note(`key ${p.key}: the second caller's GET of the first caller's job was answered ${p.bGetOfA}`);
    if (p.aGetOfB !== undefined && p.aGetOfB !== 404) note(`key ${p.key}: the first caller's GET of the second caller's job was answered ${p.aGetOfB}`);
  }
  return { count, examples };
}

/** Jobs not terminal at the end (the run waited for quiescence: nothing will move them any more). */
export function stuckJobs(jobs: readonly ObservedJob[]): ObservedJob[] {
  return jobs.filter((j) => j.status === 'PENDING' || j.status === 'RUNNING' || j.status === 'SCHEDULED');
}

/** Delayed jobs whose effect came before their run time: a webhook call's arrival, a transfer's completion. */
export function delayedEarly(delayed: ReadonlyMap<string, number>, jobs: readonly ObservedJob[], calls: readonly ObservedCall[]): { count: number; examples: string[] } {
  const firstCall = new Map<string, number>();
  for (const call of calls) if (!firstCall.has(call.key) || call.at < firstCall.get(call.key)!) firstCall.set(call.key, call.at);
  const examples: string[] = [];
  let count = 0;
  for (const job of jobs) {
    const runAt = delayed.get(job.jobId);
    if (runAt === undefined) continue;
    const at = job.type === 'webhook' ? firstCall.get(job.jobId) : job.status === 'SUCCEEDED' ? job.finishedAt : undefined;
    if (at !== undefined && at < runAt) {
      count++;
      if (examples.length < 3) examples.push(`${job.jobId} ran ${runAt - at} ms early`);
    }
  }
  return { count, examples };
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * Each terminal state a job reached produces its notification at least once, and nothing else does:
 * - missing: a terminal state of a job in scope (its timeline's entry: state and generation) with no
 *   notice of that job, state and generation;
 * - wrong: a notice of a state that is not terminal, of a terminal state its job's timeline does not show
 *   in that generation (a timeline cut by a retry keeps its newest entries: a notice of an older generation
 *   than its oldest entry is not counted), of a job out of scope (a callback to a job submitted without a
 *   Callback-Url), or, with `signed` false, one whose signature did not verify.
 */
export function notificationGaps(
  jobs: readonly ObservedJob[],
  notices: readonly ObservedNotice[],
  inScope: (job: ObservedJob) => boolean,
): { missing: number; wrong: number; examples: string[] } {
  const examples: string[] = [];
  const note = (problem: string) => {
    if (examples.length < 5) examples.push(problem);
  };
  const seen = new Set(notices.map((n) => `${n.jobId}|${n.status}|${n.generation}`));
  const byId = new Map(jobs.map((j) => [j.jobId, j]));
  let missing = 0;
  for (const job of jobs) {
    if (!inScope(job)) continue;
    for (const t of job.terminals ?? []) {
      if (seen.has(`${job.jobId}|${t.state}|${t.generation}`)) continue;
      missing++;
      note(`${job.jobId} reached ${t.state} in generation ${t.generation}: no notice`);
    }
  }
  let wrong = 0;
  for (const n of notices) {
    const job = byId.get(n.jobId);
    const oldest = Math.min(...(job?.terminals ?? []).map((t) => t.generation), job?.generation ?? 1);
    const shown = job?.terminals?.some((t) => t.state === n.status && t.generation === n.generation) || (job?.historyCut === true && n.generation < oldest);
    const problem =
      n.signed === false
        ? 'its signature did not verify'
        : !TERMINAL.has(n.status)
          ? 'a state that is not terminal'
          : !job
            ? 'a job that does not exist'
            : !inScope(job)
              ? 'a job out of scope (submitted without a Callback-Url)'
              : !shown
                ? `a state its timeline does not show (it shows ${(job.terminals ?? []).map((t) => `${t.state}/${t.generation}`).join(', ') || 'no terminal state'})`
                : undefined;
    if (problem === undefined) continue;
    wrong++;
    note(`a notice of ${n.jobId} ${n.status}/${n.generation}: ${problem}`);
  }
  return { missing, wrong, examples };
}

export function checkInvariants(o: Observation): Verdict {
  const problems: string[] = [];
  // Lost: not SUCCEEDED, and not FAILED with its message parked in a DLQ.
  // A job its client cancelled (and did not retry) is meant to end CANCELLED: that is not lost.
  const cancelledOnPurpose = (j: ObservedJob) => j.status === 'CANCELLED' && o.cancelled?.get(j.jobId)?.retried === false;
  const lostJobs = o.jobs.filter((j) => j.status !== 'SUCCEEDED' && !(j.status === 'FAILED' && o.deadLettered.has(j.jobId)) && !cancelledOnPurpose(j));
  const lost = lostJobs.length + o.unsubmitted;
  if (lost > 0)
    problems.push(
      `${lost} jobs lost (e.g. ${lostJobs
        .slice(0, 3)
        .map((j) => `${j.jobId}:${j.status}`)
        .join(', ')}${o.unsubmitted ? `; ${o.unsubmitted} never submitted` : ''})`,
    );

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
  const leaseExamples: string[] = [];
  const concurrentUnderLease = o.webhookIntervals && o.leaseMs ? callsUnderLiveLease(o.webhookIntervals, o.leaseMs, leaseExamples) : 0;
  if (concurrentUnderLease > 0)
    problems.push(`${concurrentUnderLease} webhook calls ran while another call of the same job still held its lease (e.g. ${leaseExamples.join('; ')})`);

  const reruns = redriveReruns(o.jobs, o.calls ?? [], o.watched ?? []);
  if (reruns.count > 0) problems.push(`${reruns.count} re-runs of FAILED jobs without a retry (e.g. ${reruns.examples.join('; ')})`);

  const forged = forgedRan(o.calls ?? [], o.balances, o.jobs, o.forged?.victims ?? []);
  if (forged.count > 0) problems.push(`${forged.count} effects of forged messages (e.g. ${forged.examples.join('; ')})`);
  // A forged message is parked in the DLQ (it is not its job's own); a stale one is dropped.
  const forgedKept = unrefused(o.forged?.messageIds ?? [], o.dropped ?? new Set(), o.parked ?? new Set());
  if (forgedKept.length > 0) problems.push(`${forgedKept.length} forged messages no worker refused (e.g. message ${forgedKept.slice(0, 3).join(', ')})`);
  const staleKept = unrefused(o.stale ?? [], o.dropped ?? new Set());
  if (staleKept.length > 0) problems.push(`${staleKept.length} stale generation-1 copies no worker dropped (e.g. message ${staleKept.slice(0, 3).join(', ')})`);

  const status = new Map(o.jobs.map((j) => [j.jobId, j]));
  const retriedWrong = (o.watched ?? []).filter((w) => {
    if (w.followUp?.action !== 'retry' || !w.followUp.accepted) return false;
    const job = status.get(w.jobId);
    return job?.status !== 'SUCCEEDED' || job.generation !== 2;
  });
  if (retriedWrong.length > 0) {
    problems.push(
      `${retriedWrong.length} retried jobs did not end SUCCEEDED in generation 2 (e.g. ${retriedWrong
        .slice(0, 3)
        .map((w) => `${w.jobId}:${status.get(w.jobId)?.status ?? 'MISSING'}/gen ${status.get(w.jobId)?.generation}`)
        .join(', ')})`,
    );
  }

  const stuck = stuckJobs(o.jobs);
  if (stuck.length > 0)
    problems.push(
      `${stuck.length} jobs left PENDING or RUNNING (e.g. ${stuck
        .slice(0, 3)
        .map((j) => `${j.jobId}:${j.status}`)
        .join(', ')})`,
    );

  const cross = crossCallerViolations(o.crossCaller ?? [], o.jobs);
  if (cross.count > 0) problems.push(`${cross.count} violations of caller-scoped keys and jobs (e.g. ${cross.examples.join('; ')})`);

  const oversizedFailed = [...(o.oversized ?? [])].filter((id) => status.get(id)?.status !== 'SUCCEEDED');
  if (oversizedFailed.length > 0) problems.push(`${oversizedFailed.length} jobs with an oversized result did not end SUCCEEDED (e.g. ${oversizedFailed.slice(0, 3).join(', ')})`);

  const early = delayedEarly(o.delayed ?? new Map(), o.jobs, o.calls ?? []);
  if (early.count > 0) problems.push(`${early.count} delayed jobs ran before their time (e.g. ${early.examples.join('; ')})`);
  const cancelledRan = [...(o.cancelled ?? [])].filter(([jobId, c]) => !c.retried && (o.webhookCalls.get(jobId) ?? 0) > 0).map(([jobId]) => jobId);
  if (cancelledRan.length > 0) problems.push(`${cancelledRan.length} cancelled jobs had an effect (e.g. ${cancelledRan.slice(0, 3).join(', ')})`);
  const cancelledWrong = [...(o.cancelled ?? [])].filter(([jobId, c]) => {
    const job = status.get(jobId);
    return c.retried ? job?.status !== 'SUCCEEDED' || job.generation !== 2 : job?.status !== 'CANCELLED';
  });
  if (cancelledWrong.length > 0) {
    problems.push(
      `${cancelledWrong.length} cancelled jobs did not end CANCELLED (or, retried, SUCCEEDED in generation 2) (e.g. ${cancelledWrong
        .slice(0, 3)
        .map(([jobId]) => `${jobId}:${status.get(jobId)?.status ?? 'MISSING'}`)
        .join(', ')})`,
    );
  }

  // Limits: held on every limited host, and a job over them waits (deferred) without failing.
  let rateOver = 0;
  let concurrencyOver = 0;
  let limitedFailed = 0;
  const limitedHosts: Verdict['limitedHosts'] = [];
  if (o.limits) {
    const l = o.limits;
    for (const h of l.hosts) {
      const rate = rateExcess(h.callTimes, l.rate);
      rateOver += rate.over;
      if (rate.over > 0) problems.push(`${h.host}: ${rate.over} windows over the rate's bound of ${rate.bound} calls in ${RATE_WINDOW_MS} ms (e.g. ${rate.example})`);
      const places = concurrencyExcess(h.intervals, l.concurrency);
      concurrencyOver += places.over;
      limitedHosts.push({ host: h.host, calls: h.callTimes.length, maxInWindow: rate.max, maxInFlight: places.max });
      if (places.over > 0) problems.push(`${h.host}: ${places.over} calls started with the concurrency limit of ${l.concurrency} reached (at most ${places.max} in flight)`);
    }
    const notSucceeded = l.burstJobs.filter((id) => status.get(id)?.status !== 'SUCCEEDED');
    limitedFailed = notSucceeded.length;
    if (limitedFailed > 0)
      problems.push(
        `${limitedFailed} jobs sent past the limits did not end SUCCEEDED: a limit must delay a job, not fail it (e.g. ${notSucceeded
          .slice(0, 3)
          .map((id) => `${id}:${status.get(id)?.status ?? 'MISSING'}`)
          .join(', ')})`,
      );
    if (l.deferrals === 0) problems.push('no job was deferred by a limit: the limits never bound, so the run shows nothing about them');
  }

  // Notifications: only when the run observed them (a unit test of other invariants may leave them out).
  const events = o.events ? notificationGaps(o.jobs, o.events, () => true) : { missing: 0, wrong: 0, examples: [] };
  if (events.missing + events.wrong > 0) problems.push(`events: ${events.missing} terminal states without one, ${events.wrong} wrong (e.g. ${events.examples.join('; ')})`);
  const callbacks = o.callbacks ? notificationGaps(o.jobs, o.callbacks, (j) => j.callback === true) : { missing: 0, wrong: 0, examples: [] };
  if (callbacks.missing + callbacks.wrong > 0)
    problems.push(`callbacks: ${callbacks.missing} terminal states without one, ${callbacks.wrong} wrong (e.g. ${callbacks.examples.join('; ')})`);

  return {
    lost,
    doubleApplied,
    failed: failedJobs.length,
    failedInDlq,
    ledgerSum,
    webhookKeysMissing,
    webhookCallsPerKey: succeededWebhooks.length ? calls / succeededWebhooks.length : 0,
    concurrentUnderLease,
    redriveReruns: reruns.count,
    forgedRan: forged.count,
    forgedUnrefused: forgedKept.length,
    staleUndropped: staleKept.length,
    retriedWrong: retriedWrong.length,
    stuck: stuck.length,
    crossCaller: cross.count,
    oversizedFailed: oversizedFailed.length,
    delayedEarly: early.count,
    cancelledRan: cancelledRan.length,
    cancelledWrong: cancelledWrong.length,
    eventsMissing: events.missing,
    eventsWrong: events.wrong,
    callbacksMissing: callbacks.missing,
    callbacksWrong: callbacks.wrong,
    rateOver,
    concurrencyOver,
    limitedFailed,
    limitedHosts,
    problems,
  };
}
