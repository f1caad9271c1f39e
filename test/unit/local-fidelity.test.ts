// Differences between the local runtime and AWS that were fixed, each against the AWS behaviour it follows
// (docs/local-vs-aws.md lists them, with what remains). The event, filter and template parts; the processes,
// the gateway and the poller are in test/integration/local-fidelity.test.ts.
import path from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { apiConcurrencyFromEnv, DEFAULT_API_CONCURRENCY } from '../../local/gateway';
import { heapLimitMb, LAMBDA_PATH, lambdaEnvironment, type FunctionSpec } from '../../local/lambda/function-pool';
import { toApiGatewayEvent, traceId, type HttpRequestInfo } from '../../local/lambda/http-event';
import { matchesFilters, MAX_INVOKE_PAYLOAD_BYTES, parseFilterCriteria } from '../../local/lambda/sqs-event';
import { payloadChunks } from '../../local/sqs-poller';
import type { CfnTemplate } from '../../local/template/cloud-assembly';
import { HTTP_API_INTEGRATION_TIMEOUT_MS, SQS_DEFAULT_MAX_CONCURRENCY, stackModel } from '../../local/template/stack-model';

const request = (overrides: Partial<HttpRequestInfo> = {}): HttpRequestInfo => ({
  method: 'POST',
  url: '/jobs/transfer',
  headers: { host: 'api.test' },
  body: Buffer.alloc(0),
  ...overrides,
});

describe('HTTP API events (payload format 2.0)', () => {
  // A deployed HTTP API hands the path over percent-decoded in rawPath and requestContext.http.path alike: an
  // event captured from one (hotsock/voker, vokerhttp/testdata/apigwv2-request.json) for a request to
  // /capture/space%20value has "rawPath": "/capture/space value" and "http": {"path": "/capture/space value"}.
  // The format: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
  it('has the same percent-decoded path in rawPath and requestContext.http.path', () => {
    const event = toApiGatewayEvent(request({ url: '/capture/space%20value?x=%20' }), '$default', undefined);
    expect(event.rawPath).toBe('/capture/space value');
    expect(event.requestContext.http.path).toBe('/capture/space value');
    expect(event.rawQueryString).toBe('x=%20');
  });

  // HTTP API passes a body it cannot treat as text base64-encoded with isBase64Encoded: true
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
  // isBase64Encoded); a body without a content type whose bytes are not UTF-8 is not text.
  it('base64-encodes a binary body that comes without a content type, keeping its bytes', () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);
    const event = toApiGatewayEvent(request({ body: bytes }), '$default', undefined);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64')).toEqual(bytes);
  });

  it('passes a UTF-8 body without a content type as text', () => {
    const event = toApiGatewayEvent(request({ body: Buffer.from('{"a":"é"}') }), '$default', undefined);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBe('{"a":"é"}');
  });

  // HTTP API adds an X-Ray trace header, x-amzn-trace-id: Root=1-<8 hex digits of epoch seconds>-<24 hex digits>
  // (the captured event above: "x-amzn-trace-id": "Root=1-6a5145a9-1bae89e2512ec92d5d9438a0"), next to the
  // x-forwarded-* headers.
  it('adds x-amzn-trace-id as API Gateway does, and keeps one the request carries', () => {
    const now = new Date(Date.UTC(2026, 6, 10, 19, 19, 5));
    expect(traceId(now)).toMatch(/^Root=1-6a5145a9-[0-9a-f]{24}$/);
    const event = toApiGatewayEvent(request({ sourceIp: '127.0.0.1', port: 3000 }), '$default', undefined);
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-port': '3000', 'x-forwarded-proto': 'http' });
    const traced = toApiGatewayEvent(request({ headers: { 'X-Amzn-Trace-Id': 'Root=1-00000000-000000000000000000000000' } }), '$default', undefined);
    expect(traced.headers['x-amzn-trace-id']).toBe('Root=1-00000000-000000000000000000000000');
  });

  // requestContext.time as in the documented example: "time": "12/Mar/2020:19:03:58 +0000".
  it('writes requestContext.time as the documented example does', () => {
    const event = toApiGatewayEvent(request(), '$default', undefined);
    expect(event.requestContext.time).toMatch(/^\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });
});

