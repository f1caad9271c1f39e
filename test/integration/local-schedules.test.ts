// The local runtime on a small hand-written cloud assembly (manifest, template, function assets): scheduled
// EventBridge rules fire their functions, tables get their global secondary indexes, and IAM routes pass the
// caller's identity from the SigV4 header.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Sha256 } from '../support/sha256';
import { ensureTable } from '../../local/provision';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime';
import { uniqueName } from '../support/resources';

const STACK = 'SchedulesTestStack';

const fn = (asset: string, environment: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'aws:asset:path': asset },
  Properties: { Handler: 'index.handler', Runtime: 'nodejs20.x', Timeout: 10, MemorySize: 128, Environment: { Variables: environment } },
});
const target = (logicalId: string, id: string, extra: Record<string, unknown> = {}) => ({ Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] }, Id: id, ...extra });

/** A cloud assembly as `cdk synth` writes one, with three functions, three rules, a table with indexes and two routes. */
function writeAssembly(): { dir: string; tickFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-schedules-'));
  const tickFile = path.join(dir, 'ticks.jsonl');
  const assets: Record<string, string> = {
    'asset.ticker': `import { appendFileSync } from 'node:fs';\nexport const handler = async (event) => { appendFileSync(process.env.TICK_FILE, JSON.stringify(event) + '\\n'); return { ok: true }; };\n`,
    'asset.failer': `export const handler = async () => { throw new Error('scheduled failure'); };\n`,
    'asset.echo': `export const handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ authorizer: event.requestContext.authorizer ?? null, headers: event.headers, time: event.requestContext.time }) });\n`,
  };
  for (const [asset, code] of Object.entries(assets)) {
    mkdirSync(path.join(dir, asset));
    writeFileSync(path.join(dir, asset, 'index.mjs'), code);
  }
  const template = {
    Resources: {
      Ticks: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
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
          ],
        },
      },
      Ticker: fn('asset.ticker', { TICK_FILE: tickFile }),
      Failer: fn('asset.failer'),
      Echo: fn('asset.echo'),
      TickRule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED', Targets: [target('Ticker', 'Target0')] } },
      FailRule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED', Targets: [target('Failer', 'Target0')] } },
      NightlyRule: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'cron(0 3 * * ? *)', State: 'ENABLED', Targets: [target('Ticker', 'Target0', { Input: '{"from":"cron"}' })] },
      },
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'api', ProtocolType: 'HTTP' } },
      Integration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'AWS_PROXY', IntegrationUri: { 'Fn::GetAtt': ['Echo', 'Arn'] }, PayloadFormatVersion: '2.0' },
      },
      PrivateRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: { ApiId: { Ref: 'Api' }, RouteKey: 'GET /whoami', AuthorizationType: 'AWS_IAM', Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] } },
      },
      OpenRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: { ApiId: { Ref: 'Api' }, RouteKey: 'GET /open', AuthorizationType: 'NONE', Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] } },
      },
    },
  };
  writeFileSync(path.join(dir, `${STACK}.template.json`), JSON.stringify(template, null, 1));
  const manifest = path.join(dir, 'manifest.json');
  writeFileSync(
    manifest,
    JSON.stringify({ version: '36.0.0', artifacts: { [STACK]: { type: 'aws:cloudformation:stack', properties: { templateFile: `${STACK}.template.json` } } } }),
  );
  // The runtime re-synthesizes an assembly older than the project's sources, which others may be editing
  // right now: date this one in the future so that it is always taken as it is.
  const future = new Date(Date.now() + 365 * 86_400_000);
  utimesSync(manifest, future, future);
  return { dir, tickFile };
}

