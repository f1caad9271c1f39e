/**
 * jobline's Docker-free local runtime: runs the synthesized stack on one machine. It reads cdk.out,
 * starts the embedded emulators (or uses an AWS-compatible endpoint such as LocalStack), creates every
 * table, queue and S3 bucket as the template declares it, runs each function from its bundled asset in Lambda-like
 * execution environments, serves the HTTP API's routes, polls each SQS event source with Lambda's
 * semantics and fires scheduled EventBridge rules (rate expressions). Dev and test only: never deployed.
 */
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startDynamoDbLocal, type RunningEmulator } from './emulators/dynamodb-local';
import { startS3Emulator, validBucketName } from './emulators/s3';
import { startSqsEmulator } from './emulators/sqs';
import { apiConcurrencyFromEnv, startGateway, type Gateway } from './gateway';
import { lockPersistDir, SQS_STATE_FILE } from './persist';
import { functionLogNames } from './function-logs';
import { checkInspectPorts, inspectArgv, inspectPorts, renderInspect, type InspectOptions } from './inspect';
import { FunctionPool } from './lambda/function-pool';
import { platformLinesAtEnd } from './lambda/platform-lines';
import { ensureBucket, ensureQueue, ensureTable, type CreatedQueue, type TableSpec } from './provision';
import { ScheduledRule, Scheduler } from './scheduler';
import { SqsPoller } from './sqs-poller';
import { ensureAssembly } from './synth';
import { readStack, type StackArtifact } from './template/cloud-assembly';
import { resolveValue, type PhysicalResource, type ResolveScope } from './template/intrinsics';
import { startNotifications, type LocalNotifications } from './notifications';
import { notifyModel } from './template/notify-model';
import { stackModel, type BucketModel, type EventSourceModel, type FunctionModel, type QueueModel, type StackModel, type TableModel } from './template/stack-model';
import { applyStack, codeHash, FunctionSwitch, functionConfig, readFunctionCode, type FunctionCode, type ReloadReport, type RuntimeParts } from './watch-reload';
import type { AppOptions } from '../app/app';

export interface LocalRuntimeOptions {
  /** The cloud assembly to run (default: cdk.out, synthesized first when stale). */
  assemblyDir?: string;
  /** Synthesize with these settings first (as `cdk synth -c ...` would), e.g. queueOverrides. */
  appOptions?: AppOptions;
  /**
   * The caller made or checked `assemblyDir` just now (jobline dev): it runs as it is. (Otherwise another
   * app's cdk.out older than jobline's own sources would be synthesized again as jobline's example app.)
   */
  assemblyChecked?: boolean;
  stackName?: string;
  /** Port of the HTTP API (0: any free port). */
  port?: number;
  host?: string;
  /** One AWS-compatible endpoint for SQS and DynamoDB (e.g. LocalStack's http://localhost:4566). */
  endpoint?: string;
  /**
   * Or one per service; anything not given is embedded. S3 is embedded (local/emulators/s3.ts, started only
   * when the stack has buckets) unless `s3` is given: `endpoint` does not apply to it.
   */
  endpoints?: { dynamodb?: string; sqs?: string; s3?: string };
  /** Ports of the embedded emulators (`npm start`: 8000 and 9324); not given or 0: any free port. */
  emulatorPorts?: { dynamodb?: number; sqs?: number; s3?: number };
  /**
   * Prefix of every queue and table name, so runs that share an endpoint do not collide; also of the bucket
   * names generated for buckets without a BucketName (a BucketName is taken as it is).
   */
  namePrefix?: string;
  region?: string;
  /**
   * Keep the embedded emulators' state in this directory across runs (`jobline dev --persist`): DynamoDB
   * Local's tables (-dbPath) and the SQS emulator's queues and messages (sqs.json, local/persist.ts); it is
   * locked while the runtime runs. Absent: in memory. The S3 emulator stays in memory; an external endpoint
   * keeps its own state.
   */
  persistDir?: string;
  /** Extra environment for every function (e.g. JOBLINE_FAULTS for the chaos suite, a .env file's variables). */
  functionEnvironment?: Record<string, string>;
  /** Execution environments per API function (Lambda would scale out; locally it is bounded): default JOBLINE_API_CONCURRENCY or 8. */
  apiConcurrency?: number;
  /** Seconds between the runs of every scheduled rule, instead of each rule's rate (tests: a few seconds). */
  scheduleIntervalSeconds?: number;
  onFunctionLog?: (functionName: string, line: string) => void;
  onEvent?: (message: string) => void;
  /**
   * Where every event put on an EventBridge bus of the stack is appended, one JSON line per event
   * (default JOBLINE_EVENTS_FILE, else .jobline/events.jsonl in the working directory).
   */
  eventsFile?: string;
  /** Start each function's environment with a debugger (`jobline dev --inspect`; local/inspect.ts): one environment per function. */
  inspect?: InspectOptions;
}

