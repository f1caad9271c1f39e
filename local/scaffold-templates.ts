/**
 * The files `jobline new job <name>` writes (local/scaffold.ts): a job type's declaration (type.ts), its
 * handler (handler.ts) and a test of it (handler.test.ts), for a leased or a transactional job. In jobline's
 * own repository they import its sources by relative paths and the test runs the handler on the emulators
 * of vitest's global setup, with test/support's helpers; in another app they import `jobline` and the test
 * calls the handler with a job context. Formatted as this repository's Prettier settings format them.
 */

export type ScaffoldKind = 'leased' | 'transactional';

export interface TemplateContext {
  /** The job type's name, e.g. send-email. */
  name: string;
  kind: ScaffoldKind;
  /** The handler's export, e.g. sendEmail; the declaration's is `${ident}Type`. */
  ident: string;
  /** jobline's own repository: imports are relative paths (below), the test uses test/support. */
  ownRepo: boolean;
  /** ownRepo: module specifiers from the job's folder, without extensions. */
  paths?: { define: string; clients: string; jobClient: string; processBatch: string; resources: string };
  /** Another app: vitest when the app has it, else node:test. */
  testRunner: 'vitest' | 'node';
  /** The test's path, relative to the project (for the comment that says how to run it). */
  testPath?: string;
}

const q = (s: string) => `'${s}'`;

export function typeModule(c: TemplateContext): string {
  const define = c.ownRepo ? c.paths!.define : 'jobline';
  const kindNote =
    c.kind === 'leased'
      ? "kind: 'leased', // effects outside DynamoDB (an HTTP call, an email...): the worker holds a lease while it runs"
      : "kind: 'transactional', // its only effects are DynamoDB writes, committed with the job's completion";
  const schema =
    c.kind === 'leased'
      ? ['  schema: z.strictObject({', '    id: z.string().check(z.minLength(1), z.maxLength(200)),', '  }),']
      : [
          '  schema: z.strictObject({',
          '    id: z.string().check(z.minLength(1), z.maxLength(200)),',
          '    by: z.number().check(z.int(), z.minimum(1), z.maximum(1_000_000)),',
          '  }),',
        ];
  return [
    '/**',
    ` * The ${c.name} job type: its payload's schema and its queue options. The API and JobClient load only this`,
    ' * module; what a job does is in ./handler.ts.',
    ' */',
    "import * as z from 'zod/mini';",
    `import { defineJobType } from ${q(define)};`,
    '',
    `export const ${c.ident}Type = defineJobType({`,
    `  name: ${q(c.name)},`,
    `  ${kindNote}`,
    ...schema,
    "  // Retries, batch size, concurrency, FIFO...: jobline's docs/construct.md. Unset options take the defaults.",
    '  queue: { timeoutSeconds: 30 },',
    '});',
    '',
  ].join('\n');
}

export function handlerModule(c: TemplateContext): string {
  const define = c.ownRepo ? c.paths!.define : 'jobline';
  if (c.kind === 'leased') {
    return [
      `import { defineJob } from ${q(define)};`,
      `import { ${c.ident}Type } from './type';`,
      '',
      '/**',
      ` * What each ${c.name} job does. The worker holds the job's lease while this runs, so two deliveries of one`,
      ' * job never run it at once. Its effect is outside DynamoDB: pass ctx.jobId on as the idempotency key of a',
      ' * call that takes one, so that a retry after a crash does not do it twice. Throw PermanentError for a',
      ' * failure no retry can fix (the job is FAILED at once); any other error is retried with backoff.',
      ' */',
      `export const ${c.ident} = defineJob(${c.ident}Type, ({ id }, ctx) => {`,
      `  ctx.log.info(${q(`${c.name} job`)}, { id });`,
      "  // The effect goes here. What this returns is the job's result (GET /jobs/{id} shows it).",
      '  return Promise.resolve({ id, jobId: ctx.jobId });',
      '});',
      '',
    ].join('\n');
  }
  return [
    `import { defineJob } from ${q(define)};`,
    `import { ${c.ident}Type } from './type';`,
    '',
    `/** The key of the item that ${c.name} jobs update in the stack's table. */`,
    'export function itemKey(id: string): string {',
    `  return \`${c.name.toUpperCase()}#\${id}\`;`,
    '}',
    '',
    '/**',
    ` * What each ${c.name} job does: DynamoDB writes only, which the worker commits in one transaction with the`,
    " * job's completion, so no redelivery can apply them twice. Return the result and the writes (at most 99);",
    ' * do not write to DynamoDB yourself. Throw PermanentError for a failure no retry can fix.',
    ' */',
    `export const ${c.ident} = defineJob(${c.ident}Type, ({ id, by }, ctx) =>`,
    '  Promise.resolve({',
    '    result: { id, by },',
    '    writes: [',
    '      {',
    '        Update: {',
    '          TableName: ctx.tableName,',
    '          Key: { pk: { S: itemKey(id) } },',
    "          UpdateExpression: 'ADD #count :by SET updatedAt = :at',",
    "          ExpressionAttributeNames: { '#count': 'count' },",
    "          ExpressionAttributeValues: { ':by': { N: String(by) }, ':at': { S: new Date().toISOString() } },",
    '        },',
    '      },',
    '    ],',
    '  }),',
    ');',
    '',
  ].join('\n');
}

export function testModule(c: TemplateContext): string {
  return c.ownRepo ? ownRepoTest(c) : appTest(c);
}

