// cdk-nag must be able to fail, or its passing in stack.test.ts proves nothing: the app that buildApp()
// makes, with one careless queue added (no encryption, no TLS policy, no DLQ), must not synthesize.
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, readValidationReport, type BuiltApp, type ValidationReport } from '../support/cdk-synth';

let built: BuiltApp;
let synthError: unknown;
let report: ValidationReport;

beforeAll(() => {
  built = buildTestApp({ bundle: false });
  new Queue(built.stack, 'Careless', { encryption: QueueEncryption.UNENCRYPTED });
  try {
    built.app.synth();
  } catch (error) {
    synthError = error;
  }
  report = readValidationReport(built.outdir);
});

afterAll(() => built?.cleanup());

describe('cdk-nag in the app of buildApp()', () => {
  it('makes synth throw when a resource breaks an AwsSolutions rule', () => {
    expect(synthError).toBeInstanceOf(Error);
    expect((synthError as Error).name).toBe('ValidationFailed');
    expect((synthError as Error).message).toContain('AwsSolutions-SQS4');
  });

  it('reports the broken rules of the careless queue, TLS (SQS4) and encryption (SQS2) among them', () => {
    const failed = report.pluginReports.filter((r) => r.conclusion === 'failure');
    expect(failed.map((r) => r.pluginName)).toEqual(['AwsSolutions']);
    const rules = failed[0]!.violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS4', 'AwsSolutions-SQS2']));
    const sqs4 = failed[0]!.violations.find((v) => v.ruleName === 'AwsSolutions-SQS4')!;
    expect(sqs4.violatingConstructs.map((c) => c.constructPath)).toEqual(['Jobline/Careless/Resource']);
  });

  it('finds nothing wrong with the rest of the stack', () => {
    const paths = report.pluginReports.flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((c) => c.constructPath)));
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !p.startsWith('Jobline/Careless/'))).toEqual([]);
  });
});
