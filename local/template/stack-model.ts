/**
 * The parts of a synthesized stack the local runtime runs: tables (with their global secondary indexes),
 * queues, S3 buckets, functions, SQS event source mappings, HTTP routes and scheduled EventBridge rules, read
 * from the template as CloudFormation declares them.
 */
import { parseFilterCriteria, type FilterPattern } from '../lambda/sqs-event';
import { resourcesOfType, type StackArtifact } from './cloud-assembly';

export interface TableModel {
  logicalId: string;
  name: string;
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  ttlAttribute?: string;
  /** As CreateTable takes them (the table is PAY_PER_REQUEST, so without ProvisionedThroughput). */
  globalSecondaryIndexes: GlobalSecondaryIndexModel[];
}

export interface GlobalSecondaryIndexModel {
  IndexName: string;
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  Projection: { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
}

export interface QueueModel {
  logicalId: string;
  name: string;
  fifo: boolean;
  /** SQS attributes as CreateQueue takes them, except RedrivePolicy. */
  attributes: Record<string, string>;
  redrive?: { deadLetterQueue: string; maxReceiveCount: number };
}

/** An AWS::S3::Bucket. Only the bucket itself: its policy, notifications, CORS, lifecycle... are not modelled. */
export interface BucketModel {
  logicalId: string;
  /** BucketName as the template gives it (a string, or an intrinsic such as a Fn::Join with AWS::AccountId); none: CloudFormation generates one. */
  bucketName?: unknown;
}

export interface FunctionModel {
  logicalId: string;
  name: string;
  timeoutSeconds: number;
  memoryMb: number;
  runtime: string;
  environment: Record<string, unknown>;
}

export interface EventSourceModel {
  logicalId: string;
  functionLogicalId: string;
  queueLogicalId: string;
  batchSize: number;
  batchingWindowSeconds: number;
  /**
   * Batches in flight at most: ScalingConfig.MaximumConcurrency, or Lambda's default of 1,250. For a FIFO
   * queue Lambda also never has two batches of one message group in flight, so it scales with the number of
   * active groups (the queue's group lock sees to that: emulators/sqs.ts).
   */
  maxConcurrency: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
  /** FilterCriteria's patterns (none: every record is sent); records that match none are deleted. */
  filters: FilterPattern[];
}

export interface RouteModel {
  routeKey: string;
  functionLogicalId: string;
  authorizationType: string;
  /** The integration's TimeoutInMillis: 30,000 (HTTP API's maximum and default) unless the template says less. */
  integrationTimeoutMs: number;
}

/**
 * Lambda's default limit of concurrent batches for an SQS event source without a MaximumConcurrency; for FIFO
 * queues the number of active message groups bounds it too.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 */
export const SQS_DEFAULT_MAX_CONCURRENCY = 1250;
/** HTTP API's integration timeout (and its maximum): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html */
export const HTTP_API_INTEGRATION_TIMEOUT_MS = 30_000;

export interface ScheduleTargetModel {
  /** The target's Id in the rule. */
  id: string;
  functionLogicalId: string;
  /** A constant Input (JSON text): EventBridge sends it instead of the event. */
  input?: string;
}

/** An AWS::Events::Rule with a ScheduleExpression. */
export interface ScheduleModel {
  logicalId: string;
  /** The rule's Name, or its logical id when CloudFormation would generate one. */
  name: string;
  /** As in the template: rate(1 minute), rate(5 minutes), cron(0 12 * * ? *) ... */
  expression: string;
  /** The period of a rate expression; undefined for cron expressions. */
  rateSeconds: number | undefined;
  enabled: boolean;
  functionLogicalIds: string[];
  targets: ScheduleTargetModel[];
  /** Ids of targets that are not functions of this stack, or whose input the local runtime cannot build. */
  unsupportedTargets: string[];
}

export interface StackModel {
  tables: TableModel[];
  queues: QueueModel[];
  buckets: BucketModel[];
  functions: FunctionModel[];
  /**
   * Functions that only handle CloudFormation custom resources (their ServiceToken), such as CDK's
   * autoDeleteObjects and bucket notifications handlers: they run at deploy time, so not locally. Not in `functions`.
   */
  customResourceHandlers: FunctionModel[];
  eventSources: EventSourceModel[];
  routes: RouteModel[];
  schedules: ScheduleModel[];
}

const RATE_UNITS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };

