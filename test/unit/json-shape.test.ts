import { describe, expect, it } from 'vitest';
import { jsonShapeProblem, MAX_JSON_DEPTH } from '../../shared/jobs/json-shape';

const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('jsonShapeProblem', () => {
  it('accepts ordinary payloads and scalars', () => {
    expect(jsonShapeProblem({ a: [1, { b: 'c' }], d: null })).toBeUndefined();
    expect(jsonShapeProblem('text')).toBeUndefined();
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH))).toBeUndefined();
  });

  it('refuses nesting deeper than the limit, without recursion (100,000 levels)', () => {
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH + 1))).toBe(`the payload nests deeper than ${MAX_JSON_DEPTH} levels`);
    expect(jsonShapeProblem(nested(100_000))).toBe(`the payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('refuses a __proto__ key at any depth', () => {
    expect(jsonShapeProblem(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toBe('the payload has a "__proto__" key');
  });
});

describe('jsonShapeProblem: text SQS refuses', () => {
  it('refuses U+FFFE and U+FFFF in strings, at any depth, naming the character', () => {
    expect(jsonShapeProblem('a\uFFFFb')).toBe('a string contains U+FFFF, which SQS does not accept in a message');
    expect(jsonShapeProblem({ a: [1, { b: 'x\uFFFE' }] })).toBe('a string contains U+FFFE, which SQS does not accept in a message');
    // As the API receives it: JSON text with the escape, or the raw character.
    expect(jsonShapeProblem(JSON.parse('{"a":"\\uffff"}'))).toBe('a string contains U+FFFF, which SQS does not accept in a message');
    expect(jsonShapeProblem(JSON.parse('["\uFFFE"]'))).toBe('a string contains U+FFFE, which SQS does not accept in a message');
  });

  it('refuses them in object keys', () => {
    expect(jsonShapeProblem({ ok: 1, 'k\uFFFF': 1 })).toBe('an object key contains U+FFFF, which SQS does not accept in a message');
    expect(jsonShapeProblem(JSON.parse('{"a":{"\\ufffe":null}}'))).toBe('an object key contains U+FFFE, which SQS does not accept in a message');
  });

  it('accepts what JSON.stringify escapes (control characters, lone surrogates) and the allowed noncharacters around them', () => {
    const text = '\u0000\u0001\t\n\r\u001f\u007f\u0085\uD800\uDFFF\uD83D\uDE00\uE000\uFDD0\uFFFD\u{1FFFE}\u{10FFFF}';
    expect(jsonShapeProblem({ [text]: text, list: [text] })).toBeUndefined();
    // What reaches SQS: the message text after JSON.stringify holds nothing outside SQS's set.
    expect(JSON.stringify({ [text]: text })).toMatch(/^[\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u);
  });

  it('does not pass a refused character through JSON.stringify escaping (why the check is needed)', () => {
    expect(JSON.stringify('\uFFFF')).toBe('"\uFFFF"');
  });
});

describe('jsonShapeProblem: integers a JSON number cannot carry exactly', () => {
  const reason = 'the payload has an integer beyond ±(2^53-1), which a JSON number cannot carry exactly: send such numbers as strings';

  it('refuses integers beyond ±(2^53-1), at any depth', () => {
    expect(jsonShapeProblem(2 ** 53)).toBe(reason);
    expect(jsonShapeProblem(-(2 ** 53))).toBe(reason);
    expect(jsonShapeProblem({ a: [{ n: Number.MAX_SAFE_INTEGER + 2 }] })).toBe(reason);
    expect(jsonShapeProblem(1e300)).toBe(reason);
    // Two different texts that parse to one number, so would hash the same.
    expect(JSON.parse('9007199254740993')).toBe(JSON.parse('9007199254740992'));
    expect(jsonShapeProblem(JSON.parse('{"id":9007199254740993}'))).toBe(reason);
  });

  it('accepts ±(2^53-1), ordinary integers and floats, -0 and the strings that carry big numbers', () => {
    expect(jsonShapeProblem(Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(jsonShapeProblem(Number.MIN_SAFE_INTEGER)).toBeUndefined();
    expect(jsonShapeProblem([0, -0, 1, -1, 1.5, 0.1, -2.75e-10, 123456.789, 1e15, 9007199254740.5, Number.MIN_VALUE])).toBeUndefined();
    expect(jsonShapeProblem({ id: '9007199254740993' })).toBeUndefined();
  });

  it('still applies its other checks with scalars around', () => {
    expect(jsonShapeProblem([1, 'a', true, null, JSON.parse('{"__proto__":1}')])).toBe('the payload has a "__proto__" key');
  });
});