/** jobline's own repository: submitted with JobClient, delivered and run as Lambda would, on the emulators. */
function ownRepoTest(c: TemplateContext): string {
  const p = c.paths!;
  const payload = c.kind === 'leased' ? "{ id: 'first' }" : "{ id: 'first', by: 2 }";
  const result = c.kind === 'leased' ? "{ id: 'first', jobId }" : "{ id: 'first', by: 2 }";
  const invalid = c.kind === 'leased' ? "{ id: '' }" : "{ id: 'first', by: 0 }";
  const lines = [
    `// The ${c.name} job on DynamoDB Local and the SQS emulator (vitest's global setup starts them): submitted as the`,
    '// API submits, delivered to the worker as Lambda delivers, run to SUCCEEDED.',
    ...(c.kind === 'transactional' ? ["import { GetItemCommand } from '@aws-sdk/client-dynamodb';"] : []),
    "import { beforeEach, describe, expect, it } from 'vitest';",
    ...(c.kind === 'transactional' ? [`import { dynamoClient } from ${q(p.clients)};`] : []),
    `import { JobClient } from ${q(p.jobClient)};`,
    `import type { JobType } from ${q(p.define)};`,
    `import { processBatch } from ${q(p.processBatch)};`,
    `import { acknowledge, createJobQueues, createJobsTable, invocation, receiveRecords, workerDeps, type JobQueues } from ${q(p.resources)};`,
    `import { ${c.kind === 'transactional' ? `itemKey, ${c.ident}` : c.ident} } from './handler';`,
    `import { ${c.ident}Type } from './type';`,
    '',
    `const type = ${c.ident} as unknown as JobType;`,
    'let table: string;',
    'let queues: JobQueues;',
    '',
    'beforeEach(async () => {',
    '  table = await createJobsTable();',
    '  queues = await createJobQueues(type);',
    '});',
    '',
    `const client = () => new JobClient({ jobTypes: [${c.ident}Type], tableName: table, queueUrls: { ${q(c.name)}: queues.queue.url } });`,
    '',
    `describe(${q(`${c.name} job`)}, () => {`,
    "  it('runs a submitted job to SUCCEEDED', async () => {",
    '    const jobs = client();',
    `    const { jobId } = await jobs.submit(${q(c.name)}, ${payload});`,
    '    const records = await receiveRecords(queues.queue);',
    '    expect(records).toHaveLength(1);',
    '    const response = await processBatch(records, invocation(), workerDeps(type, table, queues));',
    '    expect(response.batchItemFailures).toEqual([]);',
    '    await acknowledge(queues.queue, records, response);',
    `    expect(await jobs.get(jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: ${result} });`,
  ];
  if (c.kind === 'transactional') {
    lines.push(
      "    const { Item } = await dynamoClient().send(new GetItemCommand({ TableName: table, Key: { pk: { S: itemKey('first') } }, ConsistentRead: true }));",
      "    expect(Item?.count?.N).toBe('2');",
    );
  }
  lines.push(
    '  });',
    '',
    "  it('refuses a payload that does not match its schema', async () => {",
    `    await expect(client().submit(${q(c.name)}, ${invalid})).rejects.toMatchObject({ code: 'invalid_payload' });`,
    '  });',
    '});',
    '',
  );
  return lines.join('\n');
}

/** Another app: the handler called with a job context (jobline runs it on the emulators in `jobline dev`). */
function appTest(c: TemplateContext): string {
  const payload = c.kind === 'leased' ? "{ id: 'first' }" : "{ id: 'first', by: 2 }";
  const header =
    c.testRunner === 'vitest' ? ["import { describe, expect, it } from 'vitest';"] : ["import assert from 'node:assert/strict';", "import { describe, it } from 'node:test';"];
  const lines = [
    `// The ${c.name} handler, called as the worker calls it (npx jobline dev runs it on the local emulators).`,
    ...(c.testRunner === 'node' ? [`// Run it: node --import tsx --test ${c.testPath ?? '<this file>'}`] : []),
    ...header,
    "import type { JobContext } from 'jobline';",
    "import * as z from 'zod/mini';",
    `import { ${c.ident} } from './handler';`,
    '',
    "const quiet: JobContext['log'] = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };",
    'const context = (): JobContext => ({',
    "  jobId: 'test-job',",
    `  type: ${q(c.name)},`,
    '  attempt: 1,',
    '  deadline: Date.now() + 30_000,',
    '  signal: new AbortController().signal,',
    "  tableName: 'jobs',",
    '  log: quiet,',
    '});',
    '',
    `describe(${q(`${c.name} job`)}, () => {`,
  ];
  const eq = (actual: string, expected: string) => (c.testRunner === 'vitest' ? `expect(${actual}).toEqual(${expected});` : `assert.deepEqual(${actual}, ${expected});`);
  const is = (actual: string, expected: string) => (c.testRunner === 'vitest' ? `expect(${actual}).toBe(${expected});` : `assert.equal(${actual}, ${expected});`);
  if (c.kind === 'leased') {
    lines.push(
      "  it('returns its result', async () => {",
      `    const result = await ${c.ident}.handler(${payload}, context());`,
      `    ${eq('result', "{ id: 'first', jobId: 'test-job' }")}`,
      '  });',
    );
  } else {
    lines.push(
      "  it('returns its result and its writes to the stack table', async () => {",
      `    const { result, writes } = await ${c.ident}.handler(${payload}, context());`,
      `    ${eq('result', "{ id: 'first', by: 2 }")}`,
      `    ${eq('writes.map((w) => w.Update?.TableName)', "['jobs']")}`,
      '  });',
    );
  }
  lines.push(
    '',
    "  it('refuses a payload that does not match its schema', () => {",
    `    ${is(`z.safeParse(${c.ident}.schema, { id: '' }).success`, 'false')}`,
    '  });',
    '});',
    '',
  );
  return lines.join('\n');
}
