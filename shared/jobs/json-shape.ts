/**
 * Limits on the shape of a JSON payload, checked iteratively before any recursive code (schema
 * validation, hashing, serialization) walks it: a deeply nested document would otherwise overflow the
 * stack. Also refuses `__proto__` keys, which JSON.parse creates as own properties and which schema
 * libraries and object spreads treat inconsistently.
 */
export const MAX_JSON_DEPTH = 64;

/** Why a parsed JSON value is refused, or undefined when it is fine. */
export function jsonShapeProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return `the payload nests deeper than ${maxDepth} levels`;
    if (Array.isArray(current)) {
      for (const item of current) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(current)) {
      if (key === '__proto__') return 'the payload has a "__proto__" key';
      stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return undefined;
}
