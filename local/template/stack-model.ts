/**
 * The parts of a synthesized stack the local runtime runs: tables, queues, functions, SQS event source
 * mappings and HTTP routes, read from the template as CloudFormation declares them.
 */
import { resourcesOfType, type StackArtifact } from './cloud-assembly';

export interface TableModel {
  logicalId: string;
  name: string;
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  ttlAttribute?: string;
}

export interface QueueModel {
  logicalId: string;
  name: string;
  fifo: boolean;
  /** SQS attributes as CreateQueue takes them, except RedrivePolicy. */
  attributes: Record<string, string>;
  redrive?: { deadLetterQueue: string; maxReceiveCount: number };
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
  maxConcurrency: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

export interface RouteModel {
  routeKey: string;
  functionLogicalId: string;
  authorizationType: string;
}

export interface StackModel {
  tables: TableModel[];
  queues: QueueModel[];
  functions: FunctionModel[];
  eventSources: EventSourceModel[];
  routes: RouteModel[];
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
  if (Array.isArray(join)) for (const part of join[1] as unknown[]) {
    const id = referencedId(part);
    if (id) return id;
  }
  return undefined;
}

const QUEUE_ATTRIBUTES = ['VisibilityTimeout', 'MessageRetentionPeriod', 'MaximumMessageSize', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit', 'SqsManagedSseEnabled'];

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
    };
  });

  const queues: QueueModel[] = resourcesOfType(t, 'AWS::SQS::Queue').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const attributes: Record<string, string> = {};
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

  const functions: FunctionModel[] = resourcesOfType(t, 'AWS::Lambda::Function').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    return {
      logicalId,
      name: typeof p.FunctionName === 'string' ? p.FunctionName : logicalId,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      runtime: String(p.Runtime ?? 'nodejs'),
      environment: ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
    };
  });

  const eventSources: EventSourceModel[] = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping').flatMap(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const queueLogicalId = referencedId(p.EventSourceArn);
    const functionLogicalId = referencedId(p.FunctionName);
    if (!queueLogicalId || !functionLogicalId || !queues.some((q) => q.logicalId === queueLogicalId)) return [];
    const fifo = queues.find((q) => q.logicalId === queueLogicalId)!.fifo;
    return [
      {
        logicalId,
        functionLogicalId,
        queueLogicalId,
        batchSize: Number(p.BatchSize ?? 10),
        batchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        // Without a maximum, Lambda scales an SQS source to 1,250 concurrent batches (FIFO: one per group).
        maxConcurrency: Number((p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? (fifo ? 10 : 1250)),
        reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
        enabled: p.Enabled !== false,
      },
    ];
  });

  const integrations = new Map<string, string>();
  for (const [logicalId, r] of resourcesOfType(t, 'AWS::ApiGatewayV2::Integration')) {
    const fn = referencedId(r.Properties?.IntegrationUri);
    if (fn) integrations.set(logicalId, fn);
  }
  const routes: RouteModel[] = resourcesOfType(t, 'AWS::ApiGatewayV2::Route').flatMap(([, r]) => {
    const p = r.Properties ?? {};
    const integration = referencedId(p.Target);
    const fn = integration ? integrations.get(integration) : undefined;
    return fn ? [{ routeKey: String(p.RouteKey), functionLogicalId: fn, authorizationType: String(p.AuthorizationType ?? 'NONE') }] : [];
  });

  return { tables, queues, functions, eventSources, routes };
}
