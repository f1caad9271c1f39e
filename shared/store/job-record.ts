/**
 * The job record: one DynamoDB item per job, which is also its idempotency record and its outbox. It
 * carries the job's state (job-states.ts), generation, lease, attempt count, owner, payload hash and result,
 * and the payload itself: the job's message can always be sent again from its record (a submit whose send
 * was lost, a sweep, a retry), so a job exists once its record does.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import type { JobStatus } from './job-states';

export type { JobStatus } from './job-states';

/** One entry of a job's timeline: a state it entered (or a cancel request), when, and why. */
export interface HistoryEntry {
  state: JobStatus | 'CANCEL_REQUESTED';
  at: string;
  generation: number;
  /** The receive of the message that made the move (workers), when there was one. */
  attempt?: number;
  reason?: string;
}

/**
 * A retry keeps this many entries of the timeline (the newest). Within one generation the timeline is
 * bounded by the retry budget: at most a claim and a release per receive, and a few sweeps.
 */
export const MAX_HISTORY_KEPT = 20;

export interface JobRecord {
  jobId: string;
  type: string;
  status: JobStatus;
  /** 1 at submit; each explicit retry of a FAILED job starts the next. Messages carry it. */
  generation: number;
  /** How many times a worker started the job's handler. */
  attempts: number;
  payloadHash: string;
  payloadBytes: number;
  /** The payload as JSON text, from which the job's message can be rebuilt. */
  payload: string;
  /** FIFO job types: the message group of the job. */
  groupId?: string;
  /** Who submitted the job (the caller's identity): only they see it, and their keys are theirs alone. */
  owner: string;
  idempotencyKey?: string;
  /** Where the job's final view is POSTed (signed) when it reaches a terminal state (shared/notify). */
  callbackUrl?: string;
  result?: unknown;
  /** The reason of the failure, or of the last failed attempt while the job is retried. */
  error?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  leaseOwner?: string;
  /** Epoch milliseconds until which `leaseOwner` holds the job. */
  leaseUntil?: number;
  /** Epoch milliseconds at which the sweeper looks at the job (once; again only if it moves this). */
  sweepAt?: number;
  /** How many times the sweeper sent the job's message again. */
  sweeps?: number;
  /** Epoch milliseconds before which the job does not run (a delayed or scheduled submit). */
  runAt?: number;
  /** The job's caller asked a RUNNING job to stop (its handler's signal is aborted). */
  cancelRequested?: boolean;
  /** The job's timeline: every state it entered, with the reason where there was one. */
  history: HistoryEntry[];
  /** Epoch seconds: DynamoDB's TTL deletes the record after this (reads treat it as gone from then on). */
  expiresAt: number;
}

export type Item = Record<string, AttributeValue>;

/** The index of every job by the time the sweeper should look at it, walked in time order (sweep-store.ts). */
export const SWEEP_INDEX = 'sweep';
export const SWEEP_SHARDS = 8;
/** Attribute names of the index keys. */
export const SWEEP_KEYS = { shard: 'sweepShard', at: 'sweepAt' } as const;

/**
 * The index of every job by caller, type and state, newest first: `GET /jobs?type=&state=` is a Query, not a
 * Scan. Its partition is the job's type, state and one of a few shards (every state write moves the job to
 * its new state's partition: the writers know the type, the state and the id, nothing else); its sort key is
 * the owner and the creation time, which never change. Keys only: a page of keys is one BatchGetItem.
 */
export const LIST_INDEX = 'list';
export const LIST_SHARDS = 4;
export const LIST_KEYS = { partition: 'listKey', sort: 'listSort' } as const;

/** The list index partition of a job in `status`: spread over shards so no partition takes a whole state's writes. */
export function listKeyOf(type: string, status: JobStatus, jobId: string): string {
  return `${type}#${status}#${createHash('sha1').update(jobId).digest()[1]! % LIST_SHARDS}`;
}

/** The list index sort key: a caller's jobs, newest last (queries read it backwards). */
export function listSortOf(owner: string, createdAt: string): string {
  return `${owner}#${createdAt}`;
}

export function jobKey(jobId: string): Item {
  return { pk: { S: `JOB#${jobId}` } };
}

/** The index partition of a job: spread over a few shards so no partition takes every job's writes. */
export function sweepShard(jobId: string): string {
  return `sweep#${createHash('sha1').update(jobId).digest()[0]! % SWEEP_SHARDS}`;
}

