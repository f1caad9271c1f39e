/**
 * `jobline dev`: runs the CDK app of the current directory on this machine, no Docker: synthesizes it,
 * starts the embedded emulators (or uses an AWS-compatible endpoint such as LocalStack), runs its functions
 * from their bundled assets, serves its HTTP API, polls its queues. In this repository `npm start` is this
 * command. `jobline dev --help` lists the options:
 *   --port N            HTTP API port (default PORT or 3000)
 *   --dynamodb-port N   embedded DynamoDB Local's port (default 8000); --sqs-port N: the SQS emulator's (9324)
 *   --endpoint URL      use an AWS-compatible endpoint for SQS and DynamoDB (e.g. LocalStack,
 *                       http://localhost:4566) instead of the embedded emulators; AWS_ENDPOINT_URL does the same
 *   --synth             synthesize even if cdk.out was made from the same sources and settings
 *   --stack NAME        the stack to run when cdk.out holds several
 *   --persist [DIR]     keep jobs, tables and queued messages across restarts (default .jobline/data; local/persist.ts)
 *   --env-file FILE     variables for every function (default .env when it exists; local/env-file.ts)
 *   --inspect [PORT]    a debugger in each function's environment, on 127.0.0.1:PORT, PORT+1... (local/inspect.ts)
 *   --no-watch          no reload on changes (watch mode, the default, reloads what a change touches; local/watch.ts)
 *   --dashboard-port N  the web dashboard's port (default 3001, a free one when that is taken); --no-dashboard: none (dashboard/)
 * Before anything starts it checks Node, Java (for DynamoDB Local) and the ports (local/preflight.ts): a
 * problem is one line of cause and one of fix, and exit code 1. Function logs go to .jobline/logs/<function>.log
 * (JOBLINE_LOG_DIR: elsewhere; local/function-logs.ts).
 *
 * jobline's own app (this repository, run from its sources) is synthesized in-process and cdk.out is reused
 * when nothing changed (local/synth.ts); any other app is synthesized by running its cdk.json `app` command.
 */
import path from 'node:path';
import type { Target } from '../cli/target';
import { PACKAGE_ROOT } from '../infra/paths';
import { routeAsDocumented } from '../shared/api/routes';
import { describeEnv, loadEnvFile } from './env-file';
import { functionLogNames, openFunctionLogs } from './function-logs';
import {
  formatProblem,
  jobTypeSettings,
  parseStartArgs,
  portFix,
  preflight,
  renderEndpoints,
  renderJobTypeSettings,
  runtimeWarning,
  suggestPort,
  usage,
  wantedPorts,
} from './preflight';
import type { RuntimeInfo } from './runtime-file';