export interface LocalRuntime {
  apiUrl: string;
  region: string;
  /** s3: only when the stack has buckets. */
  endpoints: { dynamodb: string; sqs: string; s3?: string };
  embedded: { dynamodb: boolean; sqs: boolean; s3: boolean };
  model: StackModel;
  assemblyDir: string;
  synthesized: boolean;
  tables: Map<string, string>;
  queues: Map<string, CreatedQueue>;
  /** Each bucket's name, by logical id (what Ref gives; Fn::GetAtt Arn is arn:aws:s3:::<name>). */
  buckets: Map<string, string>;
  functions: Map<string, FunctionPool>;
  pollers: Map<string, SqsPoller>;
  /** The scheduled rules that run locally (enabled, with function targets), by logical id. */
  schedules: Map<string, ScheduledRule>;
  /** Fires every scheduled rule once now and resolves when all their targets have answered. */
  runSchedules(): Promise<void>;
  /** Each function's environment, resolved (what the function sees). */
  environments: Map<string, Record<string, string>>;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  /** What each function runs now (watch mode replaces it). */
  code: Map<string, FunctionCode>;
  /**
   * Watch mode: runs `stack` (a new synthesis of the running stack) in its place, changing only what differs
   * (local/watch-reload.ts applyStack); the emulators and their state stay. One reload at a time; undefined
   * when `isCurrent` said, once its turn came, that `stack` is no longer the latest.
   */
  reload(stack: StackArtifact, options?: { isCurrent?: () => boolean }): Promise<ReloadReport | undefined>;
  /**
   * Watch mode: new bundles for these functions (a handler edit), same configuration. Returns the logical ids
   * of the functions replaced (those whose bundle differed from what ran).
   */
  replaceFunctionCode(updates: readonly { logicalId: string; codeDir: string; file: string; hash?: string }[]): Promise<string[]>;
  /** Streams, event buses and rules, secrets (local/notifications.ts): endpoints, events file, stream pollers. */
  notifications: LocalNotifications;
  stop(): Promise<void>;
}

