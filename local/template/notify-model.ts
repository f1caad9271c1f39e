/**
 * What the local runtime reads from a template for streams, events and secrets (stack-model.ts has the
 * rest): tables' StreamSpecification, Lambda event source mappings on a table's stream (with their
 * FilterCriteria, batch and retry settings, on-failure destination), EventBridge buses, rules with an
 * EventPattern and their SQS and Lambda targets, and Secrets Manager secrets.
 */
import { parseEventPattern, parseFilterCriteria, type FilterPattern } from '../lambda/sqs-event';
import { resourcesOfType, type StackArtifact } from './cloud-assembly';

export interface StreamSourceModel {
  logicalId: string;
  functionLogicalId: string;
  tableLogicalId: string;
  batchSize: number;
  batchingWindowSeconds: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  reportBatchItemFailures: boolean;
  bisectBatchOnError: boolean;
  /** -1: until the record expires. */
  maximumRetryAttempts: number;
  /** -1: no limit. */
  maximumRecordAgeSeconds: number;
  /** The logical id of the on-failure SQS queue, if any. */
  onFailureQueueLogicalId?: string;
  enabled: boolean;
  filters: FilterPattern[];
}

export interface EventBusModel {
  logicalId: string;
  name: string;
}

export interface EventRuleTargetModel {
  id: string;
  kind: 'sqs' | 'lambda';
  logicalId: string;
  /** A constant Input (JSON text) sent instead of the event. */
  input?: string;
  messageGroupId?: string;
}

export interface EventRuleModel {
  logicalId: string;
  name: string;
  /** The bus's logical id, or the name of a bus that is not in the template ('default'...). */
  bus: { logicalId?: string; name: string };
  pattern: FilterPattern;
  enabled: boolean;
  targets: EventRuleTargetModel[];
  /** Ids of targets the local runtime cannot run (other services, InputPath, InputTransformer). */
  unsupportedTargets: string[];
}

export interface SecretModel {
  logicalId: string;
  name?: string;
  secretString?: string;
  generate?: Record<string, unknown>;
}

export interface NotifyModel {
  /** StreamViewType by table logical id, for the tables that have a stream. */
  tableStreams: Map<string, string>;
  streamSources: StreamSourceModel[];
  buses: EventBusModel[];
  rules: EventRuleModel[];
  secrets: SecretModel[];
}

/** The logical id a Ref / Fn::GetAtt names (and which attribute, for GetAtt). */
function reference(value: unknown): { id: string; attribute?: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return { id: v.Ref };
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return { id: String(getAtt[0]), attribute: String(getAtt[1]) };
  if (typeof getAtt === 'string') {
    const [id, attribute] = getAtt.split('.');
    return { id: id!, ...(attribute ? { attribute } : {}) };
  }
  return undefined;
}

export function notifyModel(stack: StackArtifact): NotifyModel {
  const t = stack.template;
  const tableStreams = new Map<string, string>();
  for (const [logicalId, r] of resourcesOfType(t, 'AWS::DynamoDB::Table')) {
    const spec = r.Properties?.StreamSpecification as { StreamViewType?: string } | undefined;
    if (spec?.StreamViewType) tableStreams.set(logicalId, spec.StreamViewType);
  }
  const queueIds = new Set(resourcesOfType(t, 'AWS::SQS::Queue').map(([id]) => id));
  const functionIds = new Set(resourcesOfType(t, 'AWS::Lambda::Function').map(([id]) => id));

  const streamSources: StreamSourceModel[] = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping').flatMap(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const source = reference(p.EventSourceArn);
    const fn = reference(p.FunctionName);
    if (!source || source.attribute !== 'StreamArn' || !tableStreams.has(source.id) || !fn) return [];
    const onFailure = reference((p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination);
    return [
      {
        logicalId,
        functionLogicalId: fn.id,
        tableLogicalId: source.id,
        batchSize: Number(p.BatchSize ?? 100),
        batchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
        bisectBatchOnError: p.BisectBatchOnFunctionError === true,
        maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? -1),
        maximumRecordAgeSeconds: Number(p.MaximumRecordAgeInSeconds ?? -1),
        ...(onFailure && queueIds.has(onFailure.id) ? { onFailureQueueLogicalId: onFailure.id } : {}),
        enabled: p.Enabled !== false,
        filters: parseFilterCriteria(p.FilterCriteria, `event source ${logicalId}`),
      },
    ];
  });

  const buses: EventBusModel[] = resourcesOfType(t, 'AWS::Events::EventBus').map(([logicalId, r]) => ({
    logicalId,
    name: typeof r.Properties?.Name === 'string' ? r.Properties.Name : logicalId,
  }));

  const rules: EventRuleModel[] = resourcesOfType(t, 'AWS::Events::Rule').flatMap(([logicalId, r]) => {
    const p = r.Properties ?? {};
    if (p.EventPattern === undefined) return [];
    const busRef = reference(p.EventBusName);
    const bus = busRef
      ? { logicalId: busRef.id, name: buses.find((b) => b.logicalId === busRef.id)?.name ?? busRef.id }
      : { name: typeof p.EventBusName === 'string' ? p.EventBusName : 'default' };
    const targets: EventRuleTargetModel[] = [];
    const unsupportedTargets: string[] = [];
    for (const target of (p.Targets ?? []) as Record<string, unknown>[]) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of the untyped template
      const id = String(target.Id ?? '');
      const ref = reference(target.Arn);
      const kind = ref && queueIds.has(ref.id) ? 'sqs' : ref && functionIds.has(ref.id) ? 'lambda' : undefined;
      if (!ref || !kind || target.InputPath !== undefined || target.InputTransformer !== undefined) {
        unsupportedTargets.push(id);
        continue;
      }
      const group = (target.SqsParameters as { MessageGroupId?: unknown } | undefined)?.MessageGroupId;
      targets.push({
        id,
        kind,
        logicalId: ref.id,
        ...(typeof target.Input === 'string' ? { input: target.Input } : {}),
        ...(typeof group === 'string' ? { messageGroupId: group } : {}),
      });
    }
    return [
      {
        logicalId,
        name: typeof p.Name === 'string' ? p.Name : logicalId,
        bus,
        pattern: parseEventPattern(p.EventPattern, `rule ${logicalId}`),
        enabled: (p.State ?? 'ENABLED') !== 'DISABLED',
        targets,
        unsupportedTargets,
      },
    ];
  });

  const secrets: SecretModel[] = resourcesOfType(t, 'AWS::SecretsManager::Secret').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    return {
      logicalId,
      ...(typeof p.Name === 'string' ? { name: p.Name } : {}),
      ...(typeof p.SecretString === 'string' ? { secretString: p.SecretString } : {}),
      ...(p.GenerateSecretString && typeof p.GenerateSecretString === 'object' ? { generate: p.GenerateSecretString as Record<string, unknown> } : {}),
    };
  });

  return { tableStreams, streamSources, buses, rules, secrets };
}
