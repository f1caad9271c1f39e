/**
 * `jobline plan <workload.json>`: the capacity plan of a workload on the stack as synthesized (cdk.out, or
 * --app DIR): per job type what it needs, whether the settings keep up, its waits, what a burst does, whether
 * timeouts and retries fit, the request rates and a monthly bill; warnings in plain words. The model is
 * planner/plan.ts (docs/planner.md). Reads files only: no AWS, no running stack.
 */
import { readFileSync } from 'node:fs';
import { readStack } from '../../local/template/cloud-assembly';
import { stackModel } from '../../local/template/stack-model';
import { fmt, humanDuration, planJobType, type JobTypePlan } from '../../planner/plan';
import { PRICES } from '../../planner/prices';
import { planSettingsOf } from '../../planner/template-settings';
import { parseWorkload } from '../../planner/workload';
import { EXIT, notFound, usageError } from '../exit';
import { colors, printJson } from '../output';

export interface PlanOptions {
  app: string;
  json?: boolean;
}

export interface Plan {
  assembly: string;
  stack: string;
  prices: { asOf: string; region: string };
  jobTypes: JobTypePlan[];
  /** Job types of the stack the workload does not mention (not planned). */
  notInWorkload: string[];
  monthlyCostUsd: number;
  warnings: string[];
}

