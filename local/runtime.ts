/**
 * jobline's Docker-free local runtime: runs the synthesized stack on one machine. It reads cdk.out,
 * starts the embedded emulators (or uses an AWS-compatible endpoint such as LocalStack), creates every
 * table, queue and S3 bucket as the template declares it, runs each function from its bundled asset in Lambda-like
 * execution environments, serves the HTTP API's routes, polls each SQS event source with Lambda's
 * semantics and fires scheduled EventBridge rules (rate expressions). Dev and test only: never deployed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startDynamoDbLocal, type RunningEmulator } from './emulators/dynamodb-local';
import { startS3Emulator, validBucketName } from './emulators/s3';
import { startSqsEmulator } from './emulators/sqs';
import { startGateway, type Gateway } from './gateway';
import { FunctionPool } from './lambda/function-pool';
import { ensureBucket, ensureQueue, ensureTable, type CreatedQueue } from './provision';
import { ScheduledRule, Scheduler } from './scheduler';
import { SqsPoller } from './sqs-poller';
import { ensureAssembly } from './synth';
import { functionCode, readStack } from './template/cloud-assembly';
import { resolveValue, type PhysicalResource, type ResolveScope } from './template/intrinsics';
import { stackModel, type FunctionModel, type QueueModel, type StackModel } from './template/stack-model';
import type { AppOptions } from '../app/app';

export interface LocalRuntimeOptions {
  /** The cloud assembly to run (default: cdk.out, synthesized first when stale). */
  assemblyDir?: string;
  /** Synthesize with these settings first (as `cdk synth -c ...` would), e.g. queueOverrides. */
  appOptions?: AppOptions;
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
  /** Extra environment for every function (e.g. JOBLINE_FAULTS for the chaos suite). */
  functionEnvironment?: Record<string, string>;
  /** Execution environments per API function (Lambda would scale out; locally it is bounded). */
  apiConcurrency?: number;
  /** Seconds between the runs of every scheduled rule, instead of each rule's rate (tests: a few seconds). */
  scheduleIntervalSeconds?: number;
  onFunctionLog?: (functionName: string, line: string) => void;
  onEvent?: (message: string) => void;
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
  stop(): Promise<void>;
}

