/**
 * The local runtime's streams, events and secrets (local/runtime.ts calls these; the template is read by
 * template/notify-model.ts): an embedded Secrets Manager with the template's secrets, an embedded
 * EventBridge endpoint with its buses and rules (local/events.ts; every event also goes to the events
 * file), and a poller per event source mapping on a table's stream (local/stream-poller.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RunningEmulator } from './emulators/dynamodb-local';
import { generateSecretString, startSecretsManagerEmulator } from './emulators/secrets-manager';
import { EventRouter, startEventBridgeEmulator, type LocalRule } from './events';
import type { InvokeResult } from './lambda/function-pool';
import type { CreatedQueue } from './provision';
import { StreamPoller } from './stream-poller';
import type { PhysicalResource } from './template/intrinsics';
import type { NotifyModel } from './template/notify-model';

export const DEFAULT_EVENTS_FILE = path.join('.jobline', 'events.jsonl');
const SECRETS_STATE_FILE = 'secrets.json';

export interface LocalNotifications {
  /** AWS_ENDPOINT_URL_* of the embedded services, for the functions' environment. */
  environment: Record<string, string>;
  endpoints: { eventbridge?: string; secretsManager?: string };
  /** Where every event put on a bus is appended. */
  eventsFile?: string;
  router?: EventRouter;
  /** The stream pollers, by event source mapping logical id (started by startStreamPollers). */
  streamPollers: Map<string, StreamPoller>;
  startStreamPollers(context: StreamContext): void;
  stop(): Promise<void>;
}

export interface StreamContext {
  dynamodbEndpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  streamArns: ReadonlyMap<string, string>;
  invoke(functionLogicalId: string, event: unknown): Promise<InvokeResult>;
  functionArn(functionLogicalId: string): string;
}

export interface NotificationsOptions {
  model: NotifyModel;
  prefix: string;
  region: string;
  accountId: string;
  /** Filled in here: buses (Ref name, Arn), rules, secrets (Ref ARN). */
  resources: Map<string, PhysicalResource>;
  queues: ReadonlyMap<string, CreatedQueue>;
  sqs: SQSClient;
  eventsFile?: string;
  /** --persist: the generated secrets are kept here, so they stay the same across restarts (as in AWS). */
  persistDir?: string;
  invoke(functionLogicalId: string, event: unknown): Promise<unknown>;
  say(message: string): void;
}

