// The function logs of `jobline dev` (local/function-logs.ts) and the lines Lambda writes around each
// invocation (local/lambda/bootstrap.mjs, local/lambda/platform-lines.ts): START, END and REPORT exactly in
// Lambda's text format, readable file names per function, a separator per run, a directory tests can set.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionLogs, functionLogNames, logDirectory, readableFunctionName, runSeparator } from '../../local/function-logs';
import { billedDurationMs, endLine, invokeErrorLine, reportLine, startLine, timeoutLine } from '../../local/lambda/bootstrap.mjs';
import type { InvokeResult } from '../../local/lambda/function-pool';
import { platformLinesAtEnd } from '../../local/lambda/platform-lines';
import type { CfnTemplate } from '../../local/template/cloud-assembly';

const ID = '3f1c2a9e-5b7d-4e2f-9a1b-0c8d7e6f5a4b';

describe("Lambda's invocation lines", () => {
  it('START and END', () => {
    expect(startLine(ID)).toBe(`START RequestId: ${ID} Version: $LATEST`);
    expect(endLine(ID)).toBe(`END RequestId: ${ID}`);
  });

  it('REPORT of a warm invocation: duration to two decimals, billed in whole milliseconds rounded up, memory in MB, tab-separated', () => {
    expect(reportLine({ requestId: ID, durationMs: 12.3449, memorySizeMb: 512, maxMemoryUsedMb: 80 })).toBe(
      `REPORT RequestId: ${ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB`,
    );
    expect(reportLine({ requestId: ID, durationMs: 7, memorySizeMb: 128, maxMemoryUsedMb: 64 })).toBe(
      `REPORT RequestId: ${ID}\tDuration: 7.00 ms\tBilled Duration: 7 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB`,
    );
  });

  it('REPORT of a cold start ends with Init Duration, and bills the initialization too (as Lambda does since August 2025)', () => {
    expect(reportLine({ requestId: ID, durationMs: 12.34, memorySizeMb: 512, maxMemoryUsedMb: 80, initDurationMs: 150.123 })).toBe(
      `REPORT RequestId: ${ID}\tDuration: 12.34 ms\tBilled Duration: 163 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 150.12 ms`,
    );
    expect(billedDurationMs(12.34)).toBe(13);
    expect(billedDurationMs(12.34, 150.12)).toBe(163);
    expect(billedDurationMs(1)).toBe(1);
  });

  it('REPORT of an invocation that did not end normally says its status, and leaves out what is not known', () => {
    expect(reportLine({ requestId: ID, durationMs: 3000.4, memorySizeMb: 128, maxMemoryUsedMb: 70, status: 'timeout' })).toBe(
      `REPORT RequestId: ${ID}\tDuration: 3000.40 ms\tBilled Duration: 3001 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tStatus: timeout`,
    );
    expect(reportLine({ requestId: ID, durationMs: 5, memorySizeMb: 128, status: 'error', errorType: 'Runtime.ExitError' })).toBe(
      `REPORT RequestId: ${ID}\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tStatus: error\tError Type: Runtime.ExitError`,
    );
  });

  it("a handler's error: Lambda's Invoke Error line, with the stack one frame an entry", () => {
    const error = new TypeError('bad thing');
    error.stack = 'TypeError: bad thing\n    at handler (/app/handler.ts:12:9)\n    at run (/app/run.ts:3:1)';
    const line = invokeErrorLine(ID, error, new Date('2026-11-28T00:30:00.123Z'));
    const [time, id, level, what, json] = line.split('\t');
    expect([time, id, level, what]).toEqual(['2026-11-28T00:30:00.123Z', ID, 'ERROR', 'Invoke Error ']);
    expect(JSON.parse(json!)).toEqual({
      errorType: 'TypeError',
      errorMessage: 'bad thing',
      stack: ['TypeError: bad thing', '    at handler (/app/handler.ts:12:9)', '    at run (/app/run.ts:3:1)'],
    });
  });

  it('a timeout', () => {
    expect(timeoutLine(ID, 3, new Date('2026-11-28T00:30:03.005Z'))).toBe(`2026-11-28T00:30:03.005Z ${ID} Task timed out after 3.00 seconds`);
  });
});