let runtime: LocalRuntime | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(options: Partial<LocalRuntimeOptions> = {}) {
  const assembly = writeAssembly();
  dirs.push(assembly.dir);
  const events: string[] = [];
  const prefix = `${uniqueName('sch')}-`;
  runtime = await startLocalRuntime({
    assemblyDir: assembly.dir,
    port: 0,
    endpoints: { dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB!, sqs: process.env.AWS_ENDPOINT_URL_SQS! },
    namePrefix: prefix,
    onEvent: (m) => events.push(m),
    ...options,
  });
  return {
    rt: runtime,
    events,
    prefix,
    ticks: () =>
      existsSync(assembly.tickFile)
        ? readFileSync(assembly.tickFile, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
  };
}

describe('scheduled rules', () => {
  it('fires a rate rule every scheduleIntervalSeconds with a Scheduled Event, and keeps a failing rule running', async () => {
    const { rt, events, prefix, ticks } = await start({ scheduleIntervalSeconds: 1 });
    expect(events).toContain(`schedule ${prefix}TickRule: rate(1 minute), every 1 s locally (scheduleIntervalSeconds) → ${prefix}Ticker`);
    expect(events.filter((e) => e.includes('cron schedules are not run locally'))).toEqual([
      `note: cron schedules are not run locally (runSchedules() fires them on demand): ${prefix}NightlyRule cron(0 3 * * ? *)`,
    ]);

    await expect.poll(() => ticks().length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    const [first, second] = ticks();
    for (const event of [first!, second!]) {
      expect(event).toEqual({
        version: '0',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
        region: rt.region,
        resources: [`arn:aws:events:${rt.region}:000000000000:rule/${prefix}TickRule`],
        detail: {},
      });
    }
    expect(first!.id).not.toBe(second!.id);
    // The cron rule never fires on its own.
    expect(ticks().some((e) => e.from === 'cron')).toBe(false);

    // The failing target is logged, and its rule goes on firing.
    const failing = rt.schedules.get('FailRule')!;
    await expect.poll(() => failing.stats.runs, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect(events.some((e) => e.startsWith(`${prefix}FailRule → ${prefix}Failer: invocation failed (Error: scheduled failure)`))).toBe(true);
  });

  it('runSchedules() fires every rule once, cron rules included, and resolves when their functions have finished', async () => {
    // Without the override the rule's own rate (1 minute) applies: nothing fires during this test on its own.
    const { rt, events, prefix, ticks } = await start();
    expect(events).toContain(`schedule ${prefix}TickRule: rate(1 minute), every 60 s → ${prefix}Ticker`);
    expect(ticks()).toEqual([]);
    await rt.runSchedules();
    const seen = ticks();
    expect(seen).toHaveLength(2);
    expect(seen.filter((e) => e['detail-type'] === 'Scheduled Event')).toHaveLength(1);
    expect(seen.filter((e) => e.from === 'cron')).toHaveLength(1);
    expect(rt.schedules.get('FailRule')!.stats).toMatchObject({ runs: 1, failedInvocations: 1 });

    await rt.runSchedules();
    expect(ticks()).toHaveLength(4);

    await rt.stop();
    await expect(rt.runSchedules()).rejects.toThrow(/stopped/);
  });
});

describe('global secondary indexes', () => {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  const dynamoClient = () => client;
  afterAll(() => client.destroy());

  it('creates the template table with its indexes and projections', async () => {
    const { rt } = await start();
    const { Table } = await rt.dynamodb.send(new DescribeTableCommand({ TableName: rt.tables.get('Ticks')! }));
    expect(Table!.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const indexes = Object.fromEntries((Table!.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    expect(indexes.byStatus).toMatchObject({
      IndexStatus: 'ACTIVE',
      KeySchema: [
        { AttributeName: 'status', KeyType: 'HASH' },
        { AttributeName: 'at', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['owner'] },
    });
    expect(indexes.byTime).toMatchObject({ IndexStatus: 'ACTIVE', Projection: { ProjectionType: 'KEYS_ONLY' } });
  });

  it('refuses a table of an earlier run that lacks an index the template declares, saying what to do', async () => {
    const TableName = uniqueName('gsi');
    const base = { TableName, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }] };
    await ensureTable(dynamoClient(), base);
    await expect(
      ensureTable(dynamoClient(), {
        ...base,
        AttributeDefinitions: [...base.AttributeDefinitions, { AttributeName: 'status', AttributeType: 'S' }],
        GlobalSecondaryIndexes: [{ IndexName: 'byStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      }),
    ).rejects.toThrow(`table ${TableName} exists without the index byStatus the template declares: delete the table, or run with another name prefix`);
  });

  it('says which index key lacks an attribute definition', async () => {
    await expect(
      ensureTable(dynamoClient(), {
        TableName: uniqueName('gsi'),
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        GlobalSecondaryIndexes: [{ IndexName: 'byStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      }),
    ).rejects.toThrow(/index byStatus has key attributes without an AttributeDefinition: status/);
  });
});

describe('IAM routes', () => {
  it('pass the SigV4 caller, the anonymous local caller or 403, as the gateway documents', async () => {
    const { rt } = await start();
    const url = new URL(`${rt.apiUrl}/whoami`);
    const signer = new SignatureV4({ service: 'execute-api', region: rt.region, credentials: { accessKeyId: 'AKIALOCALTEST0001', secretAccessKey: 'secret' }, sha256: Sha256 });
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, headers: { host: url.host } });
    const headers = { ...(signed.headers as Record<string, string>) };
    delete headers.host;

    const caller = (await (await fetch(url, { headers })).json()) as { authorizer: { iam: Record<string, unknown> }; headers: Record<string, string>; time: string };
    expect(caller.authorizer.iam).toEqual({
      accessKey: 'AKIALOCALTEST0001',
      accountId: '000000000000',
      callerId: 'AKIALOCALTEST0001',
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: 'arn:aws:iam::000000000000:user/AKIALOCALTEST0001',
      userId: 'AKIALOCALTEST0001',
    });
    expect(caller.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-port': url.port, 'x-forwarded-proto': 'http' });
    expect(caller.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);

    const anonymous = (await (await fetch(url)).json()) as { authorizer: { iam: { accessKey: string } } };
    expect(anonymous.authorizer.iam.accessKey).toBe('local');

    const echo = rt.functions.get('Echo')!;
    const before = echo.stats.invocations;
    const refused = await fetch(url, { headers: { authorization: 'Bearer not-sigv4' } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ message: 'Forbidden' });
    expect(echo.stats.invocations).toBe(before);

    const open = (await (await fetch(`${rt.apiUrl}/open`, { headers })).json()) as { authorizer: unknown };
    expect(open.authorizer).toBeNull();
  });
});
