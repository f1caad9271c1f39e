// The default stack (buildApp() with no options), synthesized once: per job type a queue, its DLQ, a worker
// and alarms; the jobs table; the HTTP API; the outputs; cdk-nag; and the security properties the stack
// promises (least-privilege roles, encryption, TLS-only queues, authorization on every route).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, OUTPUT_MARKER, queueUrlVariable } from '../../shared/config';
import { joblineOutputs } from '../../cli/stack-outputs';
import { jobTypes } from '../../app/jobs';
import { visibilityTimeoutSeconds } from '../../shared/jobs/define';
import { MAX_MESSAGE_BYTES } from '../../shared/jobs/message';
import { limitNumbers } from '../../shared/limits/limits';
import {
  acknowledgements,
  apiFunctionOf,
  asList,
  buildTestApp,
  outputId,
  referencedIds,
  resource,
  resourcesOfType,
  roleStatements,
  synthesize,
  targetOf,
  workerOf,
  type PolicyStatement,
  type BuiltApp,
  type Synthesized,
} from '../support/cdk-synth';

let s: Synthesized;

let built: BuiltApp;

beforeAll(() => {
  built = buildTestApp();
  s = synthesize(built);
});

// Also when synth threw (a cdk-nag failure): the temporary cloud assembly goes.
afterAll(() => built?.cleanup());

const typeNames = jobTypes.map((t) => t.name);
const typeNamed = (name: string) => jobTypes.find((t) => t.name === name)!;
const props = (logicalId: string) => resource(s.json, logicalId).Properties ?? {};
const tableId = () => {
  const tables = resourcesOfType(s.json, 'AWS::DynamoDB::Table');
  expect(tables).toHaveLength(1);
  return tables[0]![0];
};

/** What notifications add (infra/job-notifier.ts): the notifier and the callback worker; the notifier's failure queue, the callback queue and its DLQ. */
const NOTIFY_FUNCTIONS = 2;
const NOTIFY_QUEUES = 3;

describe('job queues', () => {
  it('declares the example job types this file checks', () => {
    expect(typeNames).toEqual(expect.arrayContaining(['transfer', 'webhook']));
    // One queue and one DLQ per job type; the notifier's failure queue, the callback queue and its DLQ.
    expect(resourcesOfType(s.json, 'AWS::SQS::Queue')).toHaveLength(2 * jobTypes.length + NOTIFY_QUEUES);
  });

  it.each(typeNames)("%s: its queue redrives to its own DLQ after the type's maxReceiveCount", (name) => {
    const w = workerOf(s.json, name);
    expect(props(w.queueId).RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [w.deadLetterQueueId, 'Arn'] },
      maxReceiveCount: typeNamed(name).queue.maxReceiveCount,
    });
    // Its own DLQ: no other type's queue sends there.
    const others = typeNames.filter((n) => n !== name).map((n) => workerOf(s.json, n).deadLetterQueueId);
    expect(others).not.toContain(w.deadLetterQueueId);
  });

  it.each(typeNames)('%s: its DLQ keeps messages 14 days (the SQS maximum)', (name) => {
    expect(props(workerOf(s.json, name).deadLetterQueueId).MessageRetentionPeriod).toBe(1_209_600);
  });

  it.each(typeNames)('%s: both queues take 1 MiB messages', (name) => {
    const w = workerOf(s.json, name);
    expect(MAX_MESSAGE_BYTES).toBe(1_048_576);
    expect(props(w.queueId).MaximumMessageSize).toBe(1_048_576);
    expect(props(w.deadLetterQueueId).MaximumMessageSize).toBe(1_048_576);
  });

  it.each(typeNames)('%s: the visibility timeout is at least six times the worker timeout', (name) => {
    const w = workerOf(s.json, name);
    const visibility = props(w.queueId).VisibilityTimeout as number;
    const timeout = props(w.functionId).Timeout as number;
    expect(timeout).toBe(typeNamed(name).queue.timeoutSeconds);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
    expect(visibility).toBe(visibilityTimeoutSeconds(typeNamed(name).queue));
  });

  it('makes both transfer queues FIFO, without content-based deduplication (the job id deduplicates)', () => {
    const w = workerOf(s.json, 'transfer');
    for (const id of [w.queueId, w.deadLetterQueueId]) {
      expect(props(id)).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false });
    }
  });

  it('makes the webhook queues standard queues', () => {
    const w = workerOf(s.json, 'webhook');
    for (const id of [w.queueId, w.deadLetterQueueId]) expect(props(id).FifoQueue).toBeUndefined();
  });

  it.each(typeNames)('%s: no other queue may redrive its dead letters into the job queue', (name) => {
    expect(props(workerOf(s.json, name).queueId).RedriveAllowPolicy).toEqual({ redrivePermission: 'denyAll' });
  });

  it.each(typeNames)('%s: FIFO exactly when the job type declares it', (name) => {
    const w = workerOf(s.json, name);
    expect(props(w.queueId).FifoQueue === true).toBe(typeNamed(name).queue.fifo);
  });
});

