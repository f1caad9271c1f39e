import { createHash, randomUUID } from 'node:crypto';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isJobId(value: unknown): value is string {
  return typeof value === 'string' && JOB_ID.test(value);
}

export function newJobId(): string {
  return randomUUID();
}

/**
 * The job id of a submit that carries an Idempotency-Key: derived from the caller, the job type and the
 * key, so that every retry of the same submit addresses the same job record, and the record's conditional
 * put is the deduplication. The caller is part of it: two callers' equal keys are two jobs. Formatted as a
 * UUID (version 8, "custom") so both kinds of id look alike.
 */
export function jobIdForKey(owner: string, type: string, idempotencyKey: string): string {
  const hex = createHash('sha256').update(`${owner}\u0000${type}\u0000${idempotencyKey}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
