// The Jobline construct as a user of aws-cdk-lib meets it: each worker bundled from its own handler's
// module and the API from the declarations alone (read in the synthesized assets), a job type that is an
// IGrantable, grantSubmit for a producer function, optional API and alarms, and errors that say what was given.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transfer, transferType } from '../../app/jobs/transfer/handler';
import { webhook } from '../../app/jobs/webhook/handler';
import { Jobline } from '../../infra/jobline';
import { queueUrlVariable } from '../../shared/config';
import { NO_BUNDLING } from '../support/cdk-synth';

const outdirs: string[] = [];
/** A consumer's stack; `bundle: false` (NO_BUNDLING) where a test reads no function code. */
function newStack({ bundle }: { bundle: boolean }): { app: App; stack: Stack } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'jobline-construct-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true, ...(bundle ? {} : NO_BUNDLING) } });
  return { app, stack: new Stack(app, 'Consumer') };
}
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The bundled code of a function, read from the cloud assembly through its asset metadata. */
function bundleOf(outdir: string, template: Template, logicalIdPrefix: string): string {
  const [, fn] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith(logicalIdPrefix))!;
  const asset = (fn as { Metadata: Record<string, string> }).Metadata['aws:asset:path']!;
  return readFileSync(path.join(outdir, asset, 'index.mjs'), 'utf8');
}

// String literals that only each handler's code holds (the schemas' messages are in the API on purpose).
const TRANSFER_HANDLER = 'ADD balance :delta';
const WEBHOOK_HANDLER = 'the call was aborted';

describe('a stack with two job types, a bucket granted to one, and a producer function', () => {
  let template: Template;
  let outdir: string;

  beforeAll(() => {
    const { app, stack } = newStack({ bundle: true });
    const jobs = new Jobline(stack, 'Jobs');
    const transfers = jobs.addJobType(transfer);
    const webhooks = jobs.addJobType(webhook, { overrides: { batchSize: 5 } });
    new Bucket(stack, 'Images', { enforceSSL: true }).grantRead(webhooks);
    const producer = new LambdaFunction(stack, 'Producer', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => {}'),
    });
    jobs.grantSubmit(producer);
    expect(transfers.jobTypeName).toBe('transfer');
    outdir = app.synth().directory;
    template = Template.fromStack(stack);
  }, 120_000);

  it('bundles each worker from its own handler only, and the API from the declarations only', () => {
    const transferWorker = bundleOf(outdir, template, 'JobsJobTypetransferWorker');
    const webhookWorker = bundleOf(outdir, template, 'JobsJobTypewebhookWorker');
    const api = bundleOf(outdir, template, 'JobsApiHandler');
    expect(transferWorker).toContain(TRANSFER_HANDLER);
    expect(transferWorker).not.toContain(WEBHOOK_HANDLER);
    expect(webhookWorker).toContain(WEBHOOK_HANDLER);
    expect(webhookWorker).not.toContain(TRANSFER_HANDLER);
    expect(api).not.toContain(TRANSFER_HANDLER);
    expect(api).not.toContain(WEBHOOK_HANDLER);
    // ...but the API validates with the types' schemas.
    expect(api).toContain('url must be an absolute http(s) URL');
    expect(transferWorker).not.toBe(webhookWorker);
  });

  it('lets a grant on a job type reach its worker and no other function', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['s3:GetObject*']) })]) } },
    });
    const roles = Object.values(policies).flatMap((p) => (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.map((r) => r.Ref));
    expect(roles).toHaveLength(1);
    expect(roles[0]).toMatch(/^JobsJobTypewebhookWorkerRole/);
  });

  it('gives a producer what JobClient needs: job records, every queue, and their names in its environment', () => {
    const producer = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Code: { ZipFile: Match.anyValue() } } }))[0] as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(Object.keys(producer.Properties.Environment.Variables)).toEqual(
      expect.arrayContaining(['JOBLINE_TABLE_NAME', queueUrlVariable('transfer'), queueUrlVariable('webhook')]),
    );
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p).includes('ProducerServiceRole'))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Condition?: unknown }[] } } }).Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:GetItem', 'sqs:SendMessage']));
    expect(statements.find((s) => [s.Action].flat().includes('dynamodb:PutItem'))?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOB#*'] } });
  });

  it('applies per-deployment overrides to the event source', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 5 });
  });
});

