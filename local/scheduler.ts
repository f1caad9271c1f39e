/**
 * EventBridge scheduled rules, locally: each rule with a rate expression invokes its target functions every
 * period with a Scheduled Event, as EventBridge does (the first time one period after the start). Local
 * differences, on purpose: a tick is skipped while the rule's previous invocation still runs (EventBridge
 * would invoke again, concurrently); a failed invocation is logged and not retried (Lambda's asynchronous
 * invocation would retry it twice); cron expressions are not run on a timer, only by `runAll()`.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import type { InvokeResult } from './lambda/function-pool';
import { settleWithin } from './settle-within';

export interface ScheduleTarget {
  /** The target's Id in the rule. */
  id: string;
  functionName: string;
  /** A constant Input (JSON text) sent instead of the event. */
  input?: string;
  invoke(event: unknown): Promise<InvokeResult>;
}

export interface ScheduledRuleConfig {
  name: string;
  arn: string;
  expression: string;
  region: string;
  accountId: string;
  /** Seconds between runs; undefined: never on a timer (cron), only on demand. */
  intervalSeconds: number | undefined;
  targets: ScheduleTarget[];
}

export interface ScheduleStats {
  /** Times the rule fired (on the timer or on demand). */
  runs: number;
  /** Timer ticks skipped because the previous run was still going. */
  skippedTicks: number;
  invocations: number;
  failedInvocations: number;
}

/** ISO 8601 without milliseconds, as EventBridge writes `time`: 2026-11-27T20:47:00Z. */
export function eventTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The event EventBridge sends a scheduled rule's targets. */
export function scheduledEvent(rule: { arn: string; region: string; accountId: string }, now: Date = new Date()): ScheduledEvent<Record<string, never>> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: rule.accountId,
    time: eventTime(now),
    region: rule.region,
    resources: [rule.arn],
    detail: {},
  };
}

export class ScheduledRule {
  readonly stats: ScheduleStats = { runs: 0, skippedTicks: 0, invocations: 0, failedInvocations: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private skipping = false;

  constructor(
    readonly config: ScheduledRuleConfig,
    private readonly log: (message: string) => void = () => {},
  ) {}

  start(): void {
    if (this.stopped || this.timer || this.config.intervalSeconds === undefined) return;
    this.timer = setInterval(() => this.tick(), this.config.intervalSeconds * 1000);
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.inFlight.size > 0) {
      this.stats.skippedTicks++;
      if (!this.skipping) this.log(`${this.config.name}: previous run still going, skipping ticks until it ends`);
      this.skipping = true;
      return;
    }
    this.skipping = false;
    void this.run();
  }

  /** Fires the rule now (whatever the timer does) and resolves when every target has answered. */
  runNow(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`schedule ${this.config.name} is stopped`));
    return this.run();
  }

  private run(): Promise<void> {
    this.stats.runs++;
    // One event per firing; every target gets the same one (same id), as from EventBridge.
    const event = scheduledEvent(this.config);
    const run = Promise.all(this.config.targets.map((target) => this.invoke(target, event))).then(() => {});
    const tracked = run.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  private async invoke(target: ScheduleTarget, event: ScheduledEvent): Promise<void> {
    this.stats.invocations++;
    let outcome: InvokeResult;
    try {
      outcome = await target.invoke(target.input === undefined ? event : JSON.parse(target.input));
    } catch (error) {
      this.stats.failedInvocations++;
      this.log(`${this.config.name} → ${target.functionName}: not invoked (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    if (!outcome.ok) {
      this.stats.failedInvocations++;
      this.log(`${this.config.name} → ${target.functionName}: invocation failed (${outcome.errorType}: ${outcome.errorMessage}); the schedule goes on`);
    }
  }

  /** Stops the timer; waits for the run in flight up to `graceMs` (the rest fail when their functions stop). */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await settleWithin([...this.inFlight], graceMs);
  }
}

/** Every scheduled rule of the stack. */
export class Scheduler {
  readonly rules = new Map<string, ScheduledRule>();

  add(logicalId: string, rule: ScheduledRule): void {
    this.rules.set(logicalId, rule);
  }

  start(): void {
    for (const rule of this.rules.values()) rule.start();
  }

  /** Fires every rule once now (cron rules too) and resolves when all their targets have answered. */
  async runAll(): Promise<void> {
    await Promise.all([...this.rules.values()].map((rule) => rule.runNow()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.rules.values()].map((rule) => rule.stop()));
  }
}
