// Job ids: random for plain submits, derived from (type, Idempotency-Key) otherwise, so that every retry of
// a submit addresses the same job record. Both look like UUIDs.
import { describe, expect, it } from 'vitest';
import { isJobId, jobIdForKey, newJobId } from '../../shared/jobs/job-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('jobIdForKey', () => {
  it('is deterministic: the same type and key give the same id', () => {
    expect(jobIdForKey('caller', 'transfer', 'order-42')).toBe(jobIdForKey('caller', 'transfer', 'order-42'));
  });

  it('is a version 8 UUID with the RFC variant', () => {
    const id = jobIdForKey('caller', 'transfer', 'order-42');
    expect(id).toMatch(UUID);
    expect(id[14]).toBe('8');
    expect('89ab').toContain(id[19]);
  });

  it('gives another id for another key or another type', () => {
    const id = jobIdForKey('caller', 'transfer', 'k');
    expect(jobIdForKey('caller', 'transfer', 'k2')).not.toBe(id);
    expect(jobIdForKey('caller', 'webhook', 'k')).not.toBe(id);
  });

  it('gives another id to another caller with the same type and key (keys belong to callers)', () => {
    expect(jobIdForKey('caller-b', 'transfer', 'k')).not.toBe(jobIdForKey('caller', 'transfer', 'k'));
  });

  it('does not confuse where the type ends and the key begins', () => {
    expect(jobIdForKey('caller', 'ab', 'c')).not.toBe(jobIdForKey('caller', 'a', 'bc'));
  });

  it('keeps the variant in range for many keys', () => {
    for (let i = 0; i < 200; i++) expect(jobIdForKey('caller', 't', `key-${i}`)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('newJobId', () => {
  it('is a fresh UUID every time', () => {
    const a = newJobId();
    expect(a).toMatch(UUID);
    expect(newJobId()).not.toBe(a);
  });
});

describe('isJobId', () => {
  it('accepts both kinds of id', () => {
    expect(isJobId(newJobId())).toBe(true);
    expect(isJobId(jobIdForKey('caller', 'transfer', 'k'))).toBe(true);
  });

  it.each([
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['an empty string', ''],
    ['a UUID without dashes', '123e4567e89b12d3a456426614174000'],
    ['a UUID with a trailing character', '123e4567-e89b-12d3-a456-4266141740000'],
    ['a UUID in braces', '{123e4567-e89b-12d3-a456-426614174000}'],
    ['non-hex characters', '123e4567-e89b-12d3-a456-42661417400g'],
    ['a path traversal attempt', '../../etc/passwd'],
  ])('rejects %s', (_, value) => {
    expect(isJobId(value)).toBe(false);
  });
});
