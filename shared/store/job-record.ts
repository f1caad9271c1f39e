/**
 * The job record: one DynamoDB item per job, which is also its idempotency record. It carries the job's
 * status, lease, attempt count, payload hash and result; never the payload itself.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type JobStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface JobRecord {
  jobId: string;
  type: string;
  status: JobStatus;
  /** How many times a worker started the job's handler. */
  attempts: number;
  payloadHash: string;
  payloadBytes: number;
  idempotencyKey?: string;
  /** True once the job's message is known to be on its queue. */
  enqueued: boolean;
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
  /** Epoch seconds: DynamoDB's TTL deletes the record after this. */
  expiresAt: number;
}

export type Item = Record<string, AttributeValue>;

export function jobKey(jobId: string): Item {
  return { pk: { S: `JOB#${jobId}` } };
}

export function toItem(job: JobRecord): Item {
  const item: Item = {
    ...jobKey(job.jobId),
    jobId: { S: job.jobId },
    type: { S: job.type },
    status: { S: job.status },
    attempts: { N: String(job.attempts) },
    payloadHash: { S: job.payloadHash },
    payloadBytes: { N: String(job.payloadBytes) },
    enqueued: { BOOL: job.enqueued },
    createdAt: { S: job.createdAt },
    updatedAt: { S: job.updatedAt },
    expiresAt: { N: String(job.expiresAt) },
  };
  if (job.idempotencyKey !== undefined) item.idempotencyKey = { S: job.idempotencyKey };
  if (job.result !== undefined) item.result = { S: JSON.stringify(job.result) };
  if (job.error !== undefined) item.error = { S: job.error };
  if (job.startedAt !== undefined) item.startedAt = { S: job.startedAt };
  if (job.finishedAt !== undefined) item.finishedAt = { S: job.finishedAt };
  if (job.leaseOwner !== undefined) item.leaseOwner = { S: job.leaseOwner };
  if (job.leaseUntil !== undefined) item.leaseUntil = { N: String(job.leaseUntil) };
  return item;
}

const str = (item: Item, name: string) => item[name]?.S;
const num = (item: Item, name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));

export function fromItem(item: Item): JobRecord {
  const job: JobRecord = {
    jobId: str(item, 'jobId') ?? '',
    type: str(item, 'type') ?? '',
    status: (str(item, 'status') ?? 'PENDING') as JobStatus,
    attempts: num(item, 'attempts') ?? 0,
    payloadHash: str(item, 'payloadHash') ?? '',
    payloadBytes: num(item, 'payloadBytes') ?? 0,
    enqueued: item.enqueued?.BOOL ?? false,
    createdAt: str(item, 'createdAt') ?? '',
    updatedAt: str(item, 'updatedAt') ?? '',
    expiresAt: num(item, 'expiresAt') ?? 0,
  };
  const result = str(item, 'result');
  if (result !== undefined) job.result = JSON.parse(result);
  const optional = { idempotencyKey: str(item, 'idempotencyKey'), error: str(item, 'error'), startedAt: str(item, 'startedAt'), finishedAt: str(item, 'finishedAt'), leaseOwner: str(item, 'leaseOwner'), leaseUntil: num(item, 'leaseUntil') };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) (job as unknown as Record<string, unknown>)[name] = value;
  }
  return job;
}

/** What GET /jobs/{id} shows: no lease internals, no payload hash, no stale error. */
export function toJobView(job: JobRecord) {
  return {
    jobId: job.jobId,
    type: job.type,
    status: job.status,
    attempts: job.attempts,
    ...(job.result !== undefined ? { result: job.result } : {}),
    // The reason of the failure, or of the last failed attempt while the job is retried; a job that
    // SUCCEEDED in the end has no error to report.
    ...(job.error !== undefined && job.status !== 'SUCCEEDED' ? { error: job.error } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.startedAt !== undefined ? { startedAt: job.startedAt } : {}),
    ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
  };
}
