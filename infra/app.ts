/**
 * The CDK app (cdk.json runs it). Settings come from CDK context, e.g.
 *   npx cdk deploy -c authorization=none -c alarmTopicArn=arn:aws:sns:...
 *   -c queueOverrides='{"webhook":{"batchSize":5}}'
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { JoblineStack, type JoblineStackProps } from './jobline-stack';

export interface AppOptions extends JoblineStackProps {
  outdir?: string;
  stackName?: string;
  /** Run CloudFormation's template validation during synth (slow; on by default in the CLI). */
  validateTemplates?: boolean;
}

export function contextOptions(app: App): AppOptions {
  const ctx = (key: string) => app.node.tryGetContext(key) as string | undefined;
  const overrides = ctx('queueOverrides');
  return {
    stackName: ctx('stackName'),
    authorization: ctx('authorization') === 'none' ? 'none' : 'iam',
    alarmTopicArn: ctx('alarmTopicArn'),
    queueOverrides: overrides ? (typeof overrides === 'string' ? JSON.parse(overrides) : overrides) : undefined,
    logLevel: (ctx('logLevel') as AppOptions['logLevel']) ?? undefined,
  };
}

export function buildApp(options: AppOptions = {}): { app: App; stack: JoblineStack } {
  const app = new App({
    // The local runtime finds each function's bundled code through this metadata (the CLI sets it too).
    context: { 'aws:cdk:enable-asset-metadata': true },
    ...(options.outdir ? { outdir: options.outdir } : {}),
    ...(options.validateTemplates === false ? { builtinCloudFormationValidation: false } : {}),
  });
  const settings = { ...contextOptions(app), ...stripUndefined(options) };
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