const ACCOUNT_ID = '000000000000';
// Node 20 here is older than what AWS SDK releases after January 2027 will need; the lock file pins ours,
// so the SDK's warning about it is noise in a local run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const say = options.onEvent ?? (() => {});
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const { assemblyDir, synthesized } =
    options.assemblyChecked && options.assemblyDir
      ? { assemblyDir: options.assemblyDir, synthesized: false }
      : await ensureAssembly({ assemblyDir: options.assemblyDir, appOptions: options.appOptions });
  if (!options.assemblyChecked) say(synthesized ? `synthesized the app into ${assemblyDir}` : `reusing ${assemblyDir} (newer than the sources)`);
  const stack = readStack(assemblyDir, options.stackName);
  const model = stackModel(stack);
  const notify = notifyModel(stack);

  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    const external = { dynamodb: options.endpoints?.dynamodb ?? options.endpoint, sqs: options.endpoints?.sqs ?? options.endpoint, s3: options.endpoints?.s3 };
    const wantS3 = model.buckets.length > 0;
    const persistDir = options.persistDir && (!external.dynamodb || !external.sqs) ? path.resolve(options.persistDir) : undefined;
    if (persistDir) {
      const release = lockPersistDir(persistDir);
      stoppers.push(() => Promise.resolve(release()));
    }
    const started = await Promise.allSettled([
      external.dynamodb ? undefined : startDynamoDbLocal({ port: options.emulatorPorts?.dynamodb, ...(persistDir ? { dbPath: persistDir } : {}) }),
      external.sqs
        ? undefined
        : startSqsEmulator({ region, accountId: ACCOUNT_ID, port: options.emulatorPorts?.sqs, ...(persistDir ? { persistFile: path.join(persistDir, SQS_STATE_FILE) } : {}) }),
      !wantS3 || external.s3 ? undefined : startS3Emulator({ region, port: options.emulatorPorts?.s3 }),
    ]);
    // One that started is stopped even when the other failed (e.g. its port was taken).
    for (const result of started as PromiseSettledResult<RunningEmulator | undefined>[])
      if (result.status === 'fulfilled' && result.value) stoppers.push(() => result.value!.stop());
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [dynamoEmulator, sqsEmulator] = [started[0].status === 'fulfilled' ? started[0].value : undefined, started[1].status === 'fulfilled' ? started[1].value : undefined];
    const s3Emulator = started[2].status === 'fulfilled' ? started[2].value : undefined;
    const endpoints: LocalRuntime['endpoints'] = {
      dynamodb: external.dynamodb ?? dynamoEmulator!.endpoint,
      sqs: external.sqs ?? sqsEmulator!.endpoint,
      ...(wantS3 ? { s3: external.s3 ?? s3Emulator!.endpoint } : {}),
    };
    say(`DynamoDB: ${endpoints.dynamodb}${dynamoEmulator ? ' (DynamoDB Local, embedded)' : ''}; SQS: ${endpoints.sqs}${sqsEmulator ? ' (local-aws-sqs, embedded)' : ''}`);
    if (endpoints.s3) say(`S3: ${endpoints.s3}${s3Emulator ? ' (jobline S3 emulator, embedded, in memory)' : ''}`);
    if (persistDir) {
      const kept = [dynamoEmulator ? "DynamoDB Local's tables" : undefined, sqsEmulator ? "the SQS emulator's queues and messages" : undefined].filter(Boolean).join(' and ');
      const restored = sqsEmulator?.restored;
      say(
        `persisting ${kept} in ${persistDir}` +
          (restored
            ? ` (restored ${restored.queues} queue${restored.queues === 1 ? '' : 's'} with ${restored.messages} message${restored.messages === 1 ? '' : 's'} from ${SQS_STATE_FILE})`
            : sqsEmulator
              ? ` (no ${SQS_STATE_FILE} yet: starting empty)`
              : ''),
      );
    }

    // The emulators take any credentials; an external endpoint gets the caller's (LocalStack: test/test).
    const embeddedOnly = dynamoEmulator && sqsEmulator && !external.s3;
    const credentials = {
      accessKeyId: embeddedOnly ? 'local' : (process.env.AWS_ACCESS_KEY_ID ?? 'test'),
      secretAccessKey: embeddedOnly ? 'local' : (process.env.AWS_SECRET_ACCESS_KEY ?? 'test'),
    };
    const dynamodb = new DynamoDBClient({ region, endpoint: endpoints.dynamodb, credentials });
    const sqs = new SQSClient({ region, endpoint: endpoints.sqs, credentials });
    stoppers.push(() => {
      dynamodb.destroy();
      sqs.destroy();
      return Promise.resolve();
    });

    const prefix = options.namePrefix ?? '';
    const resources = new Map<string, PhysicalResource>();
    const scope: ResolveScope = { resources, region, accountId: ACCOUNT_ID };
    const tables = new Map<string, string>();
    // Each provisioning step is a function of its own: watch mode's reloads run them again for what is new.
    const streamArns = new Map<string, string>();
    const provisionTable = async (table: TableModel) => {
      const name = `${prefix}${table.name}`;
      const streamView = notify.tableStreams.get(table.logicalId) as TableSpec['StreamViewType'] | undefined;
      const { streamArn } = await ensureTable(dynamodb, {
        ...(streamView ? { StreamViewType: streamView } : {}),
        TableName: name,
        KeySchema: table.keySchema,
        AttributeDefinitions: table.attributeDefinitions,
        TimeToLiveAttribute: table.ttlAttribute,
        GlobalSecondaryIndexes: table.globalSecondaryIndexes,
      });
      tables.set(table.logicalId, name);
      if (streamArn) streamArns.set(table.logicalId, streamArn);
      resources.set(table.logicalId, { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${ACCOUNT_ID}:table/${name}`, ...(streamArn ? { StreamArn: streamArn } : {}) } });
    };
    for (const table of model.tables) await provisionTable(table);
    const queues = new Map<string, CreatedQueue>();
    const provisionQueues = async (models: readonly QueueModel[]) => {
      for (const [logicalId, q] of await createQueues(sqs, models, prefix, queues)) {
        queues.set(logicalId, q);
        resources.set(logicalId, { ref: q.url, attributes: { Arn: q.arn, QueueName: q.name, QueueUrl: q.url } });
      }
    };
    await provisionQueues(model.queues);
    const notifications = await startNotifications({
      model: notify,
      prefix,
      region,
      accountId: ACCOUNT_ID,
      resources,
      queues,
      sqs,
      ...(options.eventsFile ? { eventsFile: options.eventsFile } : {}),
      ...(persistDir ? { persistDir } : {}),
      invoke: (logicalId, event) => functions.invoke(logicalId, event),
      say,
    });
    stoppers.push(() => notifications.stop());
    const buckets = new Map<string, string>();
    const provisionBucket = async (bucket: BucketModel, of: StackArtifact) => {
      const name =
        bucket.bucketName !== undefined ? resolveValue(bucket.bucketName, scope, `${bucket.logicalId} BucketName`) : generatedBucketName(prefix, of.stackName, bucket.logicalId);
      if (!validBucketName(name)) throw new Error(`bucket ${bucket.logicalId}: ${JSON.stringify(name)} is not a valid S3 bucket name`);
      if (s3Emulator) s3Emulator.createBucket(name, region);
      else if (endpoints.s3) await ensureBucket(endpoints.s3, { Bucket: name, region, credentials });
      else throw new Error(`bucket ${name}: the stack had no bucket when it started, so no S3 emulator runs; restart jobline dev`);
      buckets.set(bucket.logicalId, name);
      resources.set(bucket.logicalId, { ref: name, attributes: { Arn: `arn:aws:s3:::${name}` } });
    };
    for (const bucket of model.buckets) await provisionBucket(bucket, stack);
    if (buckets.size > 0) say(`buckets: ${[...buckets.values()].join(', ')} (bucket policies, notifications, CORS, lifecycle, versioning... are not applied locally)`);
    const ruleArn = (name: string) => `arn:aws:events:${region}:${ACCOUNT_ID}:rule/${name}`;
    const nameResources = (m: StackModel) => {
      for (const fn of [...m.functions, ...m.customResourceHandlers]) {
        const name = `${prefix}${fn.name}`;
        resources.set(fn.logicalId, { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}` } });
      }
      for (const rule of m.schedules) resources.set(rule.logicalId, { ref: `${prefix}${rule.name}`, attributes: { Arn: ruleArn(`${prefix}${rule.name}`) } });
    };
    nameResources(model);
    if (model.customResourceHandlers.length > 0)
      say(`note: custom resource handlers run at deploy time, not locally: ${model.customResourceHandlers.map((f) => f.logicalId).join(', ')}`);

    // Every invocation goes through the switch, so that watch mode can put new environments in place.
    const functions = new FunctionSwitch();
    const code = new Map<string, FunctionCode>();
    const environments = new Map<string, Record<string, string>>();
    let stopping: Promise<void> | undefined;
    const debugPorts = options.inspect
      ? inspectPorts(
          model.functions.map((fn) => `${prefix}${fn.name}`),
          options.inspect,
        )
      : undefined;
    if (debugPorts && options.inspect) {
      await checkInspectPorts(debugPorts, options.inspect);
      const names = functionLogNames(stack.template, prefix);
      for (const line of renderInspect(debugPorts, options.inspect, (name) => names.get(name) ?? name)) say(line);
    }
    const apiConcurrency = options.apiConcurrency ?? apiConcurrencyFromEnv();
    const environmentOf = (fn: FunctionModel) =>
      functionEnvironment(fn, scope, { region, endpoints, credentials, prefix, extra: { ...notifications.environment, ...options.functionEnvironment } });
    const deployFunction = (fn: FunctionModel, m: StackModel, fnCode: FunctionCode, environment: Record<string, string>) => {
      // A reload that ends after stop() began must not start what nothing would stop.
      if (stopping) throw new Error('the local runtime is stopping');
      const { maxEnvironments } = functionConfig(fn, m, environment, apiConcurrency);
      const debugPort = debugPorts?.get(`${prefix}${fn.name}`);
      const pool = new FunctionPool(
        {
          name: `${prefix}${fn.name}`,
          file: fnCode.file,
          exportName: fnCode.exportName,
          codeDir: fnCode.codeDir,
          timeoutSeconds: fn.timeoutSeconds,
          memoryMb: fn.memoryMb,
          environment,
        },
        {
          maxEnvironments: debugPort === undefined ? maxEnvironments : 1,
          onLog: options.onFunctionLog,
          ...(debugPort !== undefined && options.inspect ? { execArgv: inspectArgv(options.inspect, debugPort) } : {}),
          // Lambda's END and REPORT lines for an environment killed mid-invocation (a timeout): it cannot write them.
          onInvocationEnd: (end) => {
            for (const line of platformLinesAtEnd(end, fn)) options.onFunctionLog?.(`${prefix}${fn.name}`, line);
          },
        },
      );
      functions.set(fn.logicalId, pool);
      code.set(fn.logicalId, fnCode);
      environments.set(fn.logicalId, environment);
    };
    for (const fn of model.functions) deployFunction(fn, model, readFunctionCode(stack, fn.logicalId), environmentOf(fn));
    stoppers.push(() => functions.stop());

    const routesOf = (m: StackModel) =>
      m.routes.map((r) => ({
        routeKey: r.routeKey,
        authorizationType: r.authorizationType,
        integrationTimeoutMs: r.integrationTimeoutMs,
        invoke: (event: unknown) => functions.invoke(r.functionLogicalId, event),
      }));
    let gateway: Gateway = await startGateway(routesOf(model), { port: options.port ?? 3000, host: options.host });
    stoppers.push(() => gateway.close());
    const iamRoutes = model.routes.filter((r) => r.authorizationType === 'AWS_IAM').length;
    if (iamRoutes > 0) {
      say(
        `note: ${iamRoutes} routes require IAM (SigV4) authorization in AWS; locally signatures are not checked: the caller is the access key id of the ` +
          `Authorization header, an unsigned request is the anonymous caller "local" (AWS: 403), a header that is not SigV4 gets 403`,
      );
    }

    const pollers = new Map<string, SqsPoller>();
    const sources = new Map<string, EventSourceModel>();
    const startPoller = (source: EventSourceModel) => {
      const queue = queues.get(source.queueLogicalId)!;
      const poller = new SqsPoller(
        sqs,
        {
          queueUrl: queue.url,
          queueArn: queue.arn,
          region,
          batchSize: source.batchSize,
          batchingWindowSeconds: source.batchingWindowSeconds,
          maxConcurrency: source.maxConcurrency,
          reportBatchItemFailures: source.reportBatchItemFailures,
          filters: source.filters,
        },
        (event) => functions.invoke(source.functionLogicalId, event),
        (message) => say(`${queue.name}: ${message}`),
      );
      pollers.set(source.logicalId, poller);
      sources.set(source.logicalId, source);
      poller.start();
    };
    for (const source of model.eventSources.filter((s) => s.enabled)) startPoller(source);
    notifications.startStreamPollers({
      dynamodbEndpoint: endpoints.dynamodb,
      credentials,
      streamArns,
      invoke: (logicalId, event) => functions.invoke(logicalId, event),
      functionArn: (logicalId) => resources.get(logicalId)?.attributes.Arn ?? logicalId,
    });
    // Stream pollers stop before the functions they invoke (the rest of the notifications after them).
    stoppers.push(() => Promise.all([...notifications.streamPollers.values()].map((poller) => poller.stop())).then(() => {}));
    // Pollers stop first, before the functions and emulators they use.
    stoppers.push(() => Promise.all([...pollers.values()].map((poller) => poller.stop())).then(() => {}));

    const startScheduler = (m: StackModel) => {
      const scheduler = new Scheduler();
      const cron = m.schedules.filter((s) => s.enabled && s.rateSeconds === undefined && s.targets.length > 0);
      if (cron.length > 0)
        say(`note: cron schedules are not run locally (runSchedules() fires them on demand): ${cron.map((s) => `${prefix}${s.name} ${s.expression}`).join(', ')}`);
      for (const rule of m.schedules) {
        const name = `${prefix}${rule.name}`;
        if (rule.unsupportedTargets.length > 0)
          say(`schedule ${name}: targets ${rule.unsupportedTargets.join(', ')} are not run locally (only this stack's functions, with the event or a constant Input)`);
        if (!rule.enabled || rule.targets.length === 0) {
          say(`schedule ${name}: ${rule.expression}, ${rule.enabled ? 'no function targets' : 'DISABLED'}; not run`);
          continue;
        }
        const intervalSeconds = rule.rateSeconds === undefined ? undefined : (options.scheduleIntervalSeconds ?? rule.rateSeconds);
        const targets = rule.targets.map((target) => ({
          id: target.id,
          functionName: functions.pools.get(target.functionLogicalId)!.spec.name,
          ...(target.input !== undefined ? { input: target.input } : {}),
          invoke: (event: unknown) => functions.invoke(target.functionLogicalId, event),
        }));
        scheduler.add(rule.logicalId, new ScheduledRule({ name, arn: ruleArn(name), expression: rule.expression, region, accountId: ACCOUNT_ID, intervalSeconds, targets }, say));
        const every =
          intervalSeconds === undefined ? 'not on a timer' : `every ${intervalSeconds} s${intervalSeconds !== rule.rateSeconds ? ` locally (scheduleIntervalSeconds)` : ''}`;
        say(`schedule ${name}: ${rule.expression}, ${every} → ${targets.map((t) => t.functionName).join(', ')}`);
      }
      scheduler.start();
      return scheduler;
    };
    let scheduler = startScheduler(model);
    // Schedules stop first, before the functions and emulators they use.
    stoppers.push(() => scheduler.stop());

    // What watch mode's reloads change (local/watch-reload.ts); the accessors keep this function's variables current.
    let [current, currentModel] = [stack, model];
    const parts: RuntimeParts = {
      prefix,
      get stack() {
        return current;
      },
      set stack(next) {
        current = next;
      },
      get model() {
        return currentModel;
      },
      set model(next) {
        currentModel = next;
      },
      resources,
      tables,
      queues,
      buckets,
      functions,
      code,
      environments,
      pollers,
      sources,
      dynamodb,
      sqs,
      get scheduler() {
        return scheduler;
      },
      set scheduler(next) {
        scheduler = next;
      },
      get gateway() {
        return gateway;
      },
      set gateway(next) {
        gateway = next;
      },
      provisionTable,
      provisionQueues,
      provisionBucket,
      nameResources,
      functionEnvironment: environmentOf,
      deployFunction,
      startPoller,
      startScheduler,
      startGateway: (m, port) => startGateway(routesOf(m), { port, host: options.host }),
    };
    // One reload at a time, and none once stop() began.
    let reloading: Promise<unknown> = Promise.resolve();
    const serially = <T>(task: () => Promise<T>): Promise<T> => {
      const run = reloading.then(() => {
        if (stopping) throw new Error('the local runtime is stopping');
        return task();
      });
      reloading = run.catch(() => {});
      return run;
    };

    return {
      apiUrl: gateway.url,
      region,
      endpoints,
      embedded: { dynamodb: !!dynamoEmulator, sqs: !!sqsEmulator, s3: !!s3Emulator },
      get model() {
        return currentModel;
      },
      get assemblyDir() {
        return current.assemblyDir;
      },
      synthesized,
      tables,
      queues,
      buckets,
      functions: functions.pools,
      pollers,
      get schedules() {
        return scheduler.rules;
      },
      runSchedules: () => scheduler.runAll(),
      environments,
      dynamodb,
      sqs,
      code,
      notifications,
      reload: (next, reloadOptions) => serially(() => (reloadOptions?.isCurrent?.() === false ? Promise.resolve(undefined) : applyStack(parts, next, apiConcurrency))),
      replaceFunctionCode: (updates) =>
        serially(() => {
          const replaced: string[] = [];
          for (const update of updates) {
            const fn = currentModel.functions.find((f) => f.logicalId === update.logicalId);
            const running = code.get(update.logicalId);
            if (!fn || !running) continue;
            const fnCode = { file: update.file, codeDir: update.codeDir, exportName: running.exportName, hash: update.hash ?? codeHash(update.codeDir) };
            if (fnCode.hash === running.hash) continue;
            deployFunction(fn, currentModel, fnCode, environments.get(update.logicalId)!);
            replaced.push(update.logicalId);
          }
          return Promise.resolve(replaced);
        }),
      stop: () => (stopping ??= reloading.then(stopAll)),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Dead-letter queues first, so that every RedrivePolicy can name its target's ARN (one of these, or of `known`). */
async function createQueues(
  sqs: SQSClient,
  models: readonly QueueModel[],
  prefix: string,
  known: ReadonlyMap<string, CreatedQueue> = new Map(),
): Promise<Map<string, CreatedQueue>> {
  const created = new Map<string, CreatedQueue>();
  const target = (logicalId: string) => created.get(logicalId) ?? known.get(logicalId);
  const pending = [...models];
  while (pending.length > 0) {
    const ready = pending.filter((q) => !q.redrive || target(q.redrive.deadLetterQueue));
    if (ready.length === 0) throw new Error(`queues with unresolvable dead-letter targets: ${pending.map((q) => q.logicalId).join(', ')}`);
    for (const q of ready) {
      const attributes = { ...q.attributes };
      if (q.redrive) attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: target(q.redrive.deadLetterQueue)!.arn, maxReceiveCount: q.redrive.maxReceiveCount });
      created.set(q.logicalId, await ensureQueue(sqs, { QueueName: `${prefix}${q.name}`, Attributes: attributes }));
      pending.splice(pending.indexOf(q), 1);
    }
  }
  return created;
}