describe('options', () => {
  it("limits: a deployment's numbers replace the declared ones in the worker's environment; refused where none are declared, or out of range", () => {
    const { stack } = newStack({ bundle: false });
    const jobs = new Jobline(stack, 'Jobs', { alarms: false });
    expect(() => jobs.addJobType(transfer, { limits: { concurrency: 2 } })).toThrow(
      'job type "transfer": limits can only replace the numbers of limits the job type declares (it declares none)',
    );
    const limited = { ...webhook, limits: { rate: { perSecond: 50 } } };
    expect(() => jobs.addJobType(limited, { limits: { rate: { perSecond: 0 } } })).toThrow('job type "webhook": limits.rate.perSecond must be more than 0 and at most 10000');
    jobs.addJobType(limited, { limits: { rate: { perSecond: 5 }, concurrency: 3 } });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ JOBLINE_JOB_TYPE: 'webhook', JOBLINE_LIMITS: JSON.stringify({ concurrency: 3, rate: { perSecond: 5 } }) }) },
    });
  });

  it('api: false and alarms: false leave them out; a bring-your-own table is used as it is', () => {
    const { stack } = newStack({ bundle: false });
    const own = new Jobline(stack, 'Shared', { alarms: false }).table;
    const jobs = new Jobline(stack, 'Jobs', { api: false, alarms: false, table: own });
    jobs.addJobType(transfer);
    expect(() => jobs.apiUrl).toThrow(/no API \(api: false\)/);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1); // the other Jobline's
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  }, 120_000);

  it('refuses what it cannot deploy, saying what was given', () => {
    const { stack } = newStack({ bundle: false });
    expect(() => new Jobline(stack, 'Short', { retention: Duration.days(3) })).toThrow('retention must be whole days, at least 14 (how long a DLQ keeps a message) (given 3 days)');
    expect(() => new Jobline(stack, 'Fast', { sweepInterval: Duration.seconds(10) })).toThrow(
      "sweepInterval must be at least 1 minute, EventBridge's shortest rate (given 10 seconds)",
    );
    expect(() => new Jobline(stack, 'Soon', { sweepAfter: Duration.seconds(5), sweepGrace: Duration.seconds(0) })).not.toThrow();
    const jobs = new Jobline(stack, 'Jobs');
    expect(() => jobs.addJobType(transferType as never)).toThrow(
      'addJobType takes what defineJob returns (given an object named "transfer" without a handler: use defineJob, not defineJobType)',
    );
    jobs.addJobType(transfer);
    expect(() => jobs.addJobType(transfer)).toThrow('job type "transfer" was already added to Consumer/Jobs');
    expect(() => jobs.addJobType(webhook, { overrides: { batchSize: 20 } })).toThrow('job type "webhook": batchSize above 10 needs batchingWindowSeconds >= 1');
  });

  it('accepts unresolved tokens without comparing them', () => {
    const { stack } = newStack({ bundle: false });
    const days = new CfnParameter(stack, 'RetentionDays', { type: 'Number' }).valueAsNumber;
    const minutes = new CfnParameter(stack, 'SweepMinutes', { type: 'Number' }).valueAsNumber;
    const jobs = new Jobline(stack, 'Jobs', { retention: Duration.days(days), sweepInterval: Duration.minutes(minutes), sweepAfter: Duration.seconds(minutes) });
    jobs.addJobType(transfer);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ JOBLINE_RETENTION_DAYS: { Ref: 'RetentionDays' } }) } });
  });
});
