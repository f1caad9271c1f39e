// `jobline plan` checked against the running system (test/support/plan-reality.ts): the local runtime takes
// webhook jobs at the planned rate, with a target of known (log-normal) duration, and what it measured must
// be within the stated tolerance of the plan: ±25% for throughput and for the handlers running at once (mean
// and p99); for the median queue wait ±25% or 0.25 s, whichever is larger, because the model's wait is the
// queue's alone and the runtime adds its dispatch (a poll, an invoke, the claim's write) of tens of ms.
import { expect, it } from 'vitest';
import { startLocalRuntime } from '../../local/runtime';
import { checkPlanAgainstRuntime, DEFAULT_REALITY_SCENARIO } from '../support/plan-reality';
import { uniqueName } from '../support/resources';

const endpoints = () => ({ dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! });

it('measured throughput, handlers running at once and median queue wait are within tolerance of the plan', { timeout: 240_000 }, async () => {
  const check = await checkPlanAgainstRuntime(() => startLocalRuntime({ port: 0, endpoints: endpoints(), namePrefix: `${uniqueName('plan')}-` }), DEFAULT_REALITY_SCENARIO);
  const { plan, measured, errors } = check;
  const report = JSON.stringify({ planned: { handlersRunning: plan.handlersRunning, queueWaitSeconds: plan.queueWaitSeconds }, measured, errors });
  console.info(`plan vs measured: ${report}`);
  expect(plan.keepsUp, report).toBe(true);
  expect(Math.abs(errors.throughput), report).toBeLessThanOrEqual(0.25);
  expect(Math.abs(errors.handlersRunningMean), report).toBeLessThanOrEqual(0.25);
  expect(Math.abs(errors.handlersRunningP99), report).toBeLessThanOrEqual(0.25);
  expect(Math.abs(measured.queueWaitMedianSeconds - plan.queueWaitSeconds.median), report).toBeLessThanOrEqual(Math.max(0.25, 0.25 * plan.queueWaitSeconds.median));
});
