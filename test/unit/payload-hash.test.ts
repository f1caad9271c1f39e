// The payload hash decides whether a resubmit with the same Idempotency-Key is the same job (200/202) or
// a conflicting one (422): equal payloads must hash equally, different payloads differently.
import { describe, expect, it } from 'vitest';
import { canonicalJson, payloadHash } from '../../shared/jobs/payload-hash';

describe('payloadHash', () => {
  it('does not depend on key order', () => {
    expect(payloadHash({ a: 1, b: 2 })).toBe(payloadHash({ b: 2, a: 1 }));
  });

  it('does not depend on key order in nested objects, also inside arrays', () => {
    expect(payloadHash({ x: { p: 1, q: { r: 2, s: 3 } }, list: [{ m: 1, n: 2 }] })).toBe(payloadHash({ list: [{ n: 2, m: 1 }], x: { q: { s: 3, r: 2 }, p: 1 } }));
  });

  it('depends on the order of array elements', () => {
    expect(payloadHash({ items: [1, 2] })).not.toBe(payloadHash({ items: [2, 1] }));
  });

  it('drops properties whose value is undefined, as JSON does', () => {
    expect(payloadHash({ a: 1, b: undefined })).toBe(payloadHash({ a: 1 }));
    expect(payloadHash({ nested: { a: 1, b: undefined } })).toBe(payloadHash({ nested: { a: 1 } }));
  });

  it('tells different values and different types apart', () => {
    expect(payloadHash({ a: 1 })).not.toBe(payloadHash({ a: 2 }));
    expect(payloadHash({ a: 1 })).not.toBe(payloadHash({ a: '1' }));
    expect(payloadHash({ a: null })).not.toBe(payloadHash({}));
    expect(payloadHash([])).not.toBe(payloadHash({}));
  });

  it('is a base64url SHA-256 (43 characters, safe in an attribute and a URL)', () => {
    expect(payloadHash({ a: 1 })).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('canonicalJson', () => {
  it('sorts keys and keeps arrays as they are', () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[3,{"c":2,"d":1}]}');
  });

  it('writes scalars as JSON, and undefined in an array as null (as JSON.stringify does)', () => {
    expect(canonicalJson('s')).toBe('"s"');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('escapes keys', () => {
    expect(canonicalJson({ 'a"b': 1 })).toBe('{"a\\"b":1}');
  });
});