const ACCOUNT_ID = '000000000000';
// Node 20 here is older than what AWS SDK releases after January 2027 will need; the lock file pins ours,
// so the SDK's warning about it is noise in a local run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const say = options.onEvent ?? (() => {});
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const { assemblyDir, synthesized } = await ensureAssembly({ assemblyDir: options.assemblyDir, appOptions: options.appOptions });
  say(synthesized ? `synthesized the app into ${assemblyDir}` : `reusing ${assemblyDir} (newer than the sources)`);
  const stack = readStack(assemblyDir, options.stackName);
  const model = stackModel(stack);

  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    const external = { dynamodb: options.endpoints?.dynamodb ?? options.endpoint, sqs: options.endpoints?.sqs ?? options.endpoint, s3: options.endpoints?.s3 };
    const wantS3 = model.buckets.length > 0;
    const started = await Promise.allSettled([
      external.dynamodb ? undefined : startDynamoDbLocal({ port: options.emulatorPorts?.dynamodb }),
      external.sqs ? undefined : startSqsEmulator({ region, accountId: ACCOUNT_ID, port: options.emulatorPorts?.sqs }),
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
    for (const table of model.tables) {
      const name = `${prefix}${table.name}`;
      await ensureTable(dynamodb, {
        TableName: name,
        KeySchema: table.keySchema,
        AttributeDefinitions: table.attributeDefinitions,
        TimeToLiveAttribute: table.ttlAttribute,
        GlobalSecondaryIndexes: table.globalSecondaryIndexes,
      });
      tables.set(table.logicalId, name);
      resources.set(table.logicalId, { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${ACCOUNT_ID}:table/${name}` } });
    }
    const queues = await createQueues(sqs, model.queues, prefix);
    for (const [logicalId, q] of queues) resources.set(logicalId, { ref: q.url, attributes: { Arn: q.arn, QueueName: q.name, QueueUrl: q.url } });
    const buckets = new Map<string, string>();
    for (const bucket of model.buckets) {
      const name =
        bucket.bucketName !== undefined ? resolveValue(bucket.bucketName, scope, `${bucket.logicalId} BucketName`) : generatedBucketName(prefix, stack.stackName, bucket.logicalId);
      if (!validBucketName(name)) throw new Error(`bucket ${bucket.logicalId}: ${JSON.stringify(name)} is not a valid S3 bucket name`);
      if (s3Emulator) s3Emulator.createBucket(name, region);
      else await ensureBucket(endpoints.s3!, { Bucket: name, region, credentials });
      buckets.set(bucket.logicalId, name);
      resources.set(bucket.logicalId, { ref: name, attributes: { Arn: `arn:aws:s3:::${name}` } });
    }
    if (buckets.size > 0) say(`buckets: ${[...buckets.values()].join(', ')} (bucket policies, notifications, CORS, lifecycle, versioning... are not applied locally)`);
    for (const fn of [...model.functions, ...model.customResourceHandlers]) {
      const name = `${prefix}${fn.name}`;
      resources.set(fn.logicalId, { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}` } });
    }
    if (model.customResourceHandlers.length > 0)
      say(`note: custom resource handlers run at deploy time, not locally: ${model.customResourceHandlers.map((f) => f.logicalId).join(', ')}`);
    const ruleArn = (name: string) => `arn:aws:events:${region}:${ACCOUNT_ID}:rule/${name}`;
    for (const rule of model.schedules) resources.set(rule.logicalId, { ref: `${prefix}${rule.name}`, attributes: { Arn: ruleArn(`${prefix}${rule.name}`) } });

    const functions = new Map<string, FunctionPool>();
    const environments = new Map<string, Record<string, string>>();
    for (const fn of model.functions) {
      const environment = functionEnvironment(fn, scope, { region, endpoints, credentials, prefix, extra: options.functionEnvironment });
      environments.set(fn.logicalId, environment);
      const sources = model.eventSources.filter((s) => s.functionLogicalId === fn.logicalId);
      const maxEnvironments = sources.length > 0 ? sources.reduce((sum, s) => sum + s.maxConcurrency, 0) : (options.apiConcurrency ?? 8);
      const code = functionCode(stack, fn.logicalId);
      const pool = new FunctionPool(
        { name: `${prefix}${fn.name}`, ...code, timeoutSeconds: fn.timeoutSeconds, memoryMb: fn.memoryMb, environment },
        { maxEnvironments, onLog: options.onFunctionLog },
      );
      functions.set(fn.logicalId, pool);
      stoppers.push(() => pool.stop());
    }

    const routes = model.routes.map((r) => ({
      routeKey: r.routeKey,
      authorizationType: r.authorizationType,
      invoke: (event: unknown) => functions.get(r.functionLogicalId)!.invoke(event),
    }));
    const gateway: Gateway = await startGateway(routes, { port: options.port ?? 3000, host: options.host });
    stoppers.push(() => gateway.close());
    const iamRoutes = model.routes.filter((r) => r.authorizationType === 'AWS_IAM').length;
    if (iamRoutes > 0) {
      say(
        `note: ${iamRoutes} routes require IAM (SigV4) authorization in AWS; locally signatures are not checked: the caller is the access key id of the ` +
          `Authorization header, an unsigned request is the anonymous caller "local" (AWS: 403), a header that is not SigV4 gets 403`,
      );
    }

    const pollers = new Map<string, SqsPoller>();
    for (const source of model.eventSources.filter((s) => s.enabled)) {
      const queue = queues.get(source.queueLogicalId)!;
      const pool = functions.get(source.functionLogicalId)!;
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
        },
        (event) => pool.invoke(event),
        (message) => say(`${queue.name}: ${message}`),
      );
      pollers.set(source.logicalId, poller);
      // Pollers stop first, before the functions and emulators they use.
      stoppers.push(() => poller.stop());
      poller.start();
    }

    const scheduler = new Scheduler();
    const cron = model.schedules.filter((s) => s.enabled && s.rateSeconds === undefined && s.targets.length > 0);
    if (cron.length > 0) say(`note: cron schedules are not run locally (runSchedules() fires them on demand): ${cron.map((s) => `${prefix}${s.name} ${s.expression}`).join(', ')}`);
    for (const rule of model.schedules) {
      const name = `${prefix}${rule.name}`;
      if (rule.unsupportedTargets.length > 0)
        say(`schedule ${name}: targets ${rule.unsupportedTargets.join(', ')} are not run locally (only this stack's functions, with the event or a constant Input)`);
      if (!rule.enabled || rule.targets.length === 0) {
        say(`schedule ${name}: ${rule.expression}, ${rule.enabled ? 'no function targets' : 'DISABLED'}; not run`);
        continue;
      }
      const intervalSeconds = rule.rateSeconds === undefined ? undefined : (options.scheduleIntervalSeconds ?? rule.rateSeconds);
      const targets = rule.targets.map((target) => {
        const pool = functions.get(target.functionLogicalId)!;
        return { id: target.id, functionName: pool.spec.name, ...(target.input !== undefined ? { input: target.input } : {}), invoke: (event: unknown) => pool.invoke(event) };
      });
      scheduler.add(rule.logicalId, new ScheduledRule({ name, arn: ruleArn(name), expression: rule.expression, region, accountId: ACCOUNT_ID, intervalSeconds, targets }, say));
      const every =
        intervalSeconds === undefined ? 'not on a timer' : `every ${intervalSeconds} s${intervalSeconds !== rule.rateSeconds ? ` locally (scheduleIntervalSeconds)` : ''}`;
      say(`schedule ${name}: ${rule.expression}, ${every} → ${targets.map((t) => t.functionName).join(', ')}`);
    }
    // Schedules stop first, before the functions and emulators they use.
    stoppers.push(() => scheduler.stop());
    scheduler.start();

    let stopping: Promise<void> | undefined;
    return {
      apiUrl: gateway.url,
      region,
      endpoints,
      embedded: { dynamodb: !!dynamoEmulator, sqs: !!sqsEmulator, s3: !!s3Emulator },
      model,
      assemblyDir,
      synthesized,
      tables,
      queues,
      buckets,
      functions,
      pollers,
      schedules: scheduler.rules,
      runSchedules: () => scheduler.runAll(),
      environments,
      dynamodb,
      sqs,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Dead-letter queues first, so that every RedrivePolicy can name its target's ARN. */
async function createQueues(sqs: SQSClient, models: readonly QueueModel[], prefix: string): Promise<Map<string, CreatedQueue>> {
  const created = new Map<string, CreatedQueue>();
  const pending = [...models];
  while (pending.length > 0) {
    const ready = pending.filter((q) => !q.redrive || created.has(q.redrive.deadLetterQueue));
    if (ready.length === 0) throw new Error(`queues with unresolvable dead-letter targets: ${pending.map((q) => q.logicalId).join(', ')}`);
    for (const q of ready) {
      const attributes = { ...q.attributes };
      if (q.redrive) attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: created.get(q.redrive.deadLetterQueue)!.arn, maxReceiveCount: q.redrive.maxReceiveCount });
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
    PATH: process.env.PATH ?? '/usr/bin:/bin',
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
