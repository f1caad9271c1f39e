// Deployment options change the template, and only where they should: authorization: 'none' opens the
// routes (with its cdk-nag acknowledgement and reason), queueOverrides change one job type's queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../shared/config';
import { transfer } from '../../app/jobs/transfer/handler';
import { acknowledgements, buildTestApp, resource, resourcesOfType, synthesize, workerOf, type BuiltApp, type Synthesized } from '../support/cdk-synth';

let s: Synthesized;

let built: BuiltApp;

beforeAll(() => {
  built = buildTestApp({ bundle: false, authorization: 'none', queueOverrides: { webhook: { batchSize: 3, maxReceiveCount: 2 } } });
  s = synthesize(built);
});

// Also when synth threw (a cdk-nag failure): the temporary cloud assembly goes.
afterAll(() => built?.cleanup());

const props = (logicalId: string) => resource(s.json, logicalId).Properties ?? {};

describe("authorization: 'none'", () => {
  it('leaves every route without authorization', () => {
    const routes = resourcesOfType(s.json, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!);
    expect(routes.map((r) => [r.RouteKey, r.AuthorizationType]).sort()).toEqual([
      ['GET /jobs', 'NONE'],
      ['GET /jobs/{id}', 'NONE'],
      ['POST /bulk/cancel', 'NONE'],
      ['POST /bulk/retry', 'NONE'],
      ['POST /jobs/{id}', 'NONE'],
      ['POST /jobs/{id}/batch', 'NONE'],
      ['POST /jobs/{id}/cancel', 'NONE'],
      ['POST /jobs/{id}/retry', 'NONE'],
    ]);
  });

  it('still passes cdk-nag: the open routes are acknowledged (AwsSolutions-APIG4) with a reason', () => {
    expect(s.report.pluginReports.filter((r) => r.conclusion === 'failure')).toEqual([]);
    const routeAcks = acknowledgements(s.app).filter((a) => a.rule.includes('AwsSolutions-APIG4'));
    expect(routeAcks.map((a) => a.path.split('/').at(-1)).sort()).toEqual([
      'GET--jobs',
      'GET--jobs--{id}',
      'POST--bulk--cancel',
      'POST--bulk--retry',
      'POST--jobs--{id}',
      'POST--jobs--{id}--batch',
      'POST--jobs--{id}--cancel',
      'POST--jobs--{id}--retry',
    ]);
    for (const ack of acknowledgements(s.app)) expect(ack.reason.trim(), `${ack.rule} on ${ack.path}`).not.toBe('');
  });
});

describe('queueOverrides', () => {
  it('sets the overridden batch size on the event source', () => {
    expect(props(workerOf(s.json, 'webhook').eventSourceMappingId).BatchSize).toBe(3);
  });

  it('sets the overridden maxReceiveCount in the redrive policy and tells the worker', () => {
    const w = workerOf(s.json, 'webhook');
    expect(props(w.queueId).RedrivePolicy.maxReceiveCount).toBe(2);
    expect(props(w.functionId).Environment.Variables[ENV.maxReceiveCount]).toBe('2');
    // The worker never runs more records at once than a batch holds.
    expect(props(w.functionId).Environment.Variables[ENV.workerConcurrency]).toBe('3');
  });

  it('leaves the other job types as declared', () => {
    const w = workerOf(s.json, 'transfer');
    expect(props(w.eventSourceMappingId).BatchSize).toBe(transfer.queue.batchSize);
    expect(props(w.queueId).RedrivePolicy.maxReceiveCount).toBe(transfer.queue.maxReceiveCount);
  });
});

describe('queueOverrides that AWS would refuse', () => {
  // Checked before the job type's resources are made (the first type in the list, so nothing is bundled).
  it('fail when the stack is built, naming the job type and the problem', () => {
    expect(() => buildTestApp({ bundle: false, queueOverrides: { transfer: { batchSize: 11 } } })).toThrow('job type "transfer": a FIFO queue takes batchSize 1-10');
  });
});
