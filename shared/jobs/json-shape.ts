/**
 * Limits on the shape of a JSON payload, checked iteratively before any recursive code (schema
 * validation, hashing, serialization) walks it: a deeply nested document would otherwise overflow the
 * stack. Also refuses `__proto__` keys, which JSON.parse creates as own properties and which schema
 * libraries and object spreads treat inconsistently; text SQS would refuse in a message; and integers
 * that a JSON number cannot carry exactly. The API (400) and the worker (dead letter) both apply it.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a message body.
 * JSON.stringify escapes control characters and lone surrogates, so the only characters outside that set
 * that can reach SQS raw are the noncharacters U+FFFE and U+FFFF.
 */
const SQS_REFUSED = /[\uFFFE\uFFFF]/;

function sqsRefusedCharacter(text: string): string | undefined {
  const found = SQS_REFUSED.exec(text);
  return found ? `U+${found[0].charCodeAt(0).toString(16).toUpperCase()}` : undefined;
}

/** Why a string, number, boolean or null is refused (checked where it is found: scalars never go on the stack). */
function scalarProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const refused = sqsRefusedCharacter(value);
    return refused && `a string contains ${refused}, which SQS does not accept in a message`;
  }
  // Two different payloads would parse to the same number, and hash the same.
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return 'the payload has an integer beyond ±(2^53-1), which a JSON number cannot carry exactly: send such numbers as strings';
  }
  return undefined;
}

/** Why a parsed JSON value is refused, or undefined when it is fine. */
export function jsonShapeProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: { value: object; depth: number }[] = [];
  const visit = (child: unknown, depth: number): string | undefined => {
    if (child !== null && typeof child === 'object') stack.push({ value: child, depth });
    else return scalarProblem(child);
    return undefined;
  };
  const top = visit(value, 0);
  if (top) return top;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (depth >= maxDepth) return `the payload nests deeper than ${maxDepth} levels`;
    if (Array.isArray(current)) {
      for (const item of current) {
        const problem = visit(item, depth + 1);
        if (problem) return problem;
      }
      continue;
    }
    for (const key of Object.keys(current)) {
      if (key === '__proto__') return 'the payload has a "__proto__" key';
      const refused = sqsRefusedCharacter(key);
      if (refused) return `an object key contains ${refused}, which SQS does not accept in a message`;
      const problem = visit((current as Record<string, unknown>)[key], depth + 1);
      if (problem) return problem;
    }
  }
  return undefined;
}
