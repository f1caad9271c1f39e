/**
 * Watch mode's changes to a running local runtime (local/runtime.ts). Each function runs behind a switch, so
 * that new code or configuration takes over between invocations: new invocations go to new execution
 * environments, those in flight finish on the old ones, which are stopped then. `applyStack` compares a new
 * synthesis of the stack with what runs and changes only what differs, part by part. The emulators are never
 * restarted: messages stay in their queues, items in their tables.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../shared/config';
import type { Gateway } from './gateway';
import type { FunctionPool, InvokeResult } from './lambda/function-pool';
import type { CreatedQueue } from './provision';
import type { Scheduler } from './scheduler';
import type { SqsPoller } from './sqs-poller';
import { functionCode, type StackArtifact } from './template/cloud-assembly';
import type { PhysicalResource } from './template/intrinsics';
import { stackModel, type BucketModel, type EventSourceModel, type FunctionModel, type QueueModel, type StackModel, type TableModel } from './template/stack-model';

/** What a function runs: its bundle, and a hash of the bundle's files (same bytes, same hash, wherever they are). */
export interface FunctionCode {
  file: string;
  exportName: string;
  codeDir: string;
  hash: string;
}

/** A hash of files by their relative names and contents (the order given does not matter). */
export function filesHash(files: readonly { name: string; contents: Uint8Array }[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    hash.update(`${file.name}\0`);
    hash.update(file.contents);
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** A hash of every file under `codeDir`: an asset of cdk.out and watch mode's rebuild of it compare equal. */
export function codeHash(codeDir: string): string {
  const files: { name: string; contents: Uint8Array }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push({ name: path.relative(codeDir, full).split(path.sep).join('/'), contents: readFileSync(full) });
    }
  };
  walk(codeDir);
  return filesHash(files);
}

export function readFunctionCode(stack: StackArtifact, logicalId: string): FunctionCode {
  const code = functionCode(stack, logicalId);
  return { ...code, hash: codeHash(code.codeDir) };
}

/**
 * The functions of the runtime by logical id, each behind a switch: `invoke` goes to the current pool; `set`
 * puts a new pool in place and retires the old one once its invocations in flight have finished.
 */
export class FunctionSwitch {
  /** The current pool of each function (the runtime's `functions`). */
  readonly pools = new Map<string, FunctionPool>();
  private readonly running = new WeakMap<FunctionPool, { count: number; idle: (() => void)[] }>();
  private readonly retiring = new Set<FunctionPool>();