export function toItem(job: JobRecord): Item {
  const item: Item = {
    ...jobKey(job.jobId),
    jobId: { S: job.jobId },
    type: { S: job.type },
    status: { S: job.status },
    generation: { N: String(job.generation) },
    attempts: { N: String(job.attempts) },
    payloadHash: { S: job.payloadHash },
    payloadBytes: { N: String(job.payloadBytes) },
    payload: { S: job.payload },
    owner: { S: job.owner },
    createdAt: { S: job.createdAt },
    updatedAt: { S: job.updatedAt },
    expiresAt: { N: String(job.expiresAt) },
    history: historyValue(job.history),
    [LIST_KEYS.partition]: { S: listKeyOf(job.type, job.status, job.jobId) },
    [LIST_KEYS.sort]: { S: listSortOf(job.owner, job.createdAt) },
  };
  if (job.runAt !== undefined) item.runAt = { N: String(job.runAt) };
  if (job.cancelRequested) item.cancelRequested = { BOOL: true };
  if (job.groupId !== undefined) item.groupId = { S: job.groupId };
  if (job.idempotencyKey !== undefined) item.idempotencyKey = { S: job.idempotencyKey };
  if (job.callbackUrl !== undefined) item.callbackUrl = { S: job.callbackUrl };
  if (job.result !== undefined) item.result = { S: JSON.stringify(job.result) };
  if (job.error !== undefined) item.error = { S: job.error };
  if (job.startedAt !== undefined) item.startedAt = { S: job.startedAt };
  if (job.finishedAt !== undefined) item.finishedAt = { S: job.finishedAt };
  if (job.leaseOwner !== undefined) item.leaseOwner = { S: job.leaseOwner };
  if (job.leaseUntil !== undefined) item.leaseUntil = { N: String(job.leaseUntil) };
  if (job.sweepAt !== undefined) {
    item[SWEEP_KEYS.at] = { N: String(job.sweepAt) };
    item[SWEEP_KEYS.shard] = { S: sweepShard(job.jobId) };
  }
  if (job.sweeps !== undefined) item.sweeps = { N: String(job.sweeps) };
  return item;
}

/** A timeline as DynamoDB's list of maps (what `list_append` extends). */
export function historyValue(entries: readonly HistoryEntry[]): AttributeValue {
  return { L: entries.map(historyEntryValue) };
}

export function historyEntryValue(entry: HistoryEntry): AttributeValue {
  const map: Record<string, AttributeValue> = { state: { S: entry.state }, at: { S: entry.at }, generation: { N: String(entry.generation) } };
  if (entry.attempt !== undefined) map.attempt = { N: String(entry.attempt) };
  if (entry.reason !== undefined) map.reason = { S: entry.reason };
  return { M: map };
}

function historyOf(value: AttributeValue | undefined): HistoryEntry[] {
  return (value?.L ?? []).map((entry) => {
    const m = entry.M ?? {};
    return {
      state: (m.state?.S ?? 'PENDING') as HistoryEntry['state'],
      at: m.at?.S ?? '',
      generation: Number(m.generation?.N ?? 1),
      ...(m.attempt?.N !== undefined ? { attempt: Number(m.attempt.N) } : {}),
      ...(m.reason?.S !== undefined ? { reason: m.reason.S } : {}),
    };
  });
}

const str = (item: Item, name: string) => item[name]?.S;
const num = (item: Item, name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));

export function fromItem(item: Item): JobRecord {
  const job: JobRecord = {
    jobId: str(item, 'jobId') ?? '',
    type: str(item, 'type') ?? '',
    status: (str(item, 'status') ?? 'PENDING') as JobStatus,
    generation: num(item, 'generation') ?? 1,
    attempts: num(item, 'attempts') ?? 0,
    payloadHash: str(item, 'payloadHash') ?? '',
    payloadBytes: num(item, 'payloadBytes') ?? 0,
    payload: str(item, 'payload') ?? 'null',
    owner: str(item, 'owner') ?? '',
    createdAt: str(item, 'createdAt') ?? '',
    updatedAt: str(item, 'updatedAt') ?? '',
    expiresAt: num(item, 'expiresAt') ?? 0,
    history: historyOf(item.history),
  };
  if (item.cancelRequested?.BOOL) job.cancelRequested = true;
  const result = str(item, 'result');
  if (result !== undefined) job.result = JSON.parse(result);
  const optional = {
    groupId: str(item, 'groupId'),
    idempotencyKey: str(item, 'idempotencyKey'),
    callbackUrl: str(item, 'callbackUrl'),
    error: str(item, 'error'),
    startedAt: str(item, 'startedAt'),
    finishedAt: str(item, 'finishedAt'),
    leaseOwner: str(item, 'leaseOwner'),
    leaseUntil: num(item, 'leaseUntil'),
    sweepAt: num(item, SWEEP_KEYS.at),
    sweeps: num(item, 'sweeps'),
    runAt: num(item, 'runAt'),
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) (job as unknown as Record<string, unknown>)[name] = value;
  }
  return job;
}

/** DynamoDB's TTL deletes expired items within days, not at once: until then they must read as gone. */
export function isExpired(job: Pick<JobRecord, 'expiresAt'>, nowMs: number): boolean {
  return job.expiresAt > 0 && job.expiresAt * 1000 <= nowMs;
}

/** What GET /jobs/{id} shows: no lease internals, no payload hash, no owner, no stale error. */
export function toJobView(job: JobRecord) {
  return {
    jobId: job.jobId,
    type: job.type,
    status: job.status,
    generation: job.generation,
    attempts: job.attempts,
    ...(job.result !== undefined ? { result: job.result } : {}),
    // The reason of the failure, or of the last failed attempt while the job is retried; a job that
    // SUCCEEDED in the end has no error to report.
    ...(job.error !== undefined && job.status !== 'SUCCEEDED' ? { error: job.error } : {}),
    ...(job.runAt !== undefined ? { runAt: new Date(job.runAt).toISOString() } : {}),
    ...(job.cancelRequested ? { cancelRequested: true } : {}),
    ...(job.idempotencyKey !== undefined ? { idempotencyKey: job.idempotencyKey } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.startedAt !== undefined ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
    history: job.history,
  };
}
