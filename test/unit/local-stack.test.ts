// The local runtime reads scheduled rules and global secondary indexes from the template, fires rate rules
// with EventBridge's Scheduled Event, and its gateway authorizes IAM routes as documented in local/gateway.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startGateway, type Gateway } from '../../local/gateway';
import type { InvokeResult } from '../../local/lambda/function-pool';
import { eventTime, scheduledEvent, ScheduledRule, type ScheduledRuleConfig } from '../../local/scheduler';
import type { CfnTemplate } from '../../local/template/cloud-assembly';
import { rateSeconds, stackModel } from '../../local/template/stack-model';

const fn = (logicalId: string) => ({ [logicalId]: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler', Runtime: 'nodejs20.x' } } });
const modelOf = (resources: CfnTemplate['Resources']) => stackModel({ stackName: 'S', assemblyDir: '/nowhere', template: { Resources: resources } });

describe('rate expressions', () => {
  it('gives the period in seconds', () => {
    expect(rateSeconds('rate(1 minute)')).toBe(60);
    expect(rateSeconds('rate(5 minutes)')).toBe(300);
    expect(rateSeconds('rate(1 hour)')).toBe(3600);
    expect(rateSeconds('rate(2 hours)')).toBe(7200);
    expect(rateSeconds('rate(1 day)')).toBe(86_400);
    expect(rateSeconds('rate(7 days)')).toBe(604_800);
  });

  it('rejects what EventBridge rejects, and cron expressions', () => {
    for (const bad of ['rate(0 minutes)', 'rate(1 minutes)', 'rate(2 minute)', 'rate(1.5 hours)', 'rate(1 second)', 'rate(-1 days)', 'cron(0 12 * * ? *)'])
      expect(rateSeconds(bad), bad).toBeUndefined();
  });
});

describe('stackModel: scheduled rules', () => {
  it('reads rate and cron rules, their state and their function targets', () => {
    const model = modelOf({
      ...fn('Sweeper'),
      ...fn('Reporter'),
      SweepRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'rate(1 minute)',
          State: 'ENABLED',
          Targets: [
            { Arn: { 'Fn::GetAtt': ['Sweeper', 'Arn'] }, Id: 'Target0' },
            { Arn: { 'Fn::GetAtt': ['Reporter', 'Arn'] }, Id: 'Target1', Input: '{"report":true}' },
            { Arn: { 'Fn::GetAtt': ['SomeQueue', 'Arn'] }, Id: 'Target2' },
          ],
        },
      },
      NightlyRule: {
        Type: 'AWS::Events::Rule',
        Properties: { Name: 'nightly', ScheduleExpression: 'cron(0 3 * * ? *)', State: 'DISABLED', Targets: [{ Arn: { 'Fn::GetAtt': ['Reporter', 'Arn'] }, Id: 'T' }] },
      },
      PatternRule: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['aws.s3'] }, Targets: [] } },
    });
    expect(model.schedules).toEqual([
      {
        logicalId: 'SweepRule',
        name: 'SweepRule',
        expression: 'rate(1 minute)',
        rateSeconds: 60,
        enabled: true,
        functionLogicalIds: ['Sweeper', 'Reporter'],
        targets: [
          { id: 'Target0', functionLogicalId: 'Sweeper' },
          { id: 'Target1', functionLogicalId: 'Reporter', input: '{"report":true}' },
        ],
        unsupportedTargets: ['Target2'],
      },
      {
        logicalId: 'NightlyRule',
        name: 'nightly',
        expression: 'cron(0 3 * * ? *)',
        rateSeconds: undefined,
        enabled: false,
        functionLogicalIds: ['Reporter'],
        targets: [{ id: 'T', functionLogicalId: 'Reporter' }],
        unsupportedTargets: [],
      },
    ]);
  });

  it('refuses a schedule expression CloudFormation would refuse', () => {
    expect(() => modelOf({ R: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 minutes)', Targets: [] } } })).toThrow(/invalid ScheduleExpression/);
    expect(() =>
      modelOf({
        ...fn('F'),
        R: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 minute)', Targets: [{ Id: 'T', Arn: { 'Fn::GetAtt': ['F', 'Arn'] }, Input: '{no' }] } },
      }),
    ).toThrow(/not valid JSON/);
  });
});

describe('stackModel: global secondary indexes', () => {
  it('reads each index with its key schema and projection', () => {
    const keys = [{ AttributeName: 'pk', KeyType: 'HASH' }];
    const model = modelOf({
      Table: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: keys,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'status', AttributeType: 'S' },
            { AttributeName: 'at', AttributeType: 'N' },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byStatus',
              KeySchema: [
                { AttributeName: 'status', KeyType: 'HASH' },
                { AttributeName: 'at', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['owner'] },
            },
            { IndexName: 'byTime', KeySchema: [{ AttributeName: 'at', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
            { IndexName: 'all', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
          ],
        },
      },
      Plain: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: keys, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] } },
    });
    expect(model.tables[0]!.globalSecondaryIndexes).toEqual([
      {
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['owner'] },
      },
      { IndexName: 'byTime', KeySchema: [{ AttributeName: 'at', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
      { IndexName: 'all', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
    ]);
    expect(model.tables[1]!.globalSecondaryIndexes).toEqual([]);
  });
});

describe('the Scheduled Event', () => {
  it('has EventBridge shape: time without milliseconds, the rule ARN as resource, empty detail', () => {
    const event = scheduledEvent(
      { arn: 'arn:aws:events:eu-west-1:000000000000:rule/sweep', region: 'eu-west-1', accountId: '000000000000' },
      new Date(Date.UTC(2026, 10, 27, 20, 47, 0, 123)),
    );
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-11-27T20:47:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:000000000000:rule/sweep'],
      detail: {},
    });
    expect(eventTime(new Date(Date.UTC(2027, 0, 1)))).toBe('2027-01-01T00:00:00Z');
  });
});

