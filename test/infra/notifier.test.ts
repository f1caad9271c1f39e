// The notifications of the default stack: the table's stream, the notifier's event source (its FilterCriteria
// are NOTIFY_FILTERS, its failures go to a queue), the bus, the callback queue, worker and secret, and
// least privilege: the notifier reads the stream and puts events / sends callbacks; only the callback worker
// reads the secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFY_ENV } from '../../shared/notify/config';
import { NOTIFY_FILTERS } from '../../shared/notify/notification';
import { asList, buildTestApp, resourcesOfType, roleStatements, synthesize, targetOf, type BuiltApp, type Synthesized } from '../support/cdk-synth';

let s: Synthesized;
let built: BuiltApp;
beforeAll(() => {
  built = buildTestApp({ bundle: false });
  s = synthesize(built);
});
afterAll(() => built?.cleanup());

const fnWith = (variable: string) => {
  const found = resourcesOfType(s.json, 'AWS::Lambda::Function').filter(([, f]) => variable in (f.Properties?.Environment?.Variables ?? {}));
  expect(found).toHaveLength(1);
  return { id: found[0]![0], fn: found[0]![1], roleId: targetOf(found[0]![1].Properties?.Role)! };
};
const actionsOf = (roleId: string) => roleStatements(s.json, roleId).flatMap((st) => asList(st.Action).map((a) => [a, st.Resource] as const));

describe('notifications', () => {
  it('gives the jobs table a NEW_AND_OLD_IMAGES stream', () => {
    const [, table] = resourcesOfType(s.json, 'AWS::DynamoDB::Table')[0]!;
    expect(table.Properties?.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('reads the stream with NOTIFY_FILTERS, partial failures, bisection, retries and an on-failure queue', () => {
    const notifier = fnWith(NOTIFY_ENV.eventBus);
    const [, mapping] = resourcesOfType(s.json, 'AWS::Lambda::EventSourceMapping').find(([, m]) => targetOf(m.Properties?.FunctionName) === notifier.id)!;
    const p = mapping.Properties!;
    expect(p.EventSourceArn).toEqual({ 'Fn::GetAtt': [expect.any(String), 'StreamArn'] });
    expect(p.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern))).toEqual(NOTIFY_FILTERS);
    expect(p).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRecordAgeInSeconds: 21600,
    });
    expect(targetOf(p.DestinationConfig.OnFailure.Destination)).toMatch(/NotifierFailures/);
  });

  it('lets the notifier read the stream, put events on the bus and send to the callback queue, and nothing else', () => {
    const notifier = fnWith(NOTIFY_ENV.eventBus);
    const actions = new Set(actionsOf(notifier.roleId).map(([a]) => a));
    expect([...actions].sort()).toEqual(
      [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(actions.has('secretsmanager:GetSecretValue')).toBe(false);
  });

  it('lets only the callback worker read the signing secret', () => {
    const [[secretId]] = resourcesOfType(s.json, 'AWS::SecretsManager::Secret') as [[string, unknown]];
    const readers = resourcesOfType(s.json, 'AWS::Lambda::Function').filter(([, f]) =>
      actionsOf(targetOf(f.Properties?.Role)!).some(([a, r]) => a === 'secretsmanager:GetSecretValue' && JSON.stringify(r).includes(secretId)),
    );
    expect(readers).toHaveLength(1);
    expect(readers[0]![1].Properties?.Environment?.Variables?.[NOTIFY_ENV.callbackSecret]).toEqual({ Ref: secretId });
  });
});
