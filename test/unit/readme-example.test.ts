// The README's "your CDK app" example is the consumer app that test/integration/consumer-app.test.ts packs,
// installs and runs: each code block marked <!-- consumer-app:<file> --> must be that file, so the example
// a user copies is the one the tests run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/<!-- consumer-app:(\S+) -->\n```ts\n\/\/ [^\n]*\n([\s\S]*?)\n```/g)].map((m) => ({ file: m[1]!, code: m[2]! }));

describe('the README example', () => {
  it('shows a job type (declaration and handler), the stack that adds it, and the app', () => {
    expect(blocks.map((b) => b.file)).toEqual(['lib/jobs/thumbnail/type.ts', 'lib/jobs/thumbnail/handler.ts', 'lib/stack.ts', 'bin/app.ts']);
  });

  it.each(blocks)('shows $file exactly as the consumer-app test runs it', ({ file, code }) => {
    expect(code).toBe(readFileSync(new URL(`../consumer-app/${file}`, import.meta.url), 'utf8').trimEnd());
  });
});

describe("the README's fairness example", () => {
  it('is the webhook job type as declared in app/jobs/webhook/type.ts', () => {
    const match = /<!-- fairness-example:(\S+) -->\n```ts\n([\s\S]*?)\n```/.exec(readme);
    expect(match?.[1]).toBe('app/jobs/webhook/type.ts');
    expect(readFileSync(new URL(`../../${match![1]}`, import.meta.url), 'utf8')).toContain(match![2]!);
    expect(match![2]).toContain('tenantKey:');
  });
});
