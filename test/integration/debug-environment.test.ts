// One function's execution environments as Lambda runs them, seen in its log: START, END and REPORT around
// every invocation with the request id the handler gets as context.awsRequestId (Init Duration on the cold
// start only), a thrown error as Lambda's "Invoke Error" line whose stack names the TypeScript source
// through the bundle's source map, a timeout and an exit with their Status, and `--inspect`'s debugger
// listening on the loopback address. The handler is a TypeScript file bundled here as cdk synth bundles one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators/free-port';
import { FunctionPool, type FunctionPoolOptions } from '../../local/lambda/function-pool';
import { platformLinesAtEnd } from '../../local/lambda/platform-lines';

const HANDLER = `// A function for the tests: what it does is the event's action.
export const handler = async (event: { action: string }, context: { awsRequestId: string }) => {
  if (event.action === 'throw') {
    throw new Error('the handler failed on purpose');
  }
  if (event.action === 'sleep') await new Promise((resolve) => setTimeout(resolve, 10_000));
  if (event.action === 'exit') process.exit(3);
  return { requestId: context.awsRequestId };
};
`;
const THROW_LINE = HANDLER.split('\n').findIndex((line) => line.includes('throw new Error')) + 1;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

let dir: string;
let source: string;
let bundle: string;
const pools: FunctionPool[] = [];
let lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'jobline-debug-env-'));
  source = path.join(dir, 'src', 'handler.ts');
  mkdirSync(path.dirname(source));
  writeFileSync(source, HANDLER);
  bundle = path.join(dir, 'asset', 'index.mjs');
  // As the local synthesis bundles (infra/jobline-function.ts with jobline:localDebug): minified, a source map without the sources.
  await build({ entryPoints: [source], outfile: bundle, bundle: true, minify: true, format: 'esm', platform: 'node', sourcemap: true, sourcesContent: false, logLevel: 'silent' });
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
  lines = [];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pool(options: Partial<FunctionPoolOptions> = {}, timeoutSeconds = 2): FunctionPool {
  const spec = { timeoutSeconds, memoryMb: 256 };
  const created = new FunctionPool(
    {
      name: 'fixture',
      file: bundle,
      exportName: 'handler',
      codeDir: path.dirname(bundle),
      ...spec,
      environment: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        AWS_LAMBDA_FUNCTION_NAME: 'fixture',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      },
    },
    {
      maxEnvironments: 1,
      onLog: (_fn, line) => lines.push(line),
      onInvocationEnd: (end) => lines.push(...platformLinesAtEnd(end, spec)),
      ...options,
    },
  );
  pools.push(created);
  return created;
}

/** The lines of one request id: its START, what it wrote, its END and REPORT (waits until its REPORT is in). */
async function invocationLines(requestId: string): Promise<string[]> {
  await expect.poll(() => lines.some((l) => l.startsWith(`REPORT RequestId: ${requestId}\t`)), { timeout: 5000 }).toBe(true);
  const start = lines.indexOf(`START RequestId: ${requestId} Version: $LATEST`);
  const report = lines.findIndex((l) => l.startsWith(`REPORT RequestId: ${requestId}\t`));
  expect(start, lines.join('\n')).toBeGreaterThanOrEqual(0);
  return lines.slice(start, report + 1);
}

const lastStartedId = () => /^START RequestId: (\S+) /.exec(lines.findLast((l) => l.startsWith('START ')) ?? '')?.[1];