export async function startNotifications(options: NotificationsOptions): Promise<LocalNotifications> {
  const { model, prefix, region, accountId, resources } = options;
  const say = (message: string) => options.say(message);
  const stoppers: (() => Promise<void>)[] = [];
  const environment: Record<string, string> = {};
  const endpoints: LocalNotifications['endpoints'] = {};
  const streamPollers = new Map<string, StreamPoller>();
  const stop = async () => {
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    if (model.secrets.length > 0) {
      const emulator = await startSecretsManagerEmulator();
      stoppers.push(() => emulator.stop());
      const stateFile = options.persistDir ? path.join(options.persistDir, SECRETS_STATE_FILE) : undefined;
      const kept = (stateFile && existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : {}) as Record<string, string>;
      const names: string[] = [];
      for (const secret of model.secrets) {
        const name = secret.name ?? `${prefix}${secret.logicalId}`;
        names.push(name);
        const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-local`;
        const value = secret.secretString ?? kept[secret.logicalId] ?? generateSecretString(secret.generate);
        kept[secret.logicalId] = value;
        emulator.put({ name, arn, secretString: value });
        resources.set(secret.logicalId, { ref: arn, attributes: { Id: arn } });
      }
      if (stateFile) writeFileSync(stateFile, JSON.stringify(kept), { mode: 0o600 });
      environment.AWS_ENDPOINT_URL_SECRETS_MANAGER = emulator.endpoint;
      endpoints.secretsManager = emulator.endpoint;
      say(
        `Secrets Manager: ${emulator.endpoint} (embedded, ${names.length === 1 ? 'the secret' : `${names.length} secrets`} from the template${stateFile ? `, kept in ${SECRETS_STATE_FILE}` : ', new values at each start'})`,
      );
      // The README's callback verification needs the secret's value: say where to read it.
      for (const name of names) say(`  aws --endpoint-url ${emulator.endpoint} secretsmanager get-secret-value --secret-id ${name}`);
    }

    let router: EventRouter | undefined;
    let eventsFile: string | undefined;
    if (model.buses.length > 0 || model.rules.length > 0) {
      const busNames = new Map(model.buses.map((b) => [b.logicalId, `${prefix}${b.name}`]));
      for (const [logicalId, name] of busNames) resources.set(logicalId, { ref: name, attributes: { Arn: `arn:aws:events:${region}:${accountId}:event-bus/${name}`, Name: name } });
      const rules: LocalRule[] = model.rules.map((rule) => {
        const name = `${prefix}${rule.name}`;
        resources.set(rule.logicalId, { ref: name, attributes: { Arn: `arn:aws:events:${region}:${accountId}:rule/${name}` } });
        if (rule.unsupportedTargets.length > 0)
          say(`rule ${name}: targets ${rule.unsupportedTargets.join(', ')} are not run locally (only this stack's queues and functions, with the event or a constant Input)`);
        return {
          name,
          bus: rule.bus.logicalId ? (busNames.get(rule.bus.logicalId) ?? rule.bus.name) : rule.bus.name,
          pattern: rule.pattern,
          enabled: rule.enabled,
          targets: rule.targets.map((target) => ({
            id: target.id,
            deliver: async (event) => {
              const body = target.input ?? JSON.stringify(event);
              if (target.kind === 'sqs') {
                const queue = options.queues.get(target.logicalId);
                if (!queue) throw new Error(`queue ${target.logicalId} is not provisioned`);
                await options.sqs.send(
                  new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, ...(target.messageGroupId ? { MessageGroupId: target.messageGroupId } : {}) }),
                );
              } else {
                await options.invoke(target.logicalId, JSON.parse(body));
              }
            },
          })),
        };
      });
      eventsFile = path.resolve(options.eventsFile ?? process.env.JOBLINE_EVENTS_FILE ?? DEFAULT_EVENTS_FILE);
      router = new EventRouter({ region, accountId, eventsFile, buses: [...busNames.values()], rules, log: say });
      const emulator: RunningEmulator = await startEventBridgeEmulator(router, [...busNames.values()], rules, { region, accountId });
      stoppers.push(() => emulator.stop());
      stoppers.push(() => router!.settled());
      environment.AWS_ENDPOINT_URL_EVENTBRIDGE = emulator.endpoint;
      endpoints.eventbridge = emulator.endpoint;
      say(
        `EventBridge: ${emulator.endpoint} (embedded; buses ${[...busNames.values()].join(', ') || 'default'}; ${rules.length} rules; every event is appended to ${path.relative(process.cwd(), eventsFile) || eventsFile})`,
      );
    }

    return {
      environment,
      endpoints,
      ...(eventsFile ? { eventsFile } : {}),
      ...(router ? { router } : {}),
      streamPollers,
      startStreamPollers: (context) => {
        for (const source of model.streamSources.filter((s) => s.enabled)) {
          const streamArn = context.streamArns.get(source.tableLogicalId);
          if (!streamArn) throw new Error(`event source ${source.logicalId}: table ${source.tableLogicalId} has no stream`);
          const poller = new StreamPoller(
            context.dynamodbEndpoint,
            context.credentials,
            options.sqs,
            {
              streamArn,
              region,
              functionArn: context.functionArn(source.functionLogicalId),
              batchSize: source.batchSize,
              batchingWindowSeconds: source.batchingWindowSeconds,
              startingPosition: source.startingPosition,
              reportBatchItemFailures: source.reportBatchItemFailures,
              bisectBatchOnError: source.bisectBatchOnError,
              maximumRetryAttempts: source.maximumRetryAttempts,
              maximumRecordAgeSeconds: source.maximumRecordAgeSeconds,
              filters: source.filters,
              ...(source.onFailureQueueLogicalId && options.queues.get(source.onFailureQueueLogicalId)
                ? { onFailureQueueUrl: options.queues.get(source.onFailureQueueLogicalId)!.url }
                : {}),
            },
            (event) => context.invoke(source.functionLogicalId, event),
            (message) => say(`stream ${source.tableLogicalId} → ${source.functionLogicalId}: ${message}`),
          );
          streamPollers.set(source.logicalId, poller);
          poller.start();
          say(`stream of ${source.tableLogicalId} → ${source.functionLogicalId} (batch ${source.batchSize}, ${source.filters.length} filters, from ${source.startingPosition})`);
        }
        stoppers.push(() => Promise.all([...streamPollers.values()].map((p) => p.stop())).then(() => {}));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