/** Reads the workload and the template and plans every job type the workload names. */
export function makePlan(workloadFile: string, options: PlanOptions, stackName?: string): Plan {
  let text: string;
  try {
    text = readFileSync(workloadFile, 'utf8');
  } catch (error) {
    throw usageError(`cannot read the workload ${workloadFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let workload;
  try {
    workload = parseWorkload(text, workloadFile);
  } catch (error) {
    throw usageError((error as Error).message, 'docs/planner.md describes the workload file');
  }
  let stack;
  try {
    stack = readStack(options.app, stackName);
  } catch (error) {
    throw notFound((error as Error).message, `point --app at a cloud assembly (npx cdk synth writes cdk.out; so does jobline dev)`);
  }
  const settings = planSettingsOf(stackModel(stack));
  const unknown = Object.keys(workload.jobTypes).filter((type) => !settings.some((s) => s.type === type));
  if (unknown.length > 0)
    throw notFound(`the workload names job types the stack ${stack.stackName} does not have: ${unknown.join(', ')} (it has: ${settings.map((s) => s.type).join(', ')})`);
  const jobTypes = settings.filter((s) => workload.jobTypes[s.type]).map((s) => planJobType(workload.jobTypes[s.type]!, s));
  return {
    assembly: options.app,
    stack: stack.stackName,
    prices: { asOf: PRICES.asOf, region: PRICES.region },
    jobTypes,
    notInWorkload: settings.filter((s) => !workload.jobTypes[s.type]).map((s) => s.type),
    monthlyCostUsd: jobTypes.reduce((sum, p) => sum + p.monthlyCostUsd.total, 0),
    warnings: jobTypes.flatMap((p) => p.warnings),
  };
}

const money = (usd: number) => `$${usd >= 100 ? Math.round(usd).toLocaleString('en-US') : usd.toFixed(2)}`;
const ms = (seconds: number) => humanDuration(seconds);
const pct = (share: number) => `${Math.round(share * 100)}%`;
const deadLettered = (share: number) => (share === 0 ? 'no jobs' : share < 1e-6 ? 'fewer than one job in a million' : `${(share * 100).toPrecision(2)}% of jobs`);

export function renderPlan(plan: Plan): string {
  const lines = [`plan of ${plan.stack} (${plan.assembly}); prices: ${plan.prices.region} on-demand as of ${plan.prices.asOf}, no free tier`];
  for (const p of plan.jobTypes) {
    const s = p.settings;
    const w = p.workload;
    const row = (label: string, text: string) => lines.push(`  ${label.padEnd(13)}${text}`);
    lines.push('');
    lines.push(
      `${colors.bold(p.type)}: ${s.fifo ? 'FIFO' : 'standard'} queue, batch ${s.batchSize}${s.batchingWindowSeconds ? ` (window ${s.batchingWindowSeconds} s)` : ''}, max concurrency ${s.maxConcurrency}, ${Math.min(s.workerConcurrency, s.batchSize)} records side by side, timeout ${s.workerTimeoutSeconds} s, ${s.memoryMb} MB`,
    );
    row('arrivals', `${fmt(w.arrivalsPerSecond)} jobs/s, ${fmt(p.attemptsPerJob)} attempts a job (${pct(w.failureRate)} of attempts fail), ${pct(w.duplicateRate)} duplicates`);
    row(
      'handler',
      `p50 ${ms(w.durationMs.p50 / 1000)}, p99 ${ms(w.durationMs.p99 / 1000)}: mean ${ms(p.meanHandlerSeconds)}; an invocation of ${p.recordsPerBatch} record(s) ${ms(p.meanInvocationSeconds)}`,
    );
    row(
      'capacity',
      `${fmt(p.capacityPerSecond)} jobs/s at most (${p.capacityBoundBy === 'batches' ? 'full batches at max concurrency' : `its ${p.capacityBoundBy} limit`}): ${p.keepsUp ? `keeps up, ${pct(p.utilisation)} busy` : colors.red('does NOT keep up')}`,
    );
    if (p.limits) {
      const l = p.limits;
      const numbers = [
        s.limits?.rate ? `rate ${fmt(s.limits.rate.perSecond)}/s (burst ${s.limits.rate.burst})` : '',
        s.limits?.concurrency !== undefined ? `${s.limits.concurrency} at once` : '',
      ]
        .filter(Boolean)
        .join(', ');
      row(
        'limits',
        `${numbers} a key, over ${l.keys} key(s): at most ${fmt(l.ceilingPerSecond)} starts/s (${l.binding}); ${fmt(l.admissionsPerSecond)}/s take a slot, ${pct(l.utilisation)} of it`,
      );
    }
    row(
      'concurrency',
      `handlers running ${fmt(p.handlersRunning.mean)} on average, ${p.handlersRunning.p99} at p99; Lambda ${fmt(p.lambdaConcurrency.mean)} on average, ${p.lambdaConcurrency.p99} at p99 (of ${s.maxConcurrency})`,
    );
    row('queue wait', p.keepsUp ? `mean ${ms(p.queueWaitSeconds.mean)}, median ${ms(p.queueWaitSeconds.median)}, p95 ${ms(p.queueWaitSeconds.p95)}` : 'grows without bound');
    if (p.burstDrainSeconds !== undefined) row('burst', `${w.burst!.toLocaleString('en-US')} jobs at once drain in ${ms(p.burstDrainSeconds)}`);
    row('retries', `${s.maxReceiveCount ?? 'unlimited'} attempts over ${ms(p.retrySpanSeconds)} at most; ${deadLettered(p.deadLetteredShare)} end in the DLQ`);
    const r = p.requestsPerSecond;
    row('requests', `API ${fmt(r.api)}/s, SQS ${fmt(r.sqs)}/s, DynamoDB ${fmt(r.dynamoWriteUnits)} write and ${fmt(r.dynamoReadUnits)} read units/s, events ${fmt(r.events)}/s`);
    const c = p.monthlyCostUsd;
    row('a month', `${money(c.total)}: Lambda ${money(c.lambda)}, SQS ${money(c.sqs)}, DynamoDB ${money(c.dynamodb)}, API ${money(c.api)}, events ${money(c.events)}`);
    for (const warning of p.warnings) lines.push(`  ${colors.yellow('warning:')} ${warning}`);
  }
  lines.push('');
  if (plan.notInWorkload.length > 0) lines.push(`not in the workload (not planned): ${plan.notInWorkload.join(', ')}`);
  lines.push(`in all: ${money(plan.monthlyCostUsd)} a month; ${plan.warnings.length === 0 ? 'no warnings' : `${plan.warnings.length} warning(s)`}`);
  return lines.join('\n');
}

/** Prints the plan; exit 1 when a job type does not keep up (so that a pipeline can gate on it). */
export function plan(workloadFile: string, options: PlanOptions, stackName?: string): number {
  const made = makePlan(workloadFile, options, stackName);
  if (options.json) printJson(made);
  else console.log(renderPlan(made));
  return made.jobTypes.every((p) => p.keepsUp) ? EXIT.ok : EXIT.failed;
}
