/**
 * The capacity planner's prediction error: `jobline plan`'s figures for a webhook workload against what
 * the local runtime measured under it (test/support/plan-reality.ts; the integration test asserts the
 * tolerance, this reports the error). No peer: it is the model against the system.
 */
import type { RealityCheck } from '../test/support/plan-reality';
import { isMainModule, printRowsAlone } from './run-alone';
import type { Row } from './table';

export async function measurePlannerError(dynamodbEndpoint: string): Promise<RealityCheck | { skipped: string }> {
  const { startLocalRuntime } = await import('../local/runtime');
  const { checkPlanAgainstRuntime, DEFAULT_REALITY_SCENARIO } = await import('../test/support/plan-reality');
  try {
    return await checkPlanAgainstRuntime(() => startLocalRuntime({ port: 0, endpoints: { dynamodb: dynamodbEndpoint }, namePrefix: `benchplan${Date.now().toString(36)}-` }), {
      ...DEFAULT_REALITY_SCENARIO,
      seconds: 60,
    });
  } catch (error) {
    return { skipped: `local runtime not available (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
}

const signed = (share: number) => `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)}%`;

export function plannerRows(check: RealityCheck | { skipped: string }): Row[] {
  if ('skipped' in check) return [{ benchmark: 'capacity planner vs the local runtime', metric: 'prediction error', jobline: `skipped: ${check.skipped}` }];
  const s = check.scenario;
  const benchmark = `jobline plan vs the local runtime (webhook, ${s.arrivalsPerSecond} jobs/s Poisson for ${s.seconds} s, handler p50 ${s.durationMs.p50} ms p99 ${s.durationMs.p99} ms)`;
  const { plan, measured, errors } = check;
  const row = (metric: string, m: number, p: number, error: string) => ({ benchmark, metric, jobline: `${m.toFixed(2)} measured, ${p.toFixed(2)} planned: ${error}` });
  return [
    row('throughput, jobs/s', measured.throughputPerSecond, s.arrivalsPerSecond, signed(errors.throughput)),
    row('handlers running at once, mean', measured.handlersRunningMean, plan.handlersRunning.mean, signed(errors.handlersRunningMean)),
    row('handlers running at once, p99', measured.handlersRunningP99, plan.handlersRunning.p99, signed(errors.handlersRunningP99)),
    row(
      'queue wait, median s',
      measured.queueWaitMedianSeconds,
      plan.queueWaitSeconds.median,
      `${((measured.queueWaitMedianSeconds - plan.queueWaitSeconds.median) * 1000).toFixed(0)} ms`,
    ),
  ];
}

// `npx tsx bench/planner.ts`: the planner rows alone, on a DynamoDB Local of their own.
if (isMainModule(import.meta.url)) await printRowsAlone(async (endpoint) => plannerRows(await measurePlannerError(endpoint)));
