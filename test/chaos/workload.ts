/**
 * The chaos workload: transfers among random accounts and webhooks to the local receiver. Among the
 * webhooks, some targets are poison (`/reject`: 4xx on every call, so the job must end FAILED with its
 * message in the DLQ), some reject once (`/reject-once/<n>`: 4xx on the first call, 2xx after; the job ends
 * FAILED and its client then resubmits it under a new key or retries it explicitly), and some are always
 * unavailable (`/unavailable/<n>`: 503 on every call, so the job uses up all its receives). On top of the
 * jobs themselves: forged messages that name some jobs, a second caller who submits some keys again with
 * another payload, and clients that give up when the API crashes under their submit.
 */
import { Prng } from '../support/prng';

export interface TransferPayload {
  from: string;
  to: string;
  amount: number;
}

export interface WebhookPayload {
  url: string;
  body: Record<string, unknown>;
  timeoutSeconds: number;
}

/**
 * What a webhook's target does: answer 2xx; 4xx always; 4xx on the first call only; 503 always; or 503 on
 * the first two calls (`flaky`: the targets of webhooks named by forged messages, so that each such job
 * waits PENDING for its retries a few seconds, and a forged message finds a job it could claim if let).
 */
export type WebhookTarget = 'hook' | 'reject' | 'reject-once' | 'unavailable' | 'flaky';

/** Extras any job may carry. */
interface Extras {
  /** Forged messages name this job (it is a normal job: it must end SUCCEEDED all the same). */
  forge?: { n: number; gen7: boolean };
  /** A second caller submits the same Idempotency-Key with this (other) payload, of the same job type. */
  callerB?: TransferPayload | WebhookPayload;
  /** The client gives up (does not retry) if the API crashes under its submit: only the sweeper can send it. */
  abandonOnCrash?: boolean;
  /**
   * Submitted with ?delay= (seconds): it must not run before its time, although copies of its message come
   * early. A webhook's delay rides on SQS DelaySeconds; a transfer (FIFO) is SCHEDULED and the sweeper sends it.
   */
  delaySeconds?: number;
  /**
   * Submitted with a long delay and cancelled at once: `keep` must end CANCELLED with no effect at all;
   * `retry` is then retried explicitly and must end SUCCEEDED, once, in generation 2.
   */
  cancel?: 'keep' | 'retry';
  /**
   * Submitted with a Callback-Url: every terminal state it reaches must be POSTed there, signed (`flaky`:
   * the receiver answers the first delivery 503, so the callback is retried).
   */
  callback?: 'ok' | 'flaky';
}

export interface TransferJob extends Extras {
  kind: 'transfer';
  key: string;
  payload: TransferPayload;
}

export interface WebhookJob extends Extras {
  kind: 'webhook';
  key: string;
  target: WebhookTarget;
  /** Always-poison (`reject`): must end FAILED with its message in a DLQ. */
  poison: boolean;
  /** Reject-once jobs, once FAILED: resubmitted under `<key>-again`, or retried (POST /jobs/{id}/retry). */
  followUp?: 'resubmit' | 'retry';
  /** As the API stores it (with its default timeout), so the harness's extra copies equal the original. */
  payload: WebhookPayload;
}

export type ChaosJob = TransferJob | WebhookJob;

export interface WorkloadOptions {
  jobs: number;
  webhookShare: number;
  /** Of the webhooks: always-poison. */
  poisonShare: number;
  /** Of the webhooks: reject-once. */
  rejectOnceShare?: number;
  /** Of the reject-once jobs: retried explicitly (the others are resubmitted under a new key). */
  retryShare?: number;
  /** Of the webhooks in the first `earlyFraction` of the workload: always unavailable. */
  unavailableShare?: number;
  /** Unavailable targets take a minute to give up on: they come early, so the run's tail stays short. */
  earlyFraction?: number;
  /** Of the plain transfers, and of the plain webhooks: named by forged messages. */
  forgeShare?: { transfer: number; webhook: number };
  /** Of the forged-at jobs: also named by a message of generation 7. */
  gen7Share?: number;
  /** Of the plain jobs: submitted again by a second caller with the same key. */
  callerBShare?: number;
  /** Of the plain jobs: their client gives up if the API crashes under the submit. */
  abandonShare?: number;
  /** Of the plain jobs: cancelled right after their submit (half of them retried then). */
  cancelShare?: number;
  /** Of the other plain jobs: submitted with a delay of 1-4 seconds. */
  delayShare?: number;
  /** Of all jobs (poison, reject-once, cancelled and delayed ones too): submitted with a Callback-Url. */
  callbackShare?: number;
  accounts: number;
  /** The second caller's accounts (its transfers move money among these). */
  callerBAccounts?: number;
  receiverUrl: string;
  seed: number;
}

