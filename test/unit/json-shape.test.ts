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
