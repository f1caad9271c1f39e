/**
 * EventBridge, locally: the template's event buses and the rules on them (EventPattern, with SQS and Lambda
 * targets), behind an embedded PutEvents endpoint (AWS_ENDPOINT_URL_EVENTBRIDGE for the functions). Every
 * event put on a bus is appended to the events file (`.jobline/events.jsonl` by default: one line
 * `{"bus": "<name>", "event": {...}}` per event, as a rule's target would receive it); the enabled rules
 * whose pattern matches deliver it to their targets: SendMessage of the event's JSON to a queue, an
 * asynchronous invocation of a function. A delivery that fails is tried twice more, a second apart, then
 * logged (EventBridge retries for up to 24 hours, then drops or dead-letters).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { matchesPatterns, type FilterPattern } from './lambda/sqs-event';
import type { RunningEmulator } from './emulators/dynamodb-local';
import { ServiceError, startJsonService } from './emulators/json-service';
import { RotatingFile } from './rotating-file';

export interface LocalEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface RuleTarget {
  id: string;
  /** Delivers the event (or the target's constant Input) to the target. */
  deliver(event: LocalEvent): Promise<void>;
}

export interface LocalRule {
  name: string;
  bus: string;
  pattern: FilterPattern;
  enabled: boolean;
  targets: RuleTarget[];
}

export interface EventRouterOptions {
  region: string;
  accountId: string;
  /** Where every event put on a bus is appended; undefined: nowhere. */
  eventsFile?: string;
  /** The events file's size before it is rotated to `<file>.1` (local/rotating-file.ts). */
  eventsFileMaxBytes?: number;
  buses: readonly string[];
  rules: readonly LocalRule[];
  log?: (message: string) => void;
}

/** An entry of PutEvents, as the SDK sends it (Time in epoch seconds). */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number;
}

const busNameOf = (nameOrArn: string | undefined) => {
  if (!nameOrArn) return 'default';
  const at = nameOrArn.indexOf(':event-bus/');
  return at === -1 ? nameOrArn : nameOrArn.slice(at + ':event-bus/'.length);
};

export class EventRouter {
  readonly stats = { put: 0, delivered: 0, failedDeliveries: 0 };
  private readonly pending = new Set<Promise<void>>();
  private readonly buses: Set<string>;
  private readonly eventsFile: RotatingFile | undefined;

  constructor(private readonly options: EventRouterOptions) {
    this.buses = new Set(['default', ...options.buses]);
    if (options.eventsFile) mkdirSync(path.dirname(options.eventsFile), { recursive: true });
    this.eventsFile = options.eventsFile ? new RotatingFile(options.eventsFile, options.eventsFileMaxBytes) : undefined;
  }

  /** PutEvents: each entry's result in order, an EventId or an ErrorCode. */
  put(input: unknown): { FailedEntryCount: number; Entries: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[] } {
    const entries: readonly PutEventsEntry[] = Array.isArray(input) ? (input as PutEventsEntry[]) : [];
    if (entries.length === 0 || entries.length > 10) throw new ServiceError('ValidationException', 'Entries must hold 1 to 10 entries');
    const results = entries.map((entry) => {
      const bus = busNameOf(entry.EventBusName);
      if (!this.buses.has(bus)) return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` };
      if (!entry.Source || !entry.DetailType || entry.Detail === undefined) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Source, DetailType and Detail are required' };
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
      }
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object' };
      const event: LocalEvent = {
        version: '0',
        id: crypto.randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: this.options.accountId,
        time: new Date(entry.Time !== undefined ? entry.Time * 1000 : Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.options.region,
        resources: entry.Resources ?? [],
        detail,
      };
      this.publish(bus, event);
      return { EventId: event.id };
    });
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** Resolves when every delivery begun so far has ended. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private publish(bus: string, event: LocalEvent): void {
    this.stats.put++;
    this.eventsFile?.append(`${JSON.stringify({ bus, event })}\n`);
    for (const rule of this.options.rules) {
      if (!rule.enabled || rule.bus !== bus || !matchesPatterns(event as unknown as Record<string, unknown>, [rule.pattern])) continue;
      for (const target of rule.targets) {
        const delivery = this.deliver(rule, target, event).finally(() => this.pending.delete(delivery));
        this.pending.add(delivery);
      }
    }
  }

  private async deliver(rule: LocalRule, target: RuleTarget, event: LocalEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await target.deliver(event);
        this.stats.delivered++;
        return;
      } catch (error) {
        if (attempt >= 3) {
          this.stats.failedDeliveries++;
          this.options.log?.(`rule ${rule.name}, target ${target.id}: event ${event.id} not delivered (${error instanceof Error ? error.message : String(error)})`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}

/** The embedded EventBridge endpoint: PutEvents into the router; ListEventBuses and ListRules for tools. */
export function startEventBridgeEmulator(
  router: EventRouter,
  buses: readonly string[],
  rules: readonly LocalRule[],
  options: { port?: number; region: string; accountId: string },
): Promise<RunningEmulator> {
  const arn = (name: string) => `arn:aws:events:${options.region}:${options.accountId}:event-bus/${name}`;
  return startJsonService(
    'EventBridge',
    'AWSEvents',
    {
      PutEvents: (input) => router.put(input.Entries),
      ListEventBuses: () => ({ EventBuses: ['default', ...buses].map((name) => ({ Name: name, Arn: arn(name) })) }),
      ListRules: (input) => ({
        Rules: rules
          .filter((r) => r.bus === busNameOf(input.EventBusName as string | undefined))
          .map((r) => ({ Name: r.name, EventBusName: r.bus, EventPattern: JSON.stringify(r.pattern), State: r.enabled ? 'ENABLED' : 'DISABLED' })),
      }),
    },
    options.port,
  );
}