const record = (body: string, extra: Partial<SQSRecord> = {}): SQSRecord => ({
  messageId: 'm',
  receiptHandle: 'r',
  body,
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 's', ApproximateFirstReceiveTimestamp: '1' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
  awsRegion: 'us-east-1',
  ...extra,
});

const criteria = (...patterns: unknown[]) => ({ Filters: patterns.map((p) => ({ Pattern: JSON.stringify(p) })) });
const matches = (pattern: unknown, body: unknown) => matchesFilters(record(typeof body === 'string' ? body : JSON.stringify(body)), parseFilterCriteria(criteria(pattern), 'test'));

// Lambda event filtering for SQS (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html) with the
// rule syntax of https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-syntax:
// filters are ORed, the fields of a pattern ANDed, the values of a field ORed.
describe('SQS FilterCriteria', () => {
  it('matches exact values, null and the empty string in the JSON body', () => {
    expect(matches({ body: { RequestCode: ['BBBB'] } }, { RequestCode: 'BBBB' })).toBe(true);
    expect(matches({ body: { RequestCode: ['BBBB'] } }, { RequestCode: 'AAAA' })).toBe(false);
    expect(matches({ body: { n: [1, 2] } }, { n: 2 })).toBe(true);
    expect(matches({ body: { n: [1, 2] } }, { n: '2' })).toBe(false);
    expect(matches({ body: { v: [null] } }, { v: null })).toBe(true);
    expect(matches({ body: { v: [''] } }, { v: '' })).toBe(true);
    expect(matches({ body: { a: { b: [true] } } }, { a: { b: true } })).toBe(true);
    expect(matches({ body: { tags: ['x'] } }, { tags: ['y', 'x'] })).toBe(true);
  });

  it('matches prefix, suffix, equals-ignore-case, numeric ranges, exists and anything-but', () => {
    expect(matches({ body: { t: [{ prefix: 'web' }] } }, { t: 'webhook' })).toBe(true);
    expect(matches({ body: { t: [{ prefix: 'web' }] } }, { t: 'transfer' })).toBe(false);
    expect(matches({ body: { f: [{ suffix: '.png' }] } }, { f: 'a.png' })).toBe(true);
    expect(matches({ body: { f: [{ 'equals-ignore-case': 'BOB' }] } }, { f: 'bob' })).toBe(true);
    expect(matches({ body: { n: [{ numeric: ['>', 0, '<=', 100] }] } }, { n: 100 })).toBe(true);
    expect(matches({ body: { n: [{ numeric: ['>', 0, '<=', 100] }] } }, { n: 0 })).toBe(false);
    expect(matches({ body: { n: [{ numeric: ['=', 5] }] } }, { n: '5' })).toBe(false);
    expect(matches({ body: { k: [{ exists: true }] } }, { k: 0 })).toBe(true);
    expect(matches({ body: { k: [{ exists: true }] } }, {})).toBe(false);
    expect(matches({ body: { k: [{ exists: false }] } }, {})).toBe(true);
    expect(matches({ body: { s: [{ 'anything-but': ['a', 'b'] }] } }, { s: 'c' })).toBe(true);
    expect(matches({ body: { s: [{ 'anything-but': 'a' }] } }, { s: 'a' })).toBe(false);
    expect(matches({ body: { s: [{ 'anything-but': { prefix: 'tmp' } }] } }, { s: 'tmp-1' })).toBe(false);
    expect(matches({ body: { s: [{ 'anything-but': ['a'] }] } }, {})).toBe(false);
  });

  it('ORs the filters and ANDs the fields of one', () => {
    const patterns = parseFilterCriteria(criteria({ body: { a: [1], b: [2] } }, { body: { c: [3] } }), 'test');
    expect(matchesFilters(record('{"a":1,"b":2}'), patterns)).toBe(true);
    expect(matchesFilters(record('{"a":1,"b":3}'), patterns)).toBe(false);
    expect(matchesFilters(record('{"c":3}'), patterns)).toBe(true);
    expect(matchesFilters(record('{"a":1}'), [])).toBe(true);
  });

  it('compares a body that is not JSON only with a pattern on the body as a string', () => {
    expect(matches({ body: { a: [1] } }, 'not json')).toBe(false);
    expect(matches({ body: ['plain text'] }, 'plain text')).toBe(true);
    expect(matches({ body: [{ prefix: 'plain' }] }, 'plain text')).toBe(true);
  });

  it('refuses at start what it does not implement, naming the source and the rule', () => {
    expect(() => parseFilterCriteria(criteria({ body: { ip: [{ cidr: '10.0.0.0/24' }] } }), 'event source S')).toThrow(
      /event source S: FilterCriteria.Filters\[0\].Pattern.body.ip: the filter rule {"cidr":"10.0.0.0\/24"} is not supported by the local runtime/,
    );
    expect(() => parseFilterCriteria(criteria({ body: { f: [{ wildcard: '*.png' }] } }), 'S')).toThrow(/not supported/);
    expect(() => parseFilterCriteria(criteria({ $or: [{ body: { a: [1] } }] }), 'S')).toThrow(/\$or is not supported/);
    expect(() => parseFilterCriteria({ Filters: [{ Pattern: '{not json' }] }, 'S')).toThrow(/not valid JSON/);
    expect(() => parseFilterCriteria(criteria({ body: { n: [{ numeric: ['>', 'x'] }] } }), 'S')).toThrow(/invalid numeric rule/);
    expect(parseFilterCriteria(undefined, 'S')).toEqual([]);
  });
});