/** Runs `jobline dev` with these arguments in `projectDir`; returns once the stack runs (Ctrl-C stops it). */
export async function dev(argv: readonly string[], projectDir: string = process.cwd()): Promise<void> {
  // jobline's own app from its sources (this repository, where `npm start` is this command).
  const ownApp = path.resolve(projectDir) === PACKAGE_ROOT && import.meta.url.endsWith('.ts');
  const command = ownApp ? 'npm start --' : 'jobline dev';
  const parsed = parseStartArgs(argv);
  if (parsed.kind === 'help') {
    console.log(usage(command));
    process.exit(0);
  }
  if (parsed.kind === 'error') {
    console.error(`jobline: ${parsed.message}\n  see ${command} --help`);
    process.exit(2);
  }
  const options = parsed.options;

  const envFile = loadEnvFile(projectDir, options.envFile);
  const problems = [...(await preflight(options)), ...(envFile.kind === 'problem' ? [envFile.problem] : [])];
  if (problems.length > 0) {
    for (const problem of problems) console.error(formatProblem(problem));
    process.exit(1);
  }

  // The heavy modules (the CDK app, the AWS SDK) load only once the checks have passed.
  const [{ startLocalRuntime }, { ensureAssembly }, { synthesizeApp }, { readStack }, { stackModel }, { jobTypesOf, startLiveView }] = await Promise.all([
    import('./runtime'),
    import('./synth'),
    import('./app-synth'),
    import('./template/cloud-assembly'),
    import('./template/stack-model'),
    import('./live-view'),
  ]);

  // One file per function, named for what it is, a separator line per run (local/function-logs.ts).
  const logs = openFunctionLogs(projectDir);
  const logTo = logs.write;

  console.log('jobline: starting the local stack...');
  // jobline's own app from its sources: synthesized in-process, cdk.out reused when the sources and settings
  // are the same (exactly: one that `cdk synth -c queueOverrides=...` made is not reused). Any other app:
  // its cdk.json app command, as `cdk synth` runs it.
  const { assembly, stack, model } = await (async () => {
    try {
      const assembly = ownApp
        ? await ensureAssembly({ force: options.synth })
        : await synthesizeApp(projectDir, { onOutput: (line) => logTo('synth', line) }).then((made) => ({
            assemblyDir: made.assemblyDir,
            synthesized: true,
            reason: `ran ${made.command}`,
          }));
      console.log(
        assembly.synthesized
          ? `  synthesized: ${options.synth ? '--synth' : assembly.reason}`
          : `  reusing ${path.relative(projectDir, assembly.assemblyDir)} (${assembly.reason})`,
      );
      const stack = readStack(assembly.assemblyDir, options.stack);
      return { assembly, stack, model: stackModel(stack) };
    } catch (error) {
      // The app did not synthesize (e.g. invalid CDK context), or cdk.out has no such stack: what it says is the cause.
      console.error(`jobline: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  })();
  logs.useNames(functionLogNames(stack.template));
  const assemblyName = path.relative(projectDir, assembly.assemblyDir);
  console.log(`  job types, as synthesized in ${assemblyName}/${stack.stackName}.template.json:`);
  const consumers = jobTypeSettings(model);
  for (const line of renderJobTypeSettings(consumers.filter((c) => !c.consumer))) console.log(`  ${line}`);
  const others = consumers.filter((c) => c.consumer);
  if (others.length > 0) {
    console.log('  other queue consumers:');
    for (const line of renderJobTypeSettings(others)) console.log(`  ${line}`);
  }
  const warning = runtimeWarning(model.functions.map((f) => f.runtime));
  if (warning) console.log(`  ${warning}`);
  if (envFile.kind === 'loaded') for (const line of describeEnv(envFile.env)) console.log(`  ${line}`);
  const persistDir = options.persist !== undefined ? path.resolve(projectDir, options.persist) : undefined;

  let runtime: Awaited<ReturnType<typeof startLocalRuntime>>;
  try {
    runtime = await startLocalRuntime({
      assemblyDir: assembly.assemblyDir,
      assemblyChecked: true,
      port: options.port,
      stackName: options.stack,
      ...(options.endpoint ? { endpoint: options.endpoint } : { emulatorPorts: { dynamodb: options.dynamodbPort, sqs: options.sqsPort } }),
      ...(persistDir ? { persistDir } : {}),
      ...(envFile.kind === 'loaded' ? { functionEnvironment: envFile.env.variables } : {}),
      onFunctionLog: logTo,
      ...(options.inspect ? { inspect: options.inspect } : {}),
      // The assembly was checked (and said) above; the runtime's own check of it would only repeat that.
      onEvent: (message) => {
        if (!message.startsWith(`reusing ${assembly.assemblyDir} `)) console.log(`  ${message}`);
      },
    });
  } catch (error) {
    // A port taken between the check and the start (the checks ran a moment ago): the same one-line fix.
    const e = error as NodeJS.ErrnoException & { port?: number };
    const wanted = wantedPorts(options).find((w) => w.port === e.port);
    if (e.code === 'EADDRINUSE' && wanted) {
      const taken = new Set(wantedPorts(options).map((w) => w.port));
      console.error(formatProblem({ cause: `port ${wanted.port} (${wanted.what}) is already in use`, fix: portFix(wanted, await suggestPort(wanted.port, wanted.host, taken)) }));
    } else {
      console.error(`jobline: the local stack did not start: ${e instanceof Error ? e.message : String(e)}`);
    }
    await logs.close();
    process.exit(1);
  }

  const jobTypes = jobTypesOf(runtime);
  // The runtime gives the functions these credentials: the emulators take any, an external endpoint the caller's.
  const embeddedOnly = runtime.embedded.dynamodb && runtime.embedded.sqs;
  const credentials = {
    accessKeyId: embeddedOnly ? 'local' : (process.env.AWS_ACCESS_KEY_ID ?? 'test'),
    secretAccessKey: embeddedOnly ? 'local' : (process.env.AWS_SECRET_ACCESS_KEY ?? 'test'),
  };
  // Where it listens, for the operator's CLI (`jobline jobs ...`, `jobline dlq ...`) and the dashboard: local/runtime-file.ts.
  const runtimeInfo = (dashboardUrl?: string): RuntimeInfo => ({
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    projectDir,
    stackName: stack.stackName,
    apiUrl: runtime.apiUrl,
    region: runtime.region,
    endpoints: runtime.endpoints,
    credentials: embeddedOnly ? credentials : 'environment',
    tables: [...runtime.tables.values()],
    jobTypes: jobTypesOf(runtime),
    logDir: logs.dir,
    ...(dashboardUrl ? { dashboardUrl } : {}),
  });
  // The web dashboard (dashboard/), on this runtime as `jobline dashboard` would show it.
  const { localTarget } = await import('../cli/target');
  const dashboardTarget = localTarget(runtimeInfo());
  const dashboard = options.dashboard === false ? undefined : await startDevDashboard(() => dashboardTarget, options.dashboardPort);

  console.log(`\njobline is running. API: ${runtime.apiUrl}${dashboard ? `  dashboard: ${dashboard.url}` : ''}`);
  if (dashboard?.movedFrom !== undefined) console.log(`  (the dashboard's port ${dashboard.movedFrom} is in use: it listens on ${dashboard.port}; --dashboard-port picks one)`);
  for (const r of runtime.model.routes) {
    const route = routeAsDocumented(r.routeKey);
    console.log(`  ${route.padEnd(24)} ${runtime.apiUrl}${route.split(' ')[1]}`);
  }
  for (const t of jobTypes) console.log(`  ${t.type}: queue ${t.queueUrl}\n  ${' '.repeat(t.type.length)}  DLQ   ${t.dlqUrl}`);
  console.log(`  table: ${[...runtime.tables.values()].join(', ')}`);
  console.log(`  function logs: ${logs.dir}`);
  if (!persistDir || (!runtime.embedded.dynamodb && !runtime.embedded.sqs)) {
    console.log(
      persistDir
        ? `  state: kept by ${options.endpoint ?? 'the endpoints'} (--persist applies to the embedded emulators only)`
        : '  state: jobs live in memory: a restart starts empty (--persist keeps them)',
    );
  } else {
    const where = path.relative(projectDir, persistDir).startsWith('..') ? persistDir : path.relative(projectDir, persistDir) || '.';
    const not = [
      !runtime.embedded.dynamodb ? 'DynamoDB is external' : '',
      !runtime.embedded.sqs ? 'SQS is external' : '',
      runtime.buckets.size > 0 ? 'S3 objects stay in memory' : '',
    ]
      .filter(Boolean)
      .join('; ');
    console.log(`  state: persisted in ${where}: jobs, tables and queued messages survive a restart${not ? ` (${not})` : ''}`);
  }
  console.log(`\nlocal AWS endpoints:`);
  for (const line of renderEndpoints({
    endpoints: runtime.endpoints,
    embedded: runtime.embedded,
    region: runtime.region,
    credentials,
    tables: [...runtime.tables.values()],
    // Every DLQ of the stack: the job types', and the callbacks' (a refused callback is parked there).
    deadLetterQueueUrls: [...new Set(runtime.model.queues.flatMap((q) => (q.redrive ? [q.redrive.deadLetterQueue] : [])))].flatMap((id) => {
      const url = runtime.queues.get(id)?.url;
      return url ? [url] : [];
    }),
    buckets: [...runtime.buckets.values()],
  })) {
    console.log(line);
  }
  const { displacedRuntime, removeRuntimeFile, writeRuntimeFile } = await import('./runtime-file');
  const writeRuntime = () => {
    const info = runtimeInfo(dashboard?.url);
    dashboardTarget.jobTypes = localTarget(info).jobTypes; // job types may have come or gone
    return writeRuntimeFile(projectDir, info);
  };
  const runtimeFile = writeRuntime();
  process.once('exit', () => removeRuntimeFile(projectDir));
  console.log(`  runtime file: ${path.relative(projectDir, runtimeFile)} (the jobline CLI reads it: jobline jobs list, jobline dlq list, ...)`);
  const other = displacedRuntime(projectDir);
  if (other) console.log(`  note: another jobline dev runs here (pid ${other.pid}, ${other.apiUrl}); the CLI talks to this one until it stops, then to that one again`);
  const example = jobTypes.some((t) => t.type === 'transfer')
    ? `/jobs/transfer -H 'content-type: application/json' -d '{"from":"alice","to":"bob","amount":100}'`
    : `/jobs/${jobTypes[0]?.type ?? '<type>'} -H 'content-type: application/json' -d '<payload as JSON>'`;
  console.log(`\n  try: curl -X POST ${runtime.apiUrl}${example}`);
  // Watch mode (the default): a change to the app reloads what it touches; the emulators and their state stay.
  const { printAboveView, startWatch } = await import('./watch');
  const view = printAboveView(process.stdout);
  const watcher =
    options.watch === false
      ? undefined
      : startWatch({
          projectDir,
          ownApp,
          runtime,
          stackName: options.stack,
          say: (line) => view.print(`  ${line}`),
          onSynthOutput: (line) => logTo('synth', line),
          synthLog: logs.fileOf('synth'),
          onReload: (next) => {
            logs.useNames(functionLogNames(next.template));
            writeRuntime(); // job types may have come or gone
          },
        });
  console.log(watcher ? `  watching ${watcher.watching}: a change reloads what it touches (--no-watch: off)` : '  not watching for changes (--no-watch)');
  console.log('  Ctrl-C stops everything.\n');

  const stopView = startLiveView(runtime, view.stream);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    stopView();
    console.log(`\n${signal}: stopping...`);
    await dashboard?.close();
    dashboardTarget.close();
    await watcher?.close();
    removeRuntimeFile(projectDir);
    await runtime.stop();
    await logs.close();
    console.log('jobline: stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * The dashboard beside the API: on --dashboard-port when given (checked free by the preflight), else on 3001 or,
 * when that is taken (another jobline dev, a test), any free port. One that cannot start is said, not fatal.
 */
async function startDevDashboard(target: () => Target, port: number | undefined) {
  const { DEFAULT_DASHBOARD_PORT, startDashboard } = await import('../dashboard/server/server');
  try {
    return await startDashboard({ target, port: port ?? DEFAULT_DASHBOARD_PORT, anyPortIfTaken: port === undefined });
  } catch (error) {
    console.error(`jobline: the dashboard did not start (${error instanceof Error ? error.message : String(error)}); the rest runs without it`);
    return undefined;
  }
}
