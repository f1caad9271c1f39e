/**
 * `npm start`: the whole stack on this machine, no Docker. Options:
 *   --port N         HTTP API port (default PORT or 3000)
 *   --endpoint URL   use an AWS-compatible endpoint for SQS and DynamoDB (e.g. LocalStack,
 *                    http://localhost:4566) instead of the embedded emulators; AWS_ENDPOINT_URL does the same
 *   --synth          synthesize even if cdk.out is newer than the sources
 *   --stack NAME     the stack to run when cdk.out holds several
 * Function logs go to .jobline/logs/<function>.log.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../infra/paths';
import { jobTypesOf, startLiveView } from './live-view';
import { startLocalRuntime } from './runtime';
import { ensureAssembly } from './synth';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    endpoint: { type: 'string' },
    synth: { type: 'boolean', default: false },
    stack: { type: 'string' },
  },
});

const logDir = path.join(PROJECT_ROOT, '.jobline', 'logs');
mkdirSync(logDir, { recursive: true });
const logs = new Map<string, WriteStream>();
const logTo = (fn: string, line: string) => {
  let stream = logs.get(fn);
  if (!stream) logs.set(fn, (stream = createWriteStream(path.join(logDir, `${fn}.log`), { flags: 'a' })));
  stream.write(`${line}\n`);
};

const endpoint = values.endpoint ?? process.env.AWS_ENDPOINT_URL;
const port = Number(values.port ?? process.env.PORT ?? 3000);

if (values.synth) await ensureAssembly({ force: true });
console.log('jobline: starting the local stack...');
const runtime = await startLocalRuntime({
  port,
  stackName: values.stack,
  ...(endpoint ? { endpoint } : {}),
  onFunctionLog: logTo,
  onEvent: (message) => console.log(`  ${message}`),
});

console.log(`\njobline is running. API: ${runtime.apiUrl}`);
for (const r of runtime.model.routes) console.log(`  ${r.routeKey.padEnd(20)} ${runtime.apiUrl}${r.routeKey.split(' ')[1]}`);
for (const t of jobTypesOf(runtime)) console.log(`  ${t.type}: queue ${t.queueUrl}\n  ${' '.repeat(t.type.length)}  DLQ   ${t.dlqUrl}`);
console.log(`  table: ${[...runtime.tables.values()].join(', ')}`);
console.log(`  function logs: ${logDir}`);
console.log(`  try: curl -X POST ${runtime.apiUrl}/jobs/transfer -H 'content-type: application/json' -d '{"from":"alice","to":"bob","amount":100}'`);
console.log('  Ctrl-C stops everything.\n');

const stopView = startLiveView(runtime);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  stopView();
  console.log(`\n${signal}: stopping...`);
  await runtime.stop();
  for (const stream of logs.values()) stream.end();
  console.log('jobline: stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