describe('workers', () => {
  it.each(typeNames)("%s: the event source reports batch item failures, with the type's batch size and concurrency", (name) => {
    const q = typeNamed(name).queue;
    const mapping = props(workerOf(s.json, name).eventSourceMappingId);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.BatchSize).toBe(q.batchSize);
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: q.maxConcurrency });
    expect(mapping.MaximumBatchingWindowInSeconds ?? 0).toBe(q.fifo ? 0 : q.batchingWindowSeconds);
  });

  it('runs every function on nodejs24.x, arm64, with index.handler', () => {
    const functions = resourcesOfType(s.json, 'AWS::Lambda::Function');
    // A worker per job type, the API, the sweeper, the notifier and the callback worker.
    expect(functions).toHaveLength(jobTypes.length + 2 + NOTIFY_FUNCTIONS);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    }
  });

  it.each(typeNames)('%s: the worker gets its job type, table, queues and settings from the ENV variables', (name) => {
    const w = workerOf(s.json, name);
    const q = typeNamed(name).queue;
    expect(props(w.functionId).Environment.Variables).toEqual({
      [ENV.jobType]: name,
      [ENV.tableName]: { Ref: tableId() },
      [ENV.queueUrl]: { Ref: w.queueId },
      [ENV.deadLetterQueueUrl]: { Ref: w.deadLetterQueueId },
      [ENV.maxReceiveCount]: String(q.maxReceiveCount),
      [ENV.backoffBaseSeconds]: String(q.backoff.baseSeconds),
      [ENV.backoffMaxSeconds]: String(q.backoff.maxSeconds),
      [ENV.workerConcurrency]: String(Math.min(q.batchSize, 10)),
      [ENV.logLevel]: 'info',
      [ENV.metricsNamespace]: 'Jobline',
      // The limits as deployed (their numbers; the key is the declared one, in the bundle).
      ...(typeNamed(name).limits ? { [ENV.limits]: JSON.stringify(limitNumbers(typeNamed(name).limits!)) } : {}),
    });
  });

  it('gives the API function the table, the retention and every job queue URL', () => {
    const api = apiFunctionOf(s.json);
    const expected: Record<string, unknown> = {
      [ENV.tableName]: { Ref: tableId() },
      [ENV.retentionDays]: '30',
      [ENV.sweepAfterSeconds]: '300',
      [ENV.logLevel]: 'info',
      [ENV.metricsNamespace]: 'Jobline',
    };
    for (const name of typeNames) expected[queueUrlVariable(name)] = { Ref: workerOf(s.json, name).queueId };
    expect(props(api.functionId).Environment.Variables).toEqual(expected);
  });

  it('sets every variable of shared/config ENV on some function (none is read but never set)', () => {
    const set = new Set(resourcesOfType(s.json, 'AWS::Lambda::Function').flatMap(([, fn]) => Object.keys(fn.Properties?.Environment?.Variables ?? {})));
    for (const variable of Object.values(ENV)) expect(set).toContain(variable);
  });
});