/**
 * The period of an EventBridge rate expression, in seconds: rate(1 minute), rate(5 minutes), rate(1 hour),
 * rate(2 days)... As EventBridge requires, the value is a positive integer, the unit singular for 1 and
 * plural otherwise. Undefined for anything else (cron expressions).
 */
export function rateSeconds(expression: string): number | undefined {
  const match = /^rate\(\s*(\d+)\s+(minute|hour|day)(s?)\s*\)$/.exec(expression.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  if (value < 1 || (value === 1) !== (match[3] === '')) return undefined;
  return value * RATE_UNITS[match[2]!]!;
}

/** The logical id an intrinsic refers to ({Ref: X} or {Fn::GetAtt: [X, ...]}). */
function referencedId(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  const join = v['Fn::Join'];
  if (Array.isArray(join))
    for (const part of join[1] as unknown[]) {
      const id = referencedId(part);
      if (id) return id;
    }
  return undefined;
}

const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'MaximumMessageSize',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'SqsManagedSseEnabled',
];

export function stackModel(stack: StackArtifact): StackModel {
  const t = stack.template;
  const tables: TableModel[] = resourcesOfType(t, 'AWS::DynamoDB::Table').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    return {
      logicalId,
      name: typeof p.TableName === 'string' ? p.TableName : logicalId,
      keySchema: p.KeySchema as TableModel['keySchema'],
      attributeDefinitions: p.AttributeDefinitions as TableModel['attributeDefinitions'],
      ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
      globalSecondaryIndexes: ((p.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[]).map((index) => {
        const projection = (index.Projection ?? {}) as { ProjectionType?: string; NonKeyAttributes?: string[] };
        const projectionType = (projection.ProjectionType ?? 'KEYS_ONLY') as GlobalSecondaryIndexModel['Projection']['ProjectionType'];
        return {
          IndexName: String(index.IndexName),
          KeySchema: index.KeySchema as GlobalSecondaryIndexModel['KeySchema'],
          Projection: { ProjectionType: projectionType, ...(projectionType === 'INCLUDE' ? { NonKeyAttributes: projection.NonKeyAttributes ?? [] } : {}) },
        };
      }),
    };
  });

  const queues: QueueModel[] = resourcesOfType(t, 'AWS::SQS::Queue').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const attributes: Record<string, string> = {};
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of the untyped template (string, number or boolean), as CloudFormation passes it on
    for (const name of QUEUE_ATTRIBUTES) if (p[name] !== undefined) attributes[name] = String(p[name]);
    const redrive = p.RedrivePolicy as { deadLetterTargetArn?: unknown; maxReceiveCount?: number } | undefined;
    const deadLetterQueue = referencedId(redrive?.deadLetterTargetArn);
    return {
      logicalId,
      name: typeof p.QueueName === 'string' ? p.QueueName : `${logicalId}${fifo ? '.fifo' : ''}`,
      fifo,
      attributes,
      ...(deadLetterQueue ? { redrive: { deadLetterQueue, maxReceiveCount: Number(redrive?.maxReceiveCount ?? 1) } } : {}),
    };
  });

  const buckets: BucketModel[] = resourcesOfType(t, 'AWS::S3::Bucket').map(([logicalId, r]) => ({
    logicalId,
    ...(r.Properties?.BucketName !== undefined ? { bucketName: r.Properties.BucketName } : {}),
  }));

  const functions: FunctionModel[] = resourcesOfType(t, 'AWS::Lambda::Function').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    return {
      logicalId,
      name: typeof p.FunctionName === 'string' ? p.FunctionName : logicalId,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of the untyped template (string, number or boolean), as CloudFormation passes it on
      runtime: String(p.Runtime ?? 'nodejs'),
      environment: (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
    };
  });

  const eventSources: EventSourceModel[] = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping').flatMap(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const queueLogicalId = referencedId(p.EventSourceArn);
    const functionLogicalId = referencedId(p.FunctionName);
    if (!queueLogicalId || !functionLogicalId || !queues.some((q) => q.logicalId === queueLogicalId)) return [];
    return [
      {
        logicalId,
        functionLogicalId,
        queueLogicalId,
        batchSize: Number(p.BatchSize ?? 10),
        batchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        // Without a maximum, Lambda scales an SQS source up to 1,250 concurrent batches; FIFO or not (a FIFO
        // queue is bounded by its active message groups as well, one batch in flight per group).
        maxConcurrency: Number((p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? SQS_DEFAULT_MAX_CONCURRENCY),
        reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
        enabled: p.Enabled !== false,
        filters: parseFilterCriteria(p.FilterCriteria, `event source ${logicalId}`),
      },
    ];
  });

  const integrations = new Map<string, { fn: string; timeoutMs: number }>();
  for (const [logicalId, r] of resourcesOfType(t, 'AWS::ApiGatewayV2::Integration')) {
    const fn = referencedId(r.Properties?.IntegrationUri);
    const timeout = Number(r.Properties?.TimeoutInMillis);
    const timeoutMs = Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, HTTP_API_INTEGRATION_TIMEOUT_MS) : HTTP_API_INTEGRATION_TIMEOUT_MS;
    if (fn) integrations.set(logicalId, { fn, timeoutMs });
  }
  const routes: RouteModel[] = resourcesOfType(t, 'AWS::ApiGatewayV2::Route').flatMap(([, r]) => {
    const p = r.Properties ?? {};
    const integration = referencedId(p.Target);
    const target = integration ? integrations.get(integration) : undefined;
    return target
      ? // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of the untyped template (string, number or boolean), as CloudFormation passes it on
        [{ routeKey: String(p.RouteKey), functionLogicalId: target.fn, authorizationType: String(p.AuthorizationType ?? 'NONE'), integrationTimeoutMs: target.timeoutMs }]
      : [];
  });

  const functionIds = new Set(functions.map((f) => f.logicalId));
  const schedules: ScheduleModel[] = resourcesOfType(t, 'AWS::Events::Rule').flatMap(([logicalId, r]) => {
    const p = r.Properties ?? {};
    if (typeof p.ScheduleExpression !== 'string') return [];
    const expression = p.ScheduleExpression.trim();
    const rate = rateSeconds(expression);
    if (rate === undefined && !/^cron\(.+\)$/.test(expression)) throw new Error(`rule ${logicalId}: invalid ScheduleExpression ${JSON.stringify(expression)}`);
    const targets: ScheduleTargetModel[] = [];
    const unsupportedTargets: string[] = [];
    for (const target of (p.Targets ?? []) as Record<string, unknown>[]) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of the untyped template (string, number or boolean), as CloudFormation passes it on
      const id = String(target.Id ?? '');
      const fn = referencedId(target.Arn);
      // InputPath and InputTransformer select from the event; only the event itself or a constant Input is built locally.
      if (!fn || !functionIds.has(fn) || target.InputPath !== undefined || target.InputTransformer !== undefined) unsupportedTargets.push(id);
      else {
        if (typeof target.Input === 'string') {
          try {
            JSON.parse(target.Input);
          } catch {
            throw new Error(`rule ${logicalId}, target ${id}: Input is not valid JSON`);
          }
        }
        targets.push({ id, functionLogicalId: fn, ...(typeof target.Input === 'string' ? { input: target.Input } : {}) });
      }
    }
    return [
      {
        logicalId,
        name: typeof p.Name === 'string' ? p.Name : logicalId,
        expression,
        rateSeconds: rate,
        enabled: (p.State ?? 'ENABLED') !== 'DISABLED',
        functionLogicalIds: [...new Set(targets.map((x) => x.functionLogicalId))],
        targets,
        unsupportedTargets,
      },
    ];
  });

  // A function that is the ServiceToken of custom resources, and nothing else of the stack invokes it.
  const serviceTokens = new Set(
    Object.values(t.Resources)
      .filter((r) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
      .map((r) => referencedId(r.Properties?.ServiceToken)),
  );
  const invoked = new Set([...eventSources.map((s) => s.functionLogicalId), ...routes.map((r) => r.functionLogicalId), ...schedules.flatMap((s) => s.functionLogicalIds)]);
  const isHandler = (fn: FunctionModel) => serviceTokens.has(fn.logicalId) && !invoked.has(fn.logicalId);

  return { tables, queues, buckets, functions: functions.filter((fn) => !isHandler(fn)), customResourceHandlers: functions.filter(isHandler), eventSources, routes, schedules };
}