export function accountName(i: number): string {
  return `acct-${String(i).padStart(4, '0')}`;
}

export function callerBAccountName(i: number): string {
  return `bacct-${String(i).padStart(4, '0')}`;
}

function transferBetween(random: Prng, accounts: number, name: (i: number) => string): TransferPayload {
  const from = Math.floor(random.next() * accounts);
  const to = (from + 1 + Math.floor(random.next() * (accounts - 1))) % accounts;
  return { from: name(from), to: name(to), amount: 1 + Math.floor(random.next() * 1000) };
}

export function buildWorkload(o: WorkloadOptions): ChaosJob[] {
  const random = new Prng(o.seed);
  // Extras are drawn from a stream of their own, so the base workload of a seed does not depend on them.
  const extra = new Prng(o.seed ^ 0x0e47a5);
  const early = Math.floor(o.jobs * (o.earlyFraction ?? 0.4));
  // Callbacks from a third stream: they change neither the base workload nor the other extras of a seed.
  const notify = new Prng(o.seed ^ 0xca11);
  let forged = 0;
  const withCallback = (job: ChaosJob): ChaosJob => {
    if (o.callbackShare && notify.next() < o.callbackShare) job.callback = notify.next() < 0.2 ? 'flaky' : 'ok';
    return job;
  };
  return Array.from({ length: o.jobs }, (_, n): ChaosJob => withCallback(jobAt(n)));

  function jobAt(n: number): ChaosJob {
    const key = `chaos-${o.seed}-${n}`;
    let job: ChaosJob;
    if (random.next() < o.webhookShare) {
      const r = random.next();
      const poisonShare = o.poisonShare;
      const rejectOnceShare = o.rejectOnceShare ?? 0;
      const unavailableShare = n < early ? (o.unavailableShare ?? 0) : 0;
      const target: WebhookTarget =
        r < poisonShare ? 'reject' : r < poisonShare + rejectOnceShare ? 'reject-once' : r < poisonShare + rejectOnceShare + unavailableShare ? 'unavailable' : 'hook';
      const path = target === 'reject-once' || target === 'unavailable' ? `/${target}/${n}` : `/${target}`;
      job = { kind: 'webhook', key, target, poison: target === 'reject', payload: { url: `${o.receiverUrl}${path}`, body: { n }, timeoutSeconds: 10 } };
      if (target === 'reject-once') job.followUp = extra.next() < (o.retryShare ?? 0) ? 'retry' : 'resubmit';
      if (target !== 'hook') return job;
    } else {
      job = { kind: 'transfer', key, payload: transferBetween(random, o.accounts, accountName) };
    }
    // A plain job (it must succeed): perhaps forged at, mirrored by the second caller, or abandoned on a crash.
    const r = extra.next();
    const forge = o.forgeShare?.[job.kind] ?? 0;
    const callerB = o.callerBShare ?? 0;
    if (r < forge) {
      job.forge = { n: forged++, gen7: extra.next() < (o.gen7Share ?? 0) };
      if (job.kind === 'webhook') {
        job.target = 'flaky';
        job.payload.url = `${o.receiverUrl}/flaky/${n}`;
      }
    } else if (r < forge + callerB) {
      job.callerB =
        job.kind === 'transfer'
          ? transferBetween(extra, o.callerBAccounts ?? 50, callerBAccountName)
          : { url: `${o.receiverUrl}/hook-b`, body: { n, caller: 'b' }, timeoutSeconds: 10 };
    } else if (r < forge + callerB + (o.abandonShare ?? 0)) {
      job.abandonOnCrash = true;
    } else if (r < forge + callerB + (o.abandonShare ?? 0) + (o.cancelShare ?? 0)) {
      job.cancel = extra.next() < 0.5 ? 'keep' : 'retry';
    }
    if (!job.cancel && !job.forge && o.delayShare && extra.next() < o.delayShare) job.delaySeconds = 1 + Math.floor(extra.next() * 4);
    return job;
  }
}