describe('jobs table', () => {
  it('is on-demand, keyed by pk, with TTL on expiresAt, point-in-time recovery and encryption', () => {
    expect(props(tableId())).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('is kept when the stack is deleted (it holds the job history and the accounts)', () => {
    const table = s.json.Resources[tableId()] as { DeletionPolicy?: string };
    expect(table.DeletionPolicy).toBe('Retain');
  });
});

describe('HTTP API', () => {
  const routes = () => resourcesOfType(s.json, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!);

  it('has exactly the routes to submit (one or a batch), read, list, cancel and retry jobs, all on the API function', () => {
    expect(
      routes()
        .map((r) => r.RouteKey)
        .sort(),
    ).toEqual([
      'GET /jobs',
      'GET /jobs/{id}',
      'POST /bulk/cancel',
      'POST /bulk/retry',
      'POST /jobs/{id}',
      'POST /jobs/{id}/batch',
      'POST /jobs/{id}/cancel',
      'POST /jobs/{id}/retry',
    ]);
    const api = apiFunctionOf(s.json);
    for (const route of routes()) {
      const integrationId = [...referencedIds(route.Target)][0]!;
      expect(targetOf(props(integrationId).IntegrationUri)).toBe(api.functionId);
      expect(props(integrationId).PayloadFormatVersion).toBe('2.0');
    }
  });

  it('requires IAM (SigV4) authorization on every route by default', () => {
    expect(routes().map((r) => r.AuthorizationType)).toEqual(routes().map(() => 'AWS_IAM'));
    expect(routes()).toHaveLength(8);
  });

  it('names the path variable of each level the same in every route (HTTP APIs refuse /jobs/{type} beside /jobs/{id})', () => {
    const namesPerLevel = new Map<number, Set<string>>();
    for (const key of routes().map((r) => String(r.RouteKey))) {
      key
        .split(' ')[1]!
        .split('/')
        .forEach((segment, level) => {
          const variable = /^\{([^}]+)\}$/.exec(segment)?.[1];
          if (variable) namesPerLevel.set(level, (namesPerLevel.get(level) ?? new Set()).add(variable.replace(/\+$/, '')));
        });
    }
    expect(namesPerLevel.size).toBeGreaterThan(0);
    for (const names of namesPerLevel.values()) expect([...names]).toHaveLength(1);
  });

  it('writes access logs of the $default stage to a log group', () => {
    const stages = resourcesOfType(s.json, 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const stage = stages[0]![1].Properties!;
    expect(stage.StageName).toBe('$default');
    expect(stage.AutoDeploy).toBe(true);
    const destination = targetOf(stage.AccessLogSettings?.DestinationArn);
    expect(resource(s.json, destination!).Type).toBe('AWS::Logs::LogGroup');
    expect(stage.AccessLogSettings.Format).toContain('$context.requestId');
  });
});

describe('alarms', () => {
  const alarms = () => resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
  const on = (metric: string, dimensionTarget: string) =>
    alarms().filter((a) => a.MetricName === metric && asList<any>(a.Dimensions).some((d) => targetOf(d.Value) === dimensionTarget));

  it('has three alarms per job type, one more per job type with tenants (quiet tenants waiting), and two for notifications (notifier failures, callback DLQ)', () => {
    const withTenants = jobTypes.filter((t) => t.tenantKey !== undefined).length;
    expect(withTenants).toBe(1);
    expect(alarms()).toHaveLength(3 * jobTypes.length + withTenants + 2);
  });

  it.each(typeNames)('%s: alarms as soon as one message is in its DLQ', (name) => {
    const [alarm] = on('ApproximateNumberOfMessagesVisible', workerOf(s.json, name).deadLetterQueueId);
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
  });

  it.each(typeNames)('%s: alarms when its oldest job has waited too long (15 minutes by default)', (name) => {
    const [alarm] = on('ApproximateAgeOfOldestMessage', workerOf(s.json, name).queueId);
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', ComparisonOperator: 'GreaterThanThreshold', Threshold: 900 });
  });

  it.each(typeNames)('%s: alarms when its worker invocations fail', (name) => {
    const [alarm] = on('Errors', workerOf(s.json, name).functionId);
    expect(alarm).toMatchObject({ Namespace: 'AWS/Lambda', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
  });
});

describe('outputs', () => {
  const output = (id: string) => {
    const found = s.json.Outputs?.[outputId(id)];
    expect(found, `output ${id}`).toBeDefined();
    return found!;
  };

  it('gives the API URL and the table name', () => {
    expect(referencedIds(output('ApiUrl').Value)).toEqual(new Set([resourcesOfType(s.json, 'AWS::ApiGatewayV2::Api')[0]![0]]));
    expect(output('TableName').Value).toEqual({ Ref: tableId() });
  });

  it.each(typeNames)('%s: gives the URLs of its queue and DLQ', (name) => {
    const w = workerOf(s.json, name);
    expect(output(`QueueUrl-${name}`).Value).toEqual({ Ref: w.queueId });
    expect(output(`DeadLetterQueueUrl-${name}`).Value).toEqual({ Ref: w.deadLetterQueueId });
  });
});

describe('the outputs the jobline CLI reads (jobline ... --stack NAME)', () => {
  // DescribeStacks answers each output with its value resolved: stand a readable name in for each reference.
  const resolved = (value: unknown): string => {
    const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
    if (typeof value === 'string') return value;
    if (v.Ref) return `<${v.Ref}>`;
    if (v['Fn::Join']) return v['Fn::Join'][1].map(resolved).join(v['Fn::Join'][0]);
    throw new Error(`an output value the test cannot resolve: ${JSON.stringify(value)}`);
  };
  const outputs = () => Object.entries(s.json.Outputs ?? {}).map(([key, o]) => ({ OutputKey: key, OutputValue: resolved(o.Value), Description: o.Description }));

  it("the Jobline construct describes its API, its table and each job type's queues, and the CLI finds them whatever their logical ids", () => {
    const target = joblineOutputs('Jobline', 'eu-west-1', outputs());
    const [api] = resourcesOfType(s.json, 'AWS::ApiGatewayV2::Api')[0]!;
    expect(target.apiUrl).toMatch(new RegExp(`^https://<${api}>\\.execute-api\\.<AWS::Region>\\.<AWS::URLSuffix>`));
    expect(target.tableName).toBe(`<${tableId()}>`);
    expect(target.jobTypes).toEqual(
      [...typeNames].sort().map((name) => ({ type: name, queueUrl: `<${workerOf(s.json, name).queueId}>`, dlqUrl: `<${workerOf(s.json, name).deadLetterQueueId}>` })),
    );
  });

  it("the app's own outputs are not taken for the construct's", () => {
    const own = outputs().filter((o) => !o.Description?.startsWith(OUTPUT_MARKER));
    expect(own.length).toBeGreaterThan(0);
    expect(() => joblineOutputs('Jobline', 'eu-west-1', own)).toThrow(/has no jobline outputs/);
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  // That the check runs at all, and can fail, is proven in cdk-nag.test.ts.
  it('passes: synth succeeded and no plugin report failed', () => {
    expect(s.report.pluginReports.filter((r) => r.conclusion === 'failure')).toEqual([]);
  });

  it('gives a reason for every acknowledged rule', () => {
    const acks = acknowledgements(s.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) expect(ack.reason.trim(), `${ack.rule} on ${ack.path}`).not.toBe('');
  });
});

// ---- security ------------------------------------------------------------------------------------------

const SQS_CONSUME = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:PurgeQueue'];
const actionsOn = (statements: PolicyStatement[], logicalId: string) =>
  statements.filter((st) => st.Effect === 'Allow' && referencedIds(st.Resource).has(logicalId)).flatMap((st) => asList(st.Action));

function allIdentityStatements(): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const [, policy] of [...resourcesOfType(s.json, 'AWS::IAM::Policy'), ...resourcesOfType(s.json, 'AWS::IAM::ManagedPolicy')]) {
    statements.push(...asList<PolicyStatement>(policy.Properties?.PolicyDocument?.Statement));
  }
  for (const [, role] of resourcesOfType(s.json, 'AWS::IAM::Role')) {
    for (const inline of asList<any>(role.Properties?.Policies)) statements.push(...asList<PolicyStatement>(inline.PolicyDocument?.Statement));
  }
  return statements;
}

describe('security: IAM', () => {
  it('grants no wildcard action anywhere (every action is named)', () => {
    const actions = allIdentityStatements().flatMap((st) => asList(st.Action));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('grants nothing on Resource "*"', () => {
    const statements = allIdentityStatements();
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) expect(asList(st.Resource)).not.toContain('*');
  });

  it("allows a wildcard in a resource only for the log streams of the role's own log group (and ListStreams on the jobs table's streams)", () => {
    for (const [roleId, logGroupId] of functionRoles()) {
      for (const st of roleStatements(s.json, roleId)) {
        for (const r of asList(st.Resource)) {
          if (!JSON.stringify(r).includes('*')) continue;
          if (JSON.stringify(st.Action) === '"dynamodb:ListStreams"') {
            expect(r).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId(), 'Arn'] }, '/stream/*']] });
            continue;
          }
          expect(r).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }, ':log-stream:*']] });
        }
      }
    }
  });

  it('attaches no managed policy to any role (AWSLambdaBasicExecutionRole would allow logs on "*")', () => {
    for (const [, role] of resourcesOfType(s.json, 'AWS::IAM::Role')) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
  });

  it('lets only Lambda assume the function roles', () => {
    for (const [roleId] of functionRoles()) {
      expect(props(roleId).AssumeRolePolicyDocument.Statement).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }]);
    }
  });

  it.each(typeNames)('%s: the worker role references only its own queue, its own DLQ, the table and its own log group', (name) => {
    const w = workerOf(s.json, name);
    const referenced = referencedIds(roleStatements(s.json, w.roleId).map((st) => st.Resource));
    expect(referenced).toEqual(new Set([w.queueId, w.deadLetterQueueId, tableId(), w.logGroupId]));
    // Spelled out: nothing of another job type.
    for (const other of typeNames.filter((n) => n !== name)) {
      const o = workerOf(s.json, other);
      for (const id of [o.queueId, o.deadLetterQueueId, o.logGroupId]) expect(referenced.has(id)).toBe(false);
    }
  });

  it.each(typeNames)('%s: the worker consumes from its queue and may only send to its DLQ (and, with limits, its own queue)', (name) => {
    const w = workerOf(s.json, name);
    const statements = roleStatements(s.json, w.roleId);
    // What Lambda's event source needs, plus ChangeMessageVisibility for the backoff.
    expect(actionsOn(statements, w.queueId)).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility']));
    // A job over a limit goes back to its own queue as a delayed copy; without limits the worker never sends there.
    if (typeNamed(name).limits) expect(actionsOn(statements, w.queueId)).toContain('sqs:SendMessage');
    else expect(actionsOn(statements, w.queueId)).not.toContain('sqs:SendMessage');
    expect(actionsOn(statements, w.queueId)).not.toContain('sqs:PurgeQueue');
    expect(actionsOn(statements, w.deadLetterQueueId)).toEqual(['sqs:SendMessage']);
    for (const consume of SQS_CONSUME) expect(actionsOn(statements, w.deadLetterQueueId)).not.toContain(consume);
  });

  it.each(typeNames.filter((n) => typeNamed(n).kind === 'leased'))(
    '%s (leased): the worker cannot put or delete job records, and batch-reads them only with limits (it may put its limit items)',
    (name) => {
      const w = workerOf(s.json, name);
      const statements = roleStatements(s.json, w.roleId).filter((st) => st.Effect === 'Allow' && referencedIds(st.Resource).has(tableId()));
      const onJobs = statements.filter((st) => JSON.stringify(st.Condition).includes('JOB#'));
      const jobActions = onJobs.flatMap((st) => asList(st.Action));
      expect(jobActions).toContain('dynamodb:UpdateItem');
      for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan', 'dynamodb:Query']) {
        expect(jobActions).not.toContain(action);
      }
      // A type with limits reads its batch's records first (process-batch.ts): no slot for a finished job.
      if (typeNamed(name).limits) expect(jobActions).toContain('dynamodb:BatchGetItem');
      else expect(jobActions).not.toContain('dynamodb:BatchGetItem');
      // Anything else it may do on the table is on LIMIT# items only, and only for a job type with limits.
      const others = statements.filter((st) => !onJobs.includes(st));
      expect(others.length).toBe(typeNamed(name).limits ? 1 : 0);
      for (const st of others) {
        expect(st.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LIMIT#*'] } });
        expect(asList(st.Action).sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
      }
    },
  );

  it.each(typeNames.filter((n) => typeNamed(n).kind === 'transactional'))('%s (transactional): the worker can batch-read and update, never scan', (name) => {
    const tableActions = actionsOn(roleStatements(s.json, workerOf(s.json, name).roleId), tableId());
    expect(tableActions).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']));
    for (const action of ['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchWriteItem']) expect(tableActions).not.toContain(action);
  });

  it('the API role references only the table, the job queues (not the DLQs) and its own log group', () => {
    const api = apiFunctionOf(s.json);
    const queues = typeNames.map((n) => workerOf(s.json, n).queueId);
    expect(referencedIds(roleStatements(s.json, api.roleId).map((st) => st.Resource))).toEqual(new Set([tableId(), ...queues, api.logGroupId]));
  });

  it('the API role can send to every job queue and consume from none', () => {
    const api = apiFunctionOf(s.json);
    const statements = roleStatements(s.json, api.roleId);
    for (const name of typeNames) {
      const actions = actionsOn(statements, workerOf(s.json, name).queueId);
      expect(actions).toContain('sqs:SendMessage');
      for (const consume of SQS_CONSUME) expect(actions).not.toContain(consume);
    }
  });

  it('the API role has sqs:SendMessage and nothing else on the job queues', () => {
    const api = apiFunctionOf(s.json);
    const statements = roleStatements(s.json, api.roleId);
    for (const name of typeNames) expect(actionsOn(statements, workerOf(s.json, name).queueId)).toEqual(['sqs:SendMessage']);
  });

  it('the API role can create, read and update job records and query the list index, and not delete, scan or query the table', () => {
    const api = apiFunctionOf(s.json);
    const statements = roleStatements(s.json, api.roleId);
    const onItems = statements.filter((st) => st.Effect === 'Allow' && referencedIds(st.Resource).has(tableId()) && !JSON.stringify(st.Resource).includes('/index/'));
    expect(onItems.flatMap((st) => asList(st.Action)).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    const onIndexes = statements.filter((st) => st.Effect === 'Allow' && JSON.stringify(st.Resource).includes('/index/'));
    expect(onIndexes.map((st) => [asList(st.Action), JSON.stringify(st.Resource)])).toEqual([[['dynamodb:Query'], expect.stringContaining('/index/list')]]);
  });

  it('the API, the leased workers and the sweeper reach job records only (JOB# leading keys; the sweeper also its SWEEP# cursors, a worker with limits its LIMIT# items), never the accounts or other items', () => {
    const leased = typeNames.filter((n) => typeNamed(n).kind === 'leased').map((n) => workerOf(s.json, n).roleId);
    const roles = [apiFunctionOf(s.json).roleId, sweeperOf().roleId, ...leased];
    for (const roleId of roles) {
      const onTable = roleStatements(s.json, roleId).filter(
        (st) => st.Effect === 'Allow' && referencedIds(st.Resource).has(tableId()) && !JSON.stringify(st.Resource).includes('/index/'),
      );
      expect(onTable.length, roleId).toBeGreaterThan(0);
      for (const st of onTable) {
        const allowed = roleId === sweeperOf().roleId ? [['JOB#*', 'SWEEP#*']] : leased.includes(roleId) ? [['JOB#*'], ['LIMIT#*']] : [['JOB#*']];
        expect(
          allowed.map((keys) => JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } })),
          roleId,
        ).toContain(JSON.stringify(st.Condition));
      }
    }
  });

  it('the sweeper queries the sweep index only, and may send to the job queues and their DLQs', () => {
    const statements = roleStatements(s.json, sweeperOf().roleId);
    const queries = statements.filter((st) => asList(st.Action).includes('dynamodb:Query'));
    expect(queries.map((st) => JSON.stringify(st.Resource))).toEqual([expect.stringContaining('/index/sweep')]);
    for (const name of typeNames) {
      const w = workerOf(s.json, name);
      expect(actionsOn(statements, w.queueId)).toEqual(['sqs:SendMessage']);
      expect(actionsOn(statements, w.deadLetterQueueId)).toEqual(['sqs:SendMessage']);
    }
  });
});

