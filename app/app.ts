/**
 * The CDK app (cdk.json runs it). Settings come from CDK context, e.g.
 *   npx cdk deploy -c authorization=none -c alarmTopicArn=arn:aws:sns:...
 *   -c queueOverrides='{"webhook":{"batchSize":5}}'
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { jobTypes as allJobTypes } from './jobs';
import { parseContext, type QueueOverrides } from './context';
import { JoblineStack, type JoblineStackProps } from './stack';

export interface AppOptions extends JoblineStackProps {
  outdir?: string;
  stackName?: string;
  /** Run CloudFormation's template validation during synth (slow; on by default in the CLI). */
  validateTemplates?: boolean;
  /** Extra CDK context for the app (e.g. `aws:cdk:bundling-stacks: []` for tests that read no function code). */
  context?: Record<string, unknown>;
}

/** The app's settings from CDK context, checked (infra/context.ts): a typo is an error, not a default. */
export function contextOptions(app: App, jobTypes: readonly { name: string }[] = allJobTypes): AppOptions {
  const settings = parseContext(
    app.node.getAllContext() as Record<string, unknown>,
    jobTypes.map((t) => t.name),
  );
  return {
    stackName: settings.stackName,
    authorization: settings.authorization,
    alarmTopicArn: settings.alarmTopicArn,
    queueOverrides: settings.queueOverrides as QueueOverrides | undefined,
    limitOverrides: settings.limitOverrides,
    logLevel: settings.logLevel,
    retentionDays: settings.retentionDays,
  };
}

export function buildApp({ context, ...options }: AppOptions = {}): { app: App; stack: JoblineStack } {
  const app = new App({
    // The local runtime finds each function's bundled code through this metadata (the CLI sets it too).
    context: { 'aws:cdk:enable-asset-metadata': true, ...context },
    ...(options.outdir ? { outdir: options.outdir } : {}),
    ...(options.validateTemplates === false ? { builtinCloudFormationValidation: false } : {}),
  });
  const settings = { ...stripUndefined(contextOptions(app, options.jobTypes)), ...stripUndefined(options) };
  const stack = new JoblineStack(app, settings.stackName ?? 'Jobline', {
    ...settings,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
