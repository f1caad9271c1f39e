// One Lambda execution environment: a process that loads a function's bundled handler from cdk.out once
// and runs one invocation at a time, sent by the local runtime over IPC. Plain JavaScript, so it starts
// as fast as a Lambda runtime does (no TypeScript loader), and it runs exactly the code cdk deploy uploads.
//
// Like Lambda it writes, around each invocation, START, END and REPORT lines to its output (which the
// runtime puts in the function's log), with the request id the handler sees as context.awsRequestId; an
// error the handler throws is written as Lambda's "Invoke Error" line with its stack. A bundle synthesized
// for the local runtime has a source map next to it (infra/local-debug.ts): stacks then name the
// TypeScript sources. This module also exports the line formats, for the runtime and the tests; it runs an
// environment only when the runtime forks it.
import { existsSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

/** `START RequestId: <id> Version: $LATEST`, as Lambda writes it when an invocation starts. */
export function startLine(requestId, version = '$LATEST') {
  return `START RequestId: ${requestId} Version: ${version}`;
}

/** `END RequestId: <id>`, as Lambda writes it when an invocation ends. */
export function endLine(requestId) {
  return `END RequestId: ${requestId}`;
}

/**
 * The billed duration in whole milliseconds: the invocation's duration rounded up, plus on a cold start
 * the initialization's (Lambda bills the INIT phase of on-demand functions since August 2025).
 */
export function billedDurationMs(durationMs, initDurationMs) {
  return Math.ceil(durationMs + (initDurationMs ?? 0));
}

/**
 * Lambda's REPORT line (text log format), fields separated by tabs:
 * `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB`,
 * then `\tInit Duration: 150.12 ms` on a cold start, and `\tStatus: timeout` (or `\tStatus: error\tError Type: ...`)
 * when the invocation did not end normally. A field whose value is unknown is left out.
 */
export function reportLine({ requestId, durationMs, memorySizeMb, maxMemoryUsedMb, initDurationMs, status, errorType }) {
  const fields = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${durationMs.toFixed(2)} ms`,
    `Billed Duration: ${billedDurationMs(durationMs, initDurationMs)} ms`,
    `Memory Size: ${memorySizeMb} MB`,
  ];
  if (maxMemoryUsedMb !== undefined) fields.push(`Max Memory Used: ${maxMemoryUsedMb} MB`);
  if (initDurationMs !== undefined) fields.push(`Init Duration: ${initDurationMs.toFixed(2)} ms`);
  if (status !== undefined) fields.push(`Status: ${status}`);
  if (errorType !== undefined) fields.push(`Error Type: ${errorType}`);
  return fields.join('\t');
}

/** `<time>\t<id>\tERROR\tInvoke Error \t{"errorType":...,"errorMessage":...,"stack":[...]}`: a handler's error, as Lambda's Node.js runtime logs it. */
export function invokeErrorLine(requestId, error, at = new Date()) {
  const errorType = error?.name ?? 'Error';
  const errorMessage = error?.message ?? String(error);
  const stack = typeof error?.stack === 'string' ? error.stack.split('\n') : [];
  return `${at.toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify({ errorType, errorMessage, stack })}`;
}

/** `<time> <id> Task timed out after 3.00 seconds`, as Lambda writes it before it ends the environment. */
export function timeoutLine(requestId, timeoutSeconds, at = new Date()) {
  return `${at.toISOString()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}

/** The largest resident set size of this process so far, in MB (Lambda's "Max Memory Used"). */
function maxMemoryUsedMb() {
  return Math.ceil(process.resourceUsage().maxRSS / 1024);
}

async function runEnvironment() {
  const file = process.env.JOBLINE_HANDLER_FILE;
  const exportName = process.env.JOBLINE_HANDLER_EXPORT || 'handler';
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || 'function';
  const version = process.env.AWS_LAMBDA_FUNCTION_VERSION || '$LATEST';
  const region = process.env.AWS_REGION || 'us-east-1';
  const memorySizeMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || '128');
  // Synchronous, so that the lines keep their place among the handler's own output and are out before an exit.
  const write = (line) => writeSync(1, `${line}\n`);

  // Ctrl-C reaches the whole process group; the runtime decides when environments stop.
  process.on('SIGINT', () => {});
  // If the runtime goes away, so does its environment.
  process.on('disconnect', () => process.exit(0));

  // A bundle made for the local runtime has its source map next to it: stacks then name the TypeScript sources.
  if (existsSync(`${file}.map`)) process.setSourceMapsEnabled(true);

  let handler;
  try {
    const module = await import(pathToFileURL(file).href);
    handler = module[exportName] ?? module.default?.[exportName];
    if (typeof handler !== 'function') throw new Error(`${file} does not export a function named ${exportName}`);
  } catch (error) {
    const errorType = 'Runtime.ImportModuleError';
    write(
      `${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify({ errorType, errorMessage: String(error?.message ?? error), stack: String(error?.stack ?? '').split('\n') })}`,
    );
    write(`INIT_REPORT Init Duration: ${performance.now().toFixed(2)} ms\tPhase: init\tStatus: error\tError Type: ${errorType}`);
    process.send({ type: 'init-error', error: { errorType, errorMessage: String(error?.stack ?? error) } });
    process.exit(1);
  }
  // From the start of this process to the handler's module loaded: reported with the first invocation.
  let initDurationMs = performance.now();

  // An invocation in flight when the process exits on its own (process.exit, an uncaught exception): its END
  // and REPORT, as Lambda writes them for Runtime.ExitError. (Killed by the runtime, it writes nothing.)
  let current;
  process.on('exit', () => {
    if (!current) return;
    write(endLine(current.requestId));
    write(reportLine({ ...current.report(), status: 'error', errorType: 'Runtime.ExitError' }));
  });

  process.on('message', async (message) => {
    if (message?.type !== 'invoke') return;
    const { id, event, deadline, requestId } = message;
    const started = performance.now();
    const cold = initDurationMs;
    initDurationMs = undefined;
    current = {
      requestId,
      report: () => ({ requestId, durationMs: performance.now() - started, memorySizeMb, maxMemoryUsedMb: maxMemoryUsedMb(), initDurationMs: cold }),
    };
    const context = {
      awsRequestId: requestId,
      functionName,
      functionVersion: version,
      invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
      memoryLimitInMB: String(memorySizeMb),
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME || `/aws/lambda/${functionName}`,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME || `local/${process.pid}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    write(startLine(requestId, version));
    let answer;
    try {
      const result = await handler(event, context);
      answer = { type: 'result', id, result: result === undefined ? null : result };
    } catch (error) {
      write(invokeErrorLine(requestId, error));
      answer = { type: 'error', id, error: { errorType: error?.name ?? 'Error', errorMessage: error?.message ?? String(error) } };
    }
    const report = current.report();
    current = undefined;
    write(endLine(requestId));
    write(reportLine(report));
    process.send(answer);
  });

  process.send({ type: 'ready' });
}

// Forked by the runtime (local/lambda/function-pool.ts) with a handler to load: an execution environment.
// Imported (the runtime, tests): only the line formats above.
if (process.env.JOBLINE_HANDLER_FILE && typeof process.send === 'function') await runEnvironment();