// "Lambda passes all of the records in the batch to the function in a single call, up to the payload limit for
// synchronous invocation (6 MB)": BatchSize in https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
describe('SQS events within the 6 MB invocation payload', () => {
  it('splits records, in order, into events of at most 6 MB', () => {
    const big = (i: number) => record('x'.repeat(900 * 1024), { messageId: String(i) });
    const records = Array.from({ length: 10 }, (_, i) => big(i));
    const chunks = payloadChunks(records);
    expect(chunks.length).toBe(2);
    expect(chunks.flat().map((r) => r.messageId)).toEqual(records.map((r) => r.messageId));
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify({ Records: chunk }))).toBeLessThanOrEqual(MAX_INVOKE_PAYLOAD_BYTES);
    expect(payloadChunks([record('a'), record('b')])).toHaveLength(1);
  });

  it('counts the bytes exactly: an event of exactly the limit is one invocation', () => {
    const two = [record('a', { messageId: '1' }), record('b', { messageId: '2' })];
    const size = Buffer.byteLength(JSON.stringify({ Records: two }));
    expect(payloadChunks(two, size)).toHaveLength(1);
    expect(payloadChunks(two, size - 1)).toHaveLength(2);
  });
});

const spec = (overrides: Partial<FunctionSpec> = {}): FunctionSpec => ({
  name: 'Jobline-ApiHandler',
  file: path.join('/assets/asset.abc', 'index.mjs'),
  exportName: 'handler',
  codeDir: '/assets/asset.abc',
  timeoutSeconds: 10,
  memoryMb: 512,
  environment: { AWS_REGION: 'eu-west-1', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', TABLE: 'jobs' },
  ...overrides,
});

// The variables Lambda defines in every execution environment:
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
describe("Lambda's environment variables", () => {
  it('sets the reserved variables and the unreserved defaults, and nothing of the host', () => {
    const env = lambdaEnvironment(spec(), '2026/11/28/[$LATEST]0123456789abcdef0123456789abcdef');
    expect(env).toEqual({
      PATH: `${path.dirname(process.execPath)}:${LAMBDA_PATH}`,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TABLE: 'jobs',
      _HANDLER: 'index.handler',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_FUNCTION_NAME: 'Jobline-ApiHandler',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/Jobline-ApiHandler',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/28/[$LATEST]0123456789abcdef0123456789abcdef',
      LAMBDA_TASK_ROOT: path.resolve('/assets/asset.abc'),
      LAMBDA_RUNTIME_DIR: expect.stringMatching(/local[/\\]lambda$/),
    });
    expect(LAMBDA_PATH).toBe('/usr/local/bin:/usr/bin/:/bin:/opt/bin');
  });

  it('lets the function set the unreserved ones (TZ, PATH, LANG) but not the reserved ones', () => {
    const env = lambdaEnvironment(spec({ environment: { TZ: 'Europe/Paris', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1', _HANDLER: 'x.y' } }), 's');
    expect(env.TZ).toBe('Europe/Paris');
    expect(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE).toBe('512');
    expect(env._HANDLER).toBe('index.handler');
    expect(env.AWS_REGION).toBe('us-east-1');
  });

  it('names the handler by its module path inside the asset', () => {
    expect(lambdaEnvironment(spec({ file: path.join('/assets/asset.abc', 'src', 'main.js'), exportName: 'run' }), 's')._HANDLER).toBe('src/main.run');
  });
});

// A function that needs more than MemorySize is killed (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html);
// locally the JavaScript heap is capped at 90 % of it.
describe('memory', () => {
  it('caps the heap from MemorySize', () => {
    expect(heapLimitMb(512)).toBe(460);
    expect(heapLimitMb(128)).toBe(115);
    expect(heapLimitMb(10_240)).toBe(9216);
  });
});

describe('API concurrency (a local limit: Lambda scales to the account concurrency)', () => {
  it('is 8 by default, JOBLINE_API_CONCURRENCY otherwise', () => {
    expect(DEFAULT_API_CONCURRENCY).toBe(8);
    expect(apiConcurrencyFromEnv({})).toBe(8);
    expect(apiConcurrencyFromEnv({ JOBLINE_API_CONCURRENCY: '32' })).toBe(32);
    expect(() => apiConcurrencyFromEnv({ JOBLINE_API_CONCURRENCY: '0' })).toThrow(/positive integer/);
    expect(() => apiConcurrencyFromEnv({ JOBLINE_API_CONCURRENCY: 'many' })).toThrow(/positive integer/);
  });
});

const template = (mapping: Record<string, unknown>, integration: Record<string, unknown> = {}): CfnTemplate => ({
  Resources: {
    Queue: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    Worker: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs24.x' } },
    Source: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, FunctionName: { Ref: 'Worker' }, ...mapping } },
    Api: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs24.x' } },
    Integration: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationUri: { 'Fn::GetAtt': ['Api', 'Arn'] }, ...integration } },
    Route: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'GET /x', Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] } } },
  },
});
const modelOf = (t: CfnTemplate) => stackModel({ stackName: 'S', assemblyDir: '/nowhere', template: t });