  async invoke(logicalId: string, event: unknown): Promise<InvokeResult> {
    const pool = this.pools.get(logicalId);
    if (!pool) return { ok: false, kind: 'error', errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${logicalId}`, durationMs: 0 };
    let running = this.running.get(pool);
    if (!running) this.running.set(pool, (running = { count: 0, idle: [] }));
    running.count++;
    try {
      return await pool.invoke(event);
    } finally {
      if (--running.count === 0) for (const wake of running.idle.splice(0)) wake();
    }
  }

  set(logicalId: string, pool: FunctionPool): void {
    const old = this.pools.get(logicalId);
    this.pools.set(logicalId, pool);
    if (old && old !== pool) this.retire(old);
  }

  delete(logicalId: string): void {
    const old = this.pools.get(logicalId);
    this.pools.delete(logicalId);
    if (old) this.retire(old);
  }

  /** Stops the pool once nothing runs on it; an invocation cannot outlive its timeout, so that is the longest wait. */
  private retire(pool: FunctionPool): void {
    this.retiring.add(pool);
    const running = this.running.get(pool);
    const drained =
      running && running.count > 0
        ? new Promise<void>((resolve) => {
            running.idle.push(resolve);
            setTimeout(resolve, (pool.spec.timeoutSeconds + 5) * 1000).unref();
          })
        : Promise.resolve();
    void drained
      .then(() => pool.stop())
      .catch(() => {})
      .finally(() => this.retiring.delete(pool));
  }

  /** Stops every pool, current and retiring (invocations in flight fail as crashed). */
  async stop(): Promise<void> {
    await Promise.all([...this.pools.values(), ...this.retiring].map((pool) => pool.stop().catch(() => {})));
  }
}

/** The parts of a running local runtime that `applyStack` changes, and how the runtime builds each. */
export interface RuntimeParts {
  prefix: string;
  stack: StackArtifact;
  model: StackModel;
  resources: Map<string, PhysicalResource>;
  tables: Map<string, string>;
  queues: Map<string, CreatedQueue>;
  buckets: Map<string, string>;
  functions: FunctionSwitch;
  code: Map<string, FunctionCode>;
  environments: Map<string, Record<string, string>>;
  pollers: Map<string, SqsPoller>;
  /** The event source each poller runs, by its logical id. */
  sources: Map<string, EventSourceModel>;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  scheduler: Scheduler;
  gateway: Gateway;
  provisionTable(table: TableModel): Promise<void>;
  /** Creates the queues (dead-letter queues first) and records them in `queues` and `resources`. */
  provisionQueues(queues: readonly QueueModel[]): Promise<void>;
  provisionBucket(bucket: BucketModel, stack: StackArtifact): Promise<void>;
  /** Records the physical names of the model's functions and rules in `resources`. */
  nameResources(model: StackModel): void;
  functionEnvironment(fn: FunctionModel): Record<string, string>;
  /** A pool for the function, put in place (the old one retires). */
  deployFunction(fn: FunctionModel, model: StackModel, code: FunctionCode, environment: Record<string, string>): void;
  /** Starts polling the source, recorded in `pollers` and `sources`. */
  startPoller(source: EventSourceModel): void;
  startScheduler(model: StackModel): Scheduler;
  /** A gateway for the model's routes on this port (the old one has stopped listening). */
  startGateway(model: StackModel, port: number): Promise<Gateway>;
}

export interface ReloadReport {
  /** What changed, a few words each: "transfer worker: code", "transfer queue: VisibilityTimeout 180 → 60". */
  changes: string[];
  /** What could not change in place, and what was done instead. */
  notes: string[];
}

/** A function's configuration as the runtime runs it (what a change of replaces its pool). */
export function functionConfig(fn: FunctionModel, model: StackModel, environment: Record<string, string>, apiConcurrency: number) {
  const sources = model.eventSources.filter((s) => s.functionLogicalId === fn.logicalId);
  return {
    name: fn.name,
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    maxEnvironments: sources.length > 0 ? sources.reduce((sum, s) => sum + s.maxConcurrency, 0) : apiConcurrency,
    environment,
  };
}

/** How a person names a resource of the stack: "transfer worker", "transfer queue", "API", or its name. */
export function resourceLabel(model: StackModel, logicalId: string): string {
  const fn = model.functions.find((f) => f.logicalId === logicalId);
  if (fn) {
    const type = fn.environment[ENV.jobType];
    if (typeof type === 'string') return `${type} worker`;
    if (fn.environment[ENV.sweepTypes] !== undefined) return 'sweeper';
    if (model.routes.some((r) => r.functionLogicalId === logicalId)) return 'API';
    return fn.name;
  }
  const source = model.eventSources.find((s) => s.logicalId === logicalId);
  if (source) return `${resourceLabel(model, source.functionLogicalId).replace(/ worker$/, '')} event source`;
  const refersTo = (value: unknown) => typeof value === 'object' && value !== null && (value as { Ref?: unknown }).Ref === logicalId;
  for (const f of model.functions) {
    const type = f.environment[ENV.jobType];
    if (typeof type !== 'string') continue;
    if (refersTo(f.environment[ENV.queueUrl])) return `${type} queue`;
    if (refersTo(f.environment[ENV.deadLetterQueueUrl])) return `${type} DLQ`;
  }
  return model.queues.find((q) => q.logicalId === logicalId)?.name ?? model.tables.find((t) => t.logicalId === logicalId)?.name ?? logicalId;
}

const json = (value: unknown) => JSON.stringify(value);
const arrow = (before: string | number | undefined, after: string | number | undefined, unit = '') => `${before ?? '-'}${unit} → ${after ?? '-'}${unit}`;

/** What SQS has when an attribute is not set (an attribute removed from the template goes back to it). */
const QUEUE_DEFAULTS: Record<string, string> = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  MaximumMessageSize: '1048576',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
};
/** Attributes CreateQueue fixes (FifoQueue also changes the name, so a FIFO switch is a new queue anyway). */
const FIXED_QUEUE_ATTRIBUTES = new Set(['FifoQueue']);

/**
 * Runs `next` (a new synthesis of the running stack) in place of what runs, changing only what differs:
 * creates new tables, queues and buckets and updates queue attributes and TTLs; replaces the pools of
 * functions whose code or configuration changed; reconfigures, starts or stops pollers; restarts the
 * gateway when routes changed and the scheduler when schedules did. What DynamoDB cannot change in place
 * (a table's keys) is said in `notes` and left as it runs.
 */
export async function applyStack(parts: RuntimeParts, next: StackArtifact, apiConcurrency: number): Promise<ReloadReport> {
  const before = parts.model;
  const model = stackModel(next);
  const label = (logicalId: string) => resourceLabel(model, logicalId);
  const changes: string[] = [];
  const notes: string[] = [];

  // Tables: new ones are created; a key change would need a new table (and its items are what a reload keeps).
  for (const table of model.tables) {
    const old = before.tables.find((t) => t.logicalId === table.logicalId);
    if (!old || old.name !== table.name) {
      await parts.provisionTable(table);
      changes.push(`table ${parts.prefix}${table.name} created`);
      continue;
    }
    const keys = (t: TableModel) => json([t.keySchema, t.attributeDefinitions, t.globalSecondaryIndexes]);
    if (keys(old) !== keys(table))
      notes.push(`table ${parts.prefix}${table.name}: its keys or indexes changed, which cannot change in place; it keeps the old ones (restart jobline dev to run the new ones)`);
    if (old.ttlAttribute !== table.ttlAttribute) {
      const attribute = table.ttlAttribute ?? old.ttlAttribute!;
      await parts.dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: `${parts.prefix}${table.name}`,
          TimeToLiveSpecification: { Enabled: table.ttlAttribute !== undefined, AttributeName: attribute },
        }),
      );
      changes.push(`table ${parts.prefix}${table.name}: TTL ${arrow(old.ttlAttribute, table.ttlAttribute)}`);
    }
  }
  for (const old of before.tables.filter((t) => !model.tables.some((n) => n.logicalId === t.logicalId))) {
    parts.tables.delete(old.logicalId);
    parts.resources.delete(old.logicalId);
    changes.push(`table ${parts.prefix}${old.name} left the stack (kept in DynamoDB with its items)`);
  }

  // Queues: new (or renamed, e.g. made FIFO) ones are created, dead-letter queues first; attributes are set in place.
  const created = model.queues.filter((q) => before.queues.find((o) => o.logicalId === q.logicalId)?.name !== q.name);
  for (const q of created) {
    const old = before.queues.find((o) => o.logicalId === q.logicalId);
    if (old) notes.push(`${label(q.logicalId)}: ${old.name} → ${q.name} cannot change in place: a new queue was created (the old one keeps its messages)`);
    else changes.push(`${label(q.logicalId)} created`);
  }
  await parts.provisionQueues(created);
  for (const q of model.queues) {
    const old = before.queues.find((o) => o.logicalId === q.logicalId);
    if (!old || old.name !== q.name) continue;
    const set: Record<string, string> = {};
    const said: string[] = [];
    for (const name of new Set([...Object.keys(old.attributes), ...Object.keys(q.attributes)])) {
      if (old.attributes[name] === q.attributes[name] || FIXED_QUEUE_ATTRIBUTES.has(name)) continue;
      const value = q.attributes[name] ?? QUEUE_DEFAULTS[name];
      if (value === undefined) {
        notes.push(`${label(q.logicalId)}: ${name} was removed, which cannot be undone in place; it keeps ${old.attributes[name]}`);
        continue;
      }
      set[name] = value;
      said.push(`${name} ${arrow(old.attributes[name], q.attributes[name])}`);
    }
    if (json(old.redrive) !== json(q.redrive)) {
      const target = q.redrive ? parts.queues.get(q.redrive.deadLetterQueue) : undefined;
      set.RedrivePolicy = q.redrive && target ? JSON.stringify({ deadLetterTargetArn: target.arn, maxReceiveCount: q.redrive.maxReceiveCount }) : '';
      said.push(`maxReceiveCount ${arrow(old.redrive?.maxReceiveCount, q.redrive?.maxReceiveCount)}`);
    }
    if (said.length === 0) continue;
    await parts.sqs.send(new SetQueueAttributesCommand({ QueueUrl: parts.queues.get(q.logicalId)!.url, Attributes: set }));
    changes.push(`${label(q.logicalId)}: ${said.join(', ')}`);
  }
  for (const old of before.queues.filter((q) => !model.queues.some((n) => n.logicalId === q.logicalId))) {
    parts.queues.delete(old.logicalId);
    parts.resources.delete(old.logicalId);
    changes.push(`queue ${parts.prefix}${old.name} left the stack (kept in SQS with its messages)`);
  }

  for (const bucket of model.buckets.filter((b) => !before.buckets.some((o) => o.logicalId === b.logicalId))) {
    await parts.provisionBucket(bucket, next);
    changes.push(`bucket ${parts.buckets.get(bucket.logicalId)} created`);
  }
  parts.nameResources(model);

  // Functions. Every environment is resolved before any pool changes, so an unresolvable one changes nothing.
  const environments = new Map(model.functions.map((fn) => [fn.logicalId, parts.functionEnvironment(fn)]));
  for (const fn of model.functions) {
    const code = readFunctionCode(next, fn.logicalId);
    const environment = environments.get(fn.logicalId)!;
    const running = parts.code.get(fn.logicalId);
    const oldFn = before.functions.find((f) => f.logicalId === fn.logicalId);
    if (!running || !oldFn) {
      parts.deployFunction(fn, model, code, environment);
      changes.push(`${label(fn.logicalId)} added`);
      continue;
    }
    const was = functionConfig(oldFn, before, parts.environments.get(fn.logicalId) ?? {}, apiConcurrency);
    const now = functionConfig(fn, model, environment, apiConcurrency);
    const said: string[] = [];
    if (running.hash !== code.hash || running.exportName !== code.exportName) said.push('code');
    if (was.timeoutSeconds !== now.timeoutSeconds) said.push(`timeout ${arrow(was.timeoutSeconds, now.timeoutSeconds, ' s')}`);
    if (was.memoryMb !== now.memoryMb) said.push(`memory ${arrow(was.memoryMb, now.memoryMb, ' MB')}`);
    if (was.maxEnvironments !== now.maxEnvironments) said.push(`environments ${arrow(was.maxEnvironments, now.maxEnvironments)}`);
    if (was.name !== now.name) said.push(`name ${arrow(was.name, now.name)}`);
    const variables = [...new Set([...Object.keys(was.environment), ...Object.keys(now.environment)])].filter((k) => was.environment[k] !== now.environment[k]);
    if (variables.length > 0) said.push(`environment ${variables.slice(0, 3).join(', ')}${variables.length > 3 ? ` (+${variables.length - 3})` : ''}`);
    if (said.length === 0) continue;
    // Same bytes from another directory (e.g. the asset a handler edit was rebuilt as): the running code stays.
    parts.deployFunction(fn, model, running.hash === code.hash ? running : code, environment);
    changes.push(`${label(fn.logicalId)}: ${said.join(', ')}`);
  }
  for (const old of before.functions.filter((f) => !model.functions.some((n) => n.logicalId === f.logicalId))) {
    parts.functions.delete(old.logicalId);
    parts.code.delete(old.logicalId);
    parts.environments.delete(old.logicalId);
    changes.push(`${resourceLabel(before, old.logicalId)} removed`);
  }

  // Event sources: a poller keeps its queue and the messages it holds when only its batching changes.
  const wanted = new Map(model.eventSources.filter((s) => s.enabled).map((s) => [s.logicalId, s]));
  for (const [logicalId, poller] of [...parts.pollers]) {
    const old = parts.sources.get(logicalId)!;
    const source = wanted.get(logicalId);
    const sameQueue =
      source && source.queueLogicalId === old.queueLogicalId && source.functionLogicalId === old.functionLogicalId && !created.some((q) => q.logicalId === source.queueLogicalId);
    if (source && sameQueue) {
      const said = [
        source.batchSize !== old.batchSize ? `batch size ${arrow(old.batchSize, source.batchSize)}` : '',
        source.batchingWindowSeconds !== old.batchingWindowSeconds ? `batching window ${arrow(old.batchingWindowSeconds, source.batchingWindowSeconds, ' s')}` : '',
        source.maxConcurrency !== old.maxConcurrency ? `max concurrency ${arrow(old.maxConcurrency, source.maxConcurrency)}` : '',
        source.reportBatchItemFailures !== old.reportBatchItemFailures ? `partial batch responses ${source.reportBatchItemFailures ? 'on' : 'off'}` : '',
        json(source.filters) !== json(old.filters) ? `filters (${source.filters.length})` : '',
      ].filter(Boolean);
      if (said.length > 0) {
        poller.reconfigure({
          batchSize: source.batchSize,
          batchingWindowSeconds: source.batchingWindowSeconds,
          maxConcurrency: source.maxConcurrency,
          reportBatchItemFailures: source.reportBatchItemFailures,
          filters: source.filters,
        });
        changes.push(`${label(logicalId)}: ${said.join(', ')}`);
      }
      parts.sources.set(logicalId, source);
      continue;
    }
    parts.pollers.delete(logicalId);
    parts.sources.delete(logicalId);
    await poller.stop();
    if (source) {
      parts.startPoller(source);
      changes.push(`${label(logicalId)}: now ${resourceLabel(model, source.queueLogicalId)} → ${label(source.functionLogicalId)} (restarted)`);
    } else changes.push(`${resourceLabel(before, logicalId)} stopped`);
  }
  for (const [logicalId, source] of wanted) {
    if (parts.pollers.has(logicalId)) continue;
    parts.startPoller(source);
    changes.push(`${label(logicalId)} started`);
  }

  // Routes: the gateway compiles them once, so a change restarts it on the same port (requests in flight finish on the old one).
  const routes = (m: StackModel) => json([...m.routes].sort((a, b) => a.routeKey.localeCompare(b.routeKey)));
  if (routes(before) !== routes(model)) {
    const old = parts.gateway;
    const address = old.server.address();
    const port = typeof address === 'object' && address ? address.port : Number(new URL(old.url).port);
    old.server.close();
    old.server.closeIdleConnections();
    parts.gateway = await parts.startGateway(model, port);
    notes.push(`the HTTP API's routes changed: its server restarted on the same port (${model.routes.length} routes)`);
  }

  // Schedules: few and cheap, so any change rebuilds the scheduler.
  if (json(before.schedules) !== json(model.schedules)) {
    await parts.scheduler.stop();
    parts.scheduler = parts.startScheduler(model);
    changes.push(`schedules: ${model.schedules.map((s) => `${s.name} ${s.expression}${s.enabled ? '' : ' (disabled)'}`).join(', ') || 'none'}`);
  }

  parts.stack = next;
  parts.model = model;
  return { changes, notes };
}