describe('an execution environment, in its log', () => {
  it('START, END and REPORT around each invocation, with the request id the handler sees; Init Duration on the cold start only', async () => {
    const fn = pool();
    const first = await fn.invoke({ action: 'ok' });
    const second = await fn.invoke({ action: 'ok' });
    if (!first.ok || !second.ok) throw new Error(JSON.stringify([first, second]));
    const [firstId, secondId] = [(first.result as { requestId: string }).requestId, (second.result as { requestId: string }).requestId];
    expect(firstId).toMatch(new RegExp(`^${UUID}$`));
    expect(secondId).not.toBe(firstId);

    const cold = await invocationLines(firstId);
    expect(cold).toHaveLength(3);
    expect(cold[1]).toBe(`END RequestId: ${firstId}`);
    expect(cold[2]).toMatch(
      new RegExp(
        `^REPORT RequestId: ${firstId}\\tDuration: \\d+\\.\\d{2} ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB\\tInit Duration: \\d+\\.\\d{2} ms$`,
      ),
    );
    const [duration, billed, init] = /Duration: ([\d.]+) ms\tBilled Duration: (\d+) ms.*Init Duration: ([\d.]+) ms/.exec(cold[2]!)!.slice(1).map(Number);
    expect(billed).toBe(Math.ceil(duration! + init!));
    const warm = await invocationLines(secondId);
    expect(warm.at(-1)).toMatch(
      new RegExp(`^REPORT RequestId: ${secondId}\\tDuration: \\d+\\.\\d{2} ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB$`),
    );
  });

  it("a thrown error: Lambda's Invoke Error line, its stack at the TypeScript line (source map)", async () => {
    const fn = pool();
    const result = await fn.invoke({ action: 'throw' });
    expect(result).toMatchObject({ ok: false, kind: 'error', errorType: 'Error', errorMessage: 'the handler failed on purpose' });
    const requestId = lastStartedId()!;
    const own = await invocationLines(requestId);
    expect(own).toHaveLength(4);
    const [time, id, level, what, json] = own[1]!.split('\t');
    expect([id, level, what]).toEqual([requestId, 'ERROR', 'Invoke Error ']);
    expect(new Date(time!).toISOString()).toBe(time);
    const error = JSON.parse(json!) as { errorType: string; errorMessage: string; stack: string[] };
    expect(error.errorType).toBe('Error');
    expect(error.stack[0]).toBe('Error: the handler failed on purpose');
    expect(error.stack[1]).toContain(`${source}:${THROW_LINE}:`);
    expect(own[2]).toBe(`END RequestId: ${requestId}`);
  });

  it('a timeout: "Task timed out", END and REPORT with Status: timeout; an exit: REPORT with Status: error', async () => {
    const fn = pool({}, 1);
    expect(await fn.invoke({ action: 'sleep' })).toMatchObject({ ok: false, kind: 'timeout' });
    const timedOut = lastStartedId()!;
    const own = await invocationLines(timedOut);
    expect(own[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${timedOut} Task timed out after 1\\.00 seconds$`));
    expect(own[2]).toBe(`END RequestId: ${timedOut}`);
    expect(own[3]).toMatch(
      new RegExp(`^REPORT RequestId: ${timedOut}\\tDuration: \\d+\\.\\d{2} ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB(\\tMax Memory Used: \\d+ MB)?\\tStatus: timeout$`),
    );

    expect(await fn.invoke({ action: 'exit' })).toMatchObject({ ok: false, kind: 'crash', errorMessage: 'Runtime exited with code 3' });
    const exited = lastStartedId()!;
    expect(exited).not.toBe(timedOut);
    const last = await invocationLines(exited);
    expect(last.at(-2)).toBe(`END RequestId: ${exited}`);
    expect(last.at(-1)).toMatch(
      new RegExp(`^REPORT RequestId: ${exited}\\t.*\\tMax Memory Used: \\d+ MB\\tInit Duration: [\\d.]+ ms\\tStatus: error\\tError Type: Runtime\\.ExitError$`),
    );
  });

  it('--inspect: the environment listens for a debugger on the given loopback port', async () => {
    const port = await freePort();
    const fn = pool({ execArgv: [`--inspect=127.0.0.1:${port}`] });
    expect(await fn.invoke({ action: 'ok' })).toMatchObject({ ok: true });
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { url: string; webSocketDebuggerUrl: string }[];
    expect(targets).toHaveLength(1);
    expect(targets[0]!.url).toMatch(/bootstrap\.mjs$/);
    expect(targets[0]!.webSocketDebuggerUrl).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${port}/`));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Debugger listening on ws://127\\.0\\.0\\.1:${port}/`)));
  });
});