describe('the template, read as Lambda and API Gateway read it', () => {
  // "For FIFO queues, the maximum number of concurrent invocations is equal to the number of message group IDs
  // (messageGroupId) or the maximum concurrency setting, whichever is lower"; without a maximum concurrency an
  // SQS event source scales up to 1,250 concurrent invocations: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
  it('does not cap a FIFO source without a scaling config at 10 batches: the message groups bound it', () => {
    expect(modelOf(template({})).eventSources[0]!.maxConcurrency).toBe(SQS_DEFAULT_MAX_CONCURRENCY);
    expect(SQS_DEFAULT_MAX_CONCURRENCY).toBe(1250);
    expect(modelOf(template({ ScalingConfig: { MaximumConcurrency: 4 } })).eventSources[0]!.maxConcurrency).toBe(4);
  });

  it('reads FilterCriteria, and refuses patterns it cannot honour', () => {
    const model = modelOf(template({ FilterCriteria: criteria({ body: { type: ['webhook'] } }) }));
    expect(model.eventSources[0]!.filters).toEqual([{ body: { type: ['webhook'] } }]);
    expect(modelOf(template({})).eventSources[0]!.filters).toEqual([]);
    expect(() => modelOf(template({ FilterCriteria: criteria({ body: { ip: [{ cidr: '10.0.0.0/8' }] } }) }))).toThrow(/event source Source: .*not supported by the local runtime/);
  });

  // Integration timeout: 30 seconds for HTTP APIs (the default and the maximum), TimeoutInMillis may lower it:
  // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
  it("reads each route's integration timeout: 30 s unless TimeoutInMillis says less", () => {
    expect(modelOf(template({})).routes[0]!.integrationTimeoutMs).toBe(HTTP_API_INTEGRATION_TIMEOUT_MS);
    expect(modelOf(template({}, { TimeoutInMillis: 5000 })).routes[0]!.integrationTimeoutMs).toBe(5000);
    expect(modelOf(template({}, { TimeoutInMillis: 60_000 })).routes[0]!.integrationTimeoutMs).toBe(30_000);
  });
});
