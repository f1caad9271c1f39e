// The app's CDK context is checked: a typo or a wrong value fails the synth with what would be valid, where
// it used to fall back silently (-c authorization=off meant IAM; overrides for a misspelled type vanished).
import { describe, expect, it } from 'vitest';
import { parseContext } from '../../app/context';

const TYPES = ['transfer', 'webhook'];

describe('parseContext', () => {
  it("reads the app's settings, and JSON queue overrides given as a string (as -c passes them)", () => {
    expect(parseContext({ authorization: 'none', logLevel: 'warn', retentionDays: '20', queueOverrides: '{"webhook":{"batchSize":5}}' }, TYPES)).toEqual({
      authorization: 'none',
      logLevel: 'warn',
      retentionDays: 20,
      queueOverrides: { webhook: { batchSize: 5 } },
    });
  });

  it("leaves CDK's own keys alone", () => {
    expect(parseContext({ 'aws:cdk:enable-asset-metadata': true, '@aws-cdk/core:newStyleStackSynthesis': true }, TYPES)).toEqual({});
  });

  it.each([
    [{ authorization: 'off' }, /authorization: .*"iam"\|"none"|authorization: Invalid option/],
    [{ autorization: 'none' }, /unknown context key "autorization" \(valid: stackName, authorization, /],
    [{ queueOverrides: '{"webhok":{"batchSize":5}}' }, /job type "webhok", which this app does not have \(job types: transfer, webhook\)/],
    [{ queueOverrides: '{"webhook":{"batchsize":5}}' }, /queue options: batchSize, /],
    [{ queueOverrides: '{webhook' }, /queueOverrides is not JSON/],
    [{ logLevel: 'verbose' }, /logLevel/],
    [{ alarmTopicArn: 'my-topic' }, /an SNS topic ARN/],
  ])('refuses %j, saying what is valid', (context, message) => {
    expect(() => parseContext(context, TYPES)).toThrow(message);
  });
});