/**
 * The name CloudFormation would generate for a bucket without a BucketName (<stack>-<logical id>-<random>,
 * lower case), without the random part and with the run's prefix; made valid as a bucket name.
 */
export function generatedBucketName(prefix: string, stackName: string, logicalId: string): string {
  const name = `${prefix}${stackName}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[^a-z0-9]+$/, '');
  return name.length >= 3 ? name : `${name}-bucket`.replace(/^-/, '');
}

/** What Lambda gives a function: its template environment (resolved) plus Lambda's own variables. */
function functionEnvironment(
  fn: FunctionModel,
  scope: ResolveScope,
  context: {
    region: string;
    endpoints: { dynamodb: string; sqs: string; s3?: string };
    credentials: { accessKeyId: string; secretAccessKey: string };
    prefix: string;
    extra?: Record<string, string>;
  },
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) environment[name] = resolveValue(value, scope, `${fn.logicalId} environment ${name}`);
  return {
    ...environment,
    AWS_REGION: context.region,
    AWS_DEFAULT_REGION: context.region,
    AWS_LAMBDA_FUNCTION_NAME: `${context.prefix}${fn.name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_ACCESS_KEY_ID: context.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: context.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: context.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: context.endpoints.sqs,
    // An IP endpoint, so the S3 SDK addresses it path-style (http://127.0.0.1:<port>/<bucket>/<key>) without forcePathStyle.
    ...(context.endpoints.s3 ? { AWS_ENDPOINT_URL_S3: context.endpoints.s3 } : {}),
    JOBLINE_LOCAL_RUNTIME: '1',
    // This machine's Node 20 is older than what SDK releases after January 2027 need; the lock file pins ours.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...context.extra,
  };
}
