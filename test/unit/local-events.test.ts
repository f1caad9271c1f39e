// The local runtime builds the events Lambda gets from API Gateway (HTTP API, payload 2.0) and from SQS.
// The functions cannot tell them from the real ones, so they must have the same shape.
import { describe, expect, it } from 'vitest';
import { apiGatewayTime, authorize, sigV4AccessKeyId, toApiGatewayEvent, type HttpRequestInfo } from '../../local/lambda/http-event';
import { toSqsRecord } from '../../local/lambda/sqs-event';

const request = (overrides: Partial<HttpRequestInfo> = {}): HttpRequestInfo => ({
  method: 'post',
  url: '/jobs/transfer',
  headers: { 'Content-Type': 'application/json', Host: 'api.test' },
  body: Buffer.from('{"a":1}'),
  ...overrides,
});

describe('toApiGatewayEvent', () => {
  it('lower-cases header names', () => {
    const event = toApiGatewayEvent(request({ headers: { 'Idempotency-Key': 'k', 'X-Custom-Header': 'v', Host: 'api.test' } }), 'POST /jobs/{type}', { type: 'transfer' });
    expect(event.headers).toMatchObject({ 'idempotency-key': 'k', 'x-custom-header': 'v', host: 'api.test' });
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('joins a repeated header with commas, as API Gateway does', () => {
    const event = toApiGatewayEvent(request({ headers: { Accept: ['application/json', 'text/plain'] } }), '$default', undefined);
    expect(event.headers.accept).toBe('application/json,text/plain');
  });

  it('passes cookies apart from the headers', () => {
    const event = toApiGatewayEvent(request({ headers: { Cookie: 'a=1; b=2' } }), '$default', undefined);
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.headers.cookie).toBeUndefined();
  });

  it('passes a JSON body as text', () => {
    const event = toApiGatewayEvent(request(), 'POST /jobs/{type}', { type: 'transfer' });
    expect(event.body).toBe('{"a":1}');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes a binary body', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x10]);
    const event = toApiGatewayEvent(request({ headers: { 'content-type': 'application/octet-stream' }, body: bytes }), '$default', undefined);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64')).toEqual(bytes);
  });

  it('has no body for an empty request', () => {
    const event = toApiGatewayEvent(request({ method: 'GET', url: '/jobs/1', body: Buffer.alloc(0) }), 'GET /jobs/{id}', { id: '1' });
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('splits the query string, joining repeated parameters with commas', () => {
    const event = toApiGatewayEvent(request({ url: '/jobs/1?a=1&b=two%20words&a=3' }), 'GET /jobs/{id}', { id: '1' });
    expect(event.rawPath).toBe('/jobs/1');
    expect(event.rawQueryString).toBe('a=1&b=two%20words&a=3');
    expect(event.queryStringParameters).toEqual({ a: '1,3', b: 'two words' });
  });

  it('keeps everything after the first ? as the query string', () => {
    const event = toApiGatewayEvent(request({ url: '/x?a=1?b=2&c=3' }), '$default', undefined);
    expect(event.rawPath).toBe('/x');
    expect(event.rawQueryString).toBe('a=1?b=2&c=3');
  });

  it('passes a path it cannot percent-decode as it came, instead of failing', () => {
    expect(toApiGatewayEvent(request({ url: '/jobs/%E0%A4%A' }), '$default', undefined).rawPath).toBe('/jobs/%E0%A4%A');
  });

  it('has no queryStringParameters without a query string', () => {
    expect(toApiGatewayEvent(request(), '$default', undefined).queryStringParameters).toBeUndefined();
  });

  it('sets x-forwarded-proto from the protocol, unless the request carries one', () => {
    expect(toApiGatewayEvent(request({ protocol: 'https' }), '$default', undefined).headers['x-forwarded-proto']).toBe('https');
    expect(toApiGatewayEvent(request(), '$default', undefined).headers['x-forwarded-proto']).toBe('http');
    expect(toApiGatewayEvent(request({ headers: { 'X-Forwarded-Proto': 'https' }, protocol: 'http' }), '$default', undefined).headers['x-forwarded-proto']).toBe('https');
  });

  it('fills the request context: route, method, domain and the $default stage', () => {
    const event = toApiGatewayEvent(request(), 'POST /jobs/{type}', { type: 'transfer' });
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /jobs/{type}');
    expect(event.pathParameters).toEqual({ type: 'transfer' });
    expect(event.requestContext).toMatchObject({ routeKey: 'POST /jobs/{type}', stage: '$default', domainName: 'api.test', http: { method: 'POST', path: '/jobs/transfer' } });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

const SIGV4 =
  'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7';

describe('requestContext.time and the forwarding headers', () => {
  it('writes the time as API Gateway does (dd/MMM/yyyy:HH:mm:ss +0000), with the same instant as timeEpoch', () => {
    expect(apiGatewayTime(new Date(Date.UTC(2026, 10, 27, 20, 47, 23, 999)))).toBe('27/Nov/2026:20:47:23 +0000');
    expect(apiGatewayTime(new Date(Date.UTC(2027, 0, 3, 4, 5, 6)))).toBe('03/Jan/2027:04:05:06 +0000');
    const event = toApiGatewayEvent(request(), '$default', undefined);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.requestContext.time).toBe(apiGatewayTime(new Date(event.requestContext.timeEpoch)));
  });

  it('adds x-forwarded-for (the source IP, appended to one the request carries) and x-forwarded-port', () => {
    const event = toApiGatewayEvent(request({ sourceIp: '127.0.0.1', port: 3000 }), '$default', undefined);
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers['x-forwarded-port']).toBe('3000');
    expect(event.requestContext.http.sourceIp).toBe('127.0.0.1');
    const proxied = toApiGatewayEvent(request({ headers: { 'X-Forwarded-For': '203.0.113.7' }, sourceIp: '127.0.0.1', port: 3000 }), '$default', undefined);
    expect(proxied.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(toApiGatewayEvent(request({ protocol: 'https' }), '$default', undefined).headers['x-forwarded-port']).toBe('443');
  });
});

describe('IAM authorization (requestContext.authorizer.iam)', () => {
  const iamOf = (headers: HttpRequestInfo['headers']) => {
    const authorization = authorize('AWS_IAM', headers);
    expect(authorization.allowed).toBe(true);
    return toApiGatewayEvent(request({ headers }), 'POST /jobs/{type}', { type: 'transfer' }, authorization.allowed ? authorization.authorizer : undefined);
  };

  it('takes the caller from the access key id of the SigV4 Authorization header', () => {
    const event = iamOf({ Authorization: SIGV4, Host: 'api.test' });
    expect(event.requestContext.authorizer).toEqual({
      iam: {
        accessKey: 'AKIAIOSFODNN7EXAMPLE',
        accountId: '000000000000',
        callerId: 'AKIAIOSFODNN7EXAMPLE',
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: 'arn:aws:iam::000000000000:user/AKIAIOSFODNN7EXAMPLE',
        userId: 'AKIAIOSFODNN7EXAMPLE',
      },
    });
    // The header still reaches the function, as from API Gateway.
    expect(event.headers.authorization).toBe(SIGV4);
  });

  it('treats an unsigned request as the one anonymous local caller "local"', () => {
    const event = iamOf({ Host: 'api.test' });
    expect(event.requestContext.authorizer?.iam).toMatchObject({ accessKey: 'local', userId: 'local', callerId: 'local', userArn: 'arn:aws:iam::000000000000:user/local' });
  });

  it('refuses an Authorization header that is not SigV4', () => {
    for (const header of [
      'Bearer abc.def.ghi',
      'Basic dXNlcjpwYXNz',
      'AWS4-HMAC-SHA256',
      'AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/execute-api/aws4_request',
      'AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc',
      'AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/execute-api, SignedHeaders=host, Signature=abc',
      'AWS4-HMAC-SHA256 Credential=/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc',
      'AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=not-hex',
      '',
    ]) {
      expect(sigV4AccessKeyId(header), header).toBeUndefined();
      expect(authorize('AWS_IAM', { authorization: header }), header).toEqual({ allowed: false });
    }
    expect(authorize('AWS_IAM', { authorization: [SIGV4, SIGV4] })).toEqual({ allowed: false });
  });

  it('accepts the parameters in any order and with or without spaces after the commas', () => {
    expect(sigV4AccessKeyId('AWS4-HMAC-SHA256 Signature=ab12,SignedHeaders=host,Credential=ASIAEXAMPLE/20261127/eu-west-1/execute-api/aws4_request')).toBe('ASIAEXAMPLE');
  });

  it('gives routes without authorization no authorizer, whatever the headers', () => {
    expect(authorize('NONE', { authorization: SIGV4 })).toEqual({ allowed: true });
    expect(authorize(undefined, { authorization: 'Bearer x' })).toEqual({ allowed: true });
    const event = toApiGatewayEvent(request({ headers: { Authorization: SIGV4 } }), 'POST /jobs/{type}', { type: 'transfer' });
    expect('authorizer' in event.requestContext).toBe(false);
  });
});

describe('toSqsRecord', () => {
  it('maps a received FIFO message to the record Lambda hands the worker', () => {
    const record = toSqsRecord(
      {
        MessageId: 'm-1',
        ReceiptHandle: 'rh-1',
        Body: '{"v":1}',
        MD5OfBody: 'md5',
        Attributes: {
          ApproximateReceiveCount: '3',
          SentTimestamp: '100',
          SenderId: 'AID',
          ApproximateFirstReceiveTimestamp: '200',
          MessageGroupId: 'alice',
          MessageDeduplicationId: 'd-1',
          SequenceNumber: '42',
        },
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'why' }, blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) } },
      },
      'arn:aws:sqs:eu-west-1:123456789012:transfer.fifo',
      'eu-west-1',
    );
    expect(record).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: '{"v":1}',
      attributes: {
        ApproximateReceiveCount: '3',
        SentTimestamp: '100',
        SenderId: 'AID',
        ApproximateFirstReceiveTimestamp: '200',
        MessageGroupId: 'alice',
        MessageDeduplicationId: 'd-1',
        SequenceNumber: '42',
      },
      messageAttributes: { reason: { dataType: 'String', stringValue: 'why' }, blob: { dataType: 'Binary', binaryValue: 'AQID' } },
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:transfer.fifo',
      awsRegion: 'eu-west-1',
    });
  });

  it('fills defaults for a bare message and adds no FIFO attributes to it', () => {
    const record = toSqsRecord({ MessageId: 'm-2', ReceiptHandle: 'rh-2', Body: 'x' }, 'arn:q', 'us-east-1');
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(record.attributes.SentTimestamp).toMatch(/^\d+$/);
    expect('MessageGroupId' in record.attributes).toBe(false);
    expect('MessageDeduplicationId' in record.attributes).toBe(false);
    expect(record.messageAttributes).toEqual({});
  });
});