describe('ScheduledRule', () => {
  afterEach(() => vi.useRealTimers());

  const ok: InvokeResult = { ok: true, result: null, durationMs: 1 };
  const config = (invoke: (event: unknown) => Promise<InvokeResult>, extra: Partial<ScheduledRuleConfig> = {}): ScheduledRuleConfig => ({
    name: 'sweep',
    arn: 'arn:aws:events:us-east-1:000000000000:rule/sweep',
    expression: 'rate(1 minute)',
    region: 'us-east-1',
    accountId: '000000000000',
    intervalSeconds: 60,
    targets: [{ id: 'T', functionName: 'fn', invoke }],
    ...extra,
  });

  it('fires every interval, first one interval after the start, and skips ticks while the previous run goes on', async () => {
    vi.useFakeTimers();
    const events: unknown[] = [];
    let finish: (() => void) | undefined;
    const rule = new ScheduledRule(
      config(
        (event) =>
          new Promise((resolve) => {
            events.push(event);
            finish = () => resolve(ok);
          }),
      ),
    );
    rule.start();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(events).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ 'detail-type': 'Scheduled Event', resources: ['arn:aws:events:us-east-1:000000000000:rule/sweep'] });
    // Still running at the next two ticks: both are skipped.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(events).toHaveLength(1);
    expect(rule.stats.skippedTicks).toBe(2);
    finish!();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toHaveLength(2);
    finish!();
    await rule.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(events).toHaveLength(2);
  });

  it('sends every target the same event, or its constant Input', async () => {
    const seen: unknown[][] = [[], []];
    const rule = new ScheduledRule(
      config(async () => ok, {
        targets: [
          { id: 'A', functionName: 'a', invoke: async (e) => (seen[0]!.push(e), ok) },
          { id: 'B', functionName: 'b', invoke: async (e) => (seen[1]!.push(e), ok) },
          { id: 'C', functionName: 'c', input: '{"k":1}', invoke: async (e) => (seen[1]!.push(e), ok) },
        ],
      }),
    );
    await rule.runNow();
    expect((seen[0]![0] as { id: string }).id).toBe((seen[1]![0] as { id: string }).id);
    expect(seen[1]![1]).toEqual({ k: 1 });
    expect(rule.stats).toMatchObject({ runs: 1, invocations: 3, failedInvocations: 0 });
  });

  it('logs a failing target and keeps the schedule running', async () => {
    vi.useFakeTimers();
    const log: string[] = [];
    let calls = 0;
    const rule = new ScheduledRule(
      config(async () => (++calls === 1 ? { ok: false, kind: 'error', errorType: 'Error', errorMessage: 'boom', durationMs: 1 } : ok), { intervalSeconds: 1 }),
      (m) => log.push(m),
    );
    rule.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls).toBe(3);
    expect(rule.stats.failedInvocations).toBe(1);
    expect(log).toEqual(['sweep → fn: invocation failed (Error: boom); the schedule goes on']);
    await rule.stop();
  });

  it('never fires a rule without an interval (cron) on its own, and refuses to run once stopped', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const rule = new ScheduledRule(config(async () => (calls++, ok), { intervalSeconds: undefined, expression: 'cron(0 3 * * ? *)' }));
    rule.start();
    await vi.advanceTimersByTimeAsync(7 * 86_400_000);
    expect(calls).toBe(0);
    await rule.runNow();
    expect(calls).toBe(1);
    await rule.stop();
    await expect(rule.runNow()).rejects.toThrow(/stopped/);
  });
});

describe('gateway: IAM routes', () => {
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  it('passes the identity to IAM routes, none to NONE routes, and answers 403 without invoking for a header that is not SigV4', async () => {
    const events: { requestContext: { authorizer?: { iam: { accessKey: string } } }; headers: Record<string, string> }[] = [];
    const invoke = async (event: unknown): Promise<InvokeResult> => {
      events.push(event as (typeof events)[number]);
      return { ok: true, result: { statusCode: 200, body: 'ok' }, durationMs: 1 };
    };
    gateway = await startGateway(
      [
        { routeKey: 'GET /private', authorizationType: 'AWS_IAM', invoke },
        { routeKey: 'GET /public', authorizationType: 'NONE', invoke },
      ],
      { port: 0 },
    );
    const sigv4 = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123';

    expect((await fetch(`${gateway.url}/private`, { headers: { authorization: sigv4 } })).status).toBe(200);
    expect(events.at(-1)!.requestContext.authorizer!.iam.accessKey).toBe('AKIDEXAMPLE');
    expect((await fetch(`${gateway.url}/private`)).status).toBe(200);
    expect(events.at(-1)!.requestContext.authorizer!.iam.accessKey).toBe('local');
    expect(events.at(-1)!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(events.at(-1)!.headers['x-forwarded-port']).toBe(new URL(gateway.url).port);

    const refused = await fetch(`${gateway.url}/private`, { headers: { authorization: 'Bearer token' } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ message: 'Forbidden' });
    expect(events).toHaveLength(2);

    expect((await fetch(`${gateway.url}/public`, { headers: { authorization: 'Bearer token' } })).status).toBe(200);
    expect(events.at(-1)!.requestContext.authorizer).toBeUndefined();
    // An unknown route is still 404, before any authorization.
    expect((await fetch(`${gateway.url}/nowhere`, { headers: { authorization: 'Bearer token' } })).status).toBe(404);
  });
});