describe('sweeper', () => {
  it("runs every minute on an EventBridge schedule, with every job type's queue, DLQ, receive budget and stale time", () => {
    const sweeper = sweeperOf();
    const rules = resourcesOfType(s.json, 'AWS::Events::Rule').map(([, r]) => r.Properties!);
    expect(rules).toEqual([expect.objectContaining({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' })]);
    expect(targetOf(rules[0]!.Targets[0].Arn)).toBe(sweeper.functionId);
    const types = JSON.stringify(props(sweeper.functionId).Environment.Variables[ENV.sweepTypes]);
    for (const name of typeNames) {
      const w = workerOf(s.json, name);
      expect(types).toContain(w.queueId);
      expect(types).toContain(w.deadLetterQueueId);
      expect(types).toContain(`\\"maxReceiveCount\\":${typeNamed(name).queue.maxReceiveCount}`);
    }
  });

  it('gives the job table a keys-only sweep index (sweep time by shard) and a keys-only list index (type, state, shard; owner, time)', () => {
    expect(props(tableId()).GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'sweep',
        KeySchema: [
          { AttributeName: 'sweepShard', KeyType: 'HASH' },
          { AttributeName: 'sweepAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: 'list',
        KeySchema: [
          { AttributeName: 'listKey', KeyType: 'HASH' },
          { AttributeName: 'listSort', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
  });
});

/** The sweeper function and its role. */
function sweeperOf(): { functionId: string; roleId: string } {
  const [functionId, fn] = resourcesOfType(s.json, 'AWS::Lambda::Function').find(([, f]) => f.Properties?.Environment?.Variables?.[ENV.sweepTypes] !== undefined)!;
  return { functionId, roleId: targetOf(fn.Properties?.Role)! };
}

describe('security: encryption and TLS', () => {
  it('encrypts every queue at rest (SQS-managed keys)', () => {
    const queues = resourcesOfType(s.json, 'AWS::SQS::Queue');
    expect(queues.length).toBe(2 * jobTypes.length + NOTIFY_QUEUES);
    for (const [, queue] of queues) expect(queue.Properties?.SqsManagedSseEnabled).toBe(true);
  });

  it('encrypts the table at rest', () => {
    expect(props(tableId()).SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('denies every request to every queue that does not use TLS', () => {
    const policies = resourcesOfType(s.json, 'AWS::SQS::QueuePolicy').map(([, p]) => p.Properties!);
    for (const [queueId] of resourcesOfType(s.json, 'AWS::SQS::Queue')) {
      const own = policies.filter((p) => asList(p.Queues).some((q) => targetOf(q) === queueId));
      const denials = own.flatMap((p) => asList<any>(p.PolicyDocument.Statement)).filter((st) => st.Effect === 'Deny');
      expect(denials, queueId).toContainEqual({
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      });
    }
  });

  it("has no catch-all $default route that would bypass the routes' authorization", () => {
    const keys = resourcesOfType(s.json, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties?.RouteKey);
    expect(keys).not.toContain('$default');
    expect(keys.length).toBeGreaterThan(0);
  });
});

/** [roleId, logGroupId] of every function. */
function functionRoles(): [string, string][] {
  const found = resourcesOfType(s.json, 'AWS::Lambda::Function').map(
    ([, fn]) => [targetOf(fn.Properties?.Role)!, targetOf(fn.Properties?.LoggingConfig?.LogGroup)!] as [string, string],
  );
  expect(found).toHaveLength(jobTypes.length + 2 + NOTIFY_FUNCTIONS);
  return found;
}

describe('deployed bundles', () => {
  it("leave the chaos suite's fault injection out of every function", () => {
    const functions = resourcesOfType(s.json, 'AWS::Lambda::Function');
    const read = (logicalId: string) => {
      const assetPath = (s.json.Resources[logicalId] as { Metadata?: Record<string, string> }).Metadata?.['aws:asset:path'];
      return readFileSync(path.join(s.outdir, assetPath!, 'index.mjs'), 'utf8');
    };
    // The notifier and the callback worker never touch the table.
    const notify = (fn: (typeof functions)[number][1]) =>
      'JOBLINE_EVENT_BUS' in (fn.Properties?.Environment?.Variables ?? {}) || 'JOBLINE_CALLBACK_SECRET' in (fn.Properties?.Environment?.Variables ?? {});
    expect(functions.filter(([, fn]) => notify(fn))).toHaveLength(NOTIFY_FUNCTIONS);
    for (const [logicalId] of functions) expect(read(logicalId)).not.toContain('fault injected');
    const assets = functions.filter(([, fn]) => !notify(fn)).map(([logicalId]) => read(logicalId));
    expect(assets.length).toBe(jobTypes.length + 2);
    for (const code of assets) {
      expect(code).toContain('JOBLINE_TABLE_NAME');
      expect(code).not.toContain('fault injected');
      expect(code).not.toContain('JOBLINE_FAULTS');
    }
  });
});
