// One Lambda execution environment: a process that loads a function's bundled handler from cdk.out once
// and runs one invocation at a time, sent by the local runtime over IPC. Plain JavaScript, so it starts
// as fast as a Lambda runtime does (no TypeScript loader), and it runs exactly the code cdk deploy uploads.
import { pathToFileURL } from 'node:url';

const file = process.env.JOBLINE_HANDLER_FILE;
const exportName = process.env.JOBLINE_HANDLER_EXPORT || 'handler';
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || 'function';
const region = process.env.AWS_REGION || 'us-east-1';

// Ctrl-C reaches the whole process group; the runtime decides when environments stop.
process.on('SIGINT', () => {});
// If the runtime goes away, so does its environment.
process.on('disconnect', () => process.exit(0));

let handler;
try {
  const module = await import(pathToFileURL(file).href);
  handler = module[exportName] ?? module.default?.[exportName];
  if (typeof handler !== 'function') throw new Error(`${file} does not export a function named ${exportName}`);
} catch (error) {
  process.send({ type: 'init-error', error: { errorType: 'Runtime.ImportModuleError', errorMessage: String(error?.stack ?? error) } });
  process.exit(1);
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const { id, event, deadline, requestId } = message;
  const context = {
    awsRequestId: requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || '128',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, context);
    process.send({ type: 'result', id, result: result === undefined ? null : result });
  } catch (error) {
    process.send({ type: 'error', id, error: { errorType: error?.name ?? 'Error', errorMessage: error?.message ?? String(error) } });
  }
});

process.send({ type: 'ready' });