describe('what the runtime writes for an environment that cannot', () => {
  const fn = { timeoutSeconds: 3, memoryMb: 256 };
  const at = new Date('2026-11-28T00:30:03.000Z');
  const end = (result: InvokeResult) => ({ requestId: ID, pid: undefined, result });

  it('a timeout: "Task timed out", END, REPORT with Status: timeout', () => {
    const lines = platformLinesAtEnd(
      end({ ok: false, kind: 'timeout', errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds', durationMs: 3002 }),
      fn,
      at,
    );
    expect(lines).toEqual([
      `2026-11-28T00:30:03.000Z ${ID} Task timed out after 3.00 seconds`,
      `END RequestId: ${ID}`,
      `REPORT RequestId: ${ID}\tDuration: 3002.00 ms\tBilled Duration: 3002 ms\tMemory Size: 256 MB\tStatus: timeout`,
    ]);
  });

  it('a timeout of a live process reports its peak memory', () => {
    const [, , report] = platformLinesAtEnd(
      { ...end({ ok: false, kind: 'timeout', errorType: 'Sandbox.Timedout', errorMessage: '', durationMs: 3000 }), pid: process.pid },
      fn,
      at,
    );
    if (process.platform === 'linux') expect(report).toMatch(/\tMax Memory Used: \d+ MB\tStatus: timeout$/);
  });

  it('an environment killed by a signal: END and REPORT with Status: error; one that exited on its own wrote them itself', () => {
    const killed = end({ ok: false, kind: 'crash', errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with signal SIGKILL', durationMs: 10 });
    expect(platformLinesAtEnd(killed, fn, at)).toEqual([
      `END RequestId: ${ID}`,
      `REPORT RequestId: ${ID}\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 256 MB\tStatus: error\tError Type: Runtime.ExitError`,
    ]);
    const outOfMemory = end({
      ok: false,
      kind: 'crash',
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${ID} Error: Runtime exited with error: signal: killed`,
      durationMs: 10,
    });
    expect(platformLinesAtEnd(outOfMemory, fn, at).at(-1)).toMatch(/\tStatus: error\tError Type: Runtime\.OutOfMemory$/);
    expect(platformLinesAtEnd(end({ ok: false, kind: 'crash', errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with code 1', durationMs: 10 }), fn, at)).toEqual([]);
    expect(platformLinesAtEnd(end({ ok: true, result: null, durationMs: 10 }), fn, at)).toEqual([]);
    expect(platformLinesAtEnd(end({ ok: false, kind: 'error', errorType: 'Error', errorMessage: 'x', durationMs: 10 }), fn, at)).toEqual([]);
  });
});

describe('log file names', () => {
  it("jobline's functions by their description", () => {
    expect(readableFunctionName({ logicalId: 'JobsJobTypetransferWorkerFunction83D21706', description: 'jobline worker for transfer jobs' })).toBe('transfer-worker');
    expect(readableFunctionName({ logicalId: 'JobsApiHandlerFunction79566D99', description: 'jobline API: submit jobs and read their status' })).toBe('api');
    expect(
      readableFunctionName({ logicalId: 'JobsSweeperHandlerFunction00CC46BC', description: 'jobline sweeper: sends lost job messages again, gives up jobs that cannot finish' }),
    ).toBe('sweeper');
  });

  it('any other function by its FunctionName, its construct path, or its logical id without the hash', () => {
    expect(readableFunctionName({ logicalId: 'ResizerAB12CD34', functionName: 'images-resizer', description: 'Resizes images' })).toBe('images-resizer');
    expect(readableFunctionName({ logicalId: 'ImagesResizerAB12CD34', constructPath: 'Images/Resizer/Resource' })).toBe('resizer');
    expect(readableFunctionName({ logicalId: 'ImagesResizerAB12CD34', constructPath: 'Images/Gallery/ThumbnailMaker/Function/Resource' })).toBe('gallery-thumbnail-maker');
    expect(readableFunctionName({ logicalId: 'ImagesResizerFunctionAB12CD34' })).toBe('images-resizer-function');
    expect(readableFunctionName({ logicalId: 'APIHandler0A1B2C3D' })).toBe('api-handler');
    expect(readableFunctionName({ logicalId: 'Reporter' })).toBe('reporter');
  });

  it("a template's functions, keyed by the name the runtime reports them with; names that would collide keep their logical ids", () => {
    const fn = (Description?: string, FunctionName?: string) => ({
      Type: 'AWS::Lambda::Function',
      Properties: { ...(Description ? { Description } : {}), ...(FunctionName ? { FunctionName } : {}) },
    });
    const template: CfnTemplate = {
      Resources: {
        JobsJobTypetransferWorkerFunction83D21706: fn('jobline worker for transfer jobs'),
        JobsJobTypewebhookWorkerFunction4C7E4D55: fn('jobline worker for webhook jobs'),
        JobsApiHandlerFunction79566D99: fn('jobline API: submit jobs and read their status'),
        OtherApiHandlerFunction11223344: fn('jobline API: submit jobs and read their status'),
        Named: fn(undefined, 'my-function'),
        Queue: { Type: 'AWS::SQS::Queue' },
      },
    };
    expect(functionLogNames(template, 'run1-')).toEqual(
      new Map([
        ['run1-JobsJobTypetransferWorkerFunction83D21706', 'transfer-worker'],
        ['run1-JobsJobTypewebhookWorkerFunction4C7E4D55', 'webhook-worker'],
        ['run1-JobsApiHandlerFunction79566D99', 'api-JobsApiHandlerFunction79566D99'],
        ['run1-OtherApiHandlerFunction11223344', 'api-OtherApiHandlerFunction11223344'],
        ['run1-my-function', 'my-function'],
      ]),
    );
  });
});

describe('log files', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jobline-function-logs-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('go to .jobline/logs in the project, or to JOBLINE_LOG_DIR (relative to the project)', () => {
    expect(logDirectory('/work/app', {})).toBe('/work/app/.jobline/logs');
    expect(logDirectory('/work/app', { JOBLINE_LOG_DIR: '/tmp/logs' })).toBe('/tmp/logs');
    expect(logDirectory('/work/app', { JOBLINE_LOG_DIR: 'out/logs' })).toBe('/work/app/out/logs');
  });

  it('a run starts each file with its separator, in UTC to the second', () => {
    expect(runSeparator(new Date('2026-11-28T00:30:00.456Z'))).toBe('===== jobline dev 2026-11-28T00:30:00Z =====');
  });

  it('one file per function, named as the stack says; every run appends its separator and its lines', async () => {
    const dir = tempDir();
    const names = new Map([['JobsApiHandlerFunction79566D99', 'api']]);
    const first = new FunctionLogs(dir, new Date('2026-11-28T00:30:00Z'));
    first.write('synth', 'Bundling asset...');
    first.useNames(names);
    first.write('JobsApiHandlerFunction79566D99', 'one');
    first.write('JobsApiHandlerFunction79566D99', 'two');
    first.write('Unnamed Function/1', 'three');
    expect(first.fileOf('JobsApiHandlerFunction79566D99')).toBe(path.join(dir, 'api.log'));
    await first.close();
    first.write('JobsApiHandlerFunction79566D99', 'after close: dropped');

    const second = new FunctionLogs(dir, new Date('2026-11-28T01:00:00Z'));
    second.useNames(names);
    second.write('JobsApiHandlerFunction79566D99', 'four');
    await second.close();

    const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
    expect(read('api.log')).toBe(['===== jobline dev 2026-11-28T00:30:00Z =====', 'one', 'two', '===== jobline dev 2026-11-28T01:00:00Z =====', 'four', ''].join('\n'));
    expect(read('synth.log')).toBe('===== jobline dev 2026-11-28T00:30:00Z =====\nBundling asset...\n');
    expect(read('Unnamed-Function-1.log')).toBe('===== jobline dev 2026-11-28T00:30:00Z =====\nthree\n');
  });
});
