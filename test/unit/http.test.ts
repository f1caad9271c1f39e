// API responses and the URLs they point to. API Gateway lower-cases header names, but other callers
// (the local runtime's tests, other proxies) may not, so lookups must not depend on case.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { apiUrl, header, json, problem } from '../../shared/api/http';

function event(
  headers: Record<string, string> = {},
  requestContext: Partial<APIGatewayProxyEventV2['requestContext']> = { domainName: 'abc.execute-api.eu-west-1.amazonaws.com', stage: '$default' },
): APIGatewayProxyEventV2 {
  return { headers, requestContext } as unknown as APIGatewayProxyEventV2;
}

describe('header', () => {
  it('finds a header whatever the case of its name or of the name asked for', () => {
    expect(header(event({ 'Idempotency-Key': 'k1' }), 'idempotency-key')).toBe('k1');
    expect(header(event({ 'idempotency-key': 'k2' }), 'Idempotency-Key')).toBe('k2');
    expect(header(event({ 'CONTENT-TYPE': 'application/json' }), 'content-type')).toBe('application/json');
  });

  it('gives undefined for an absent header, and for an event without headers', () => {
    expect(header(event({ other: 'x' }), 'idempotency-key')).toBeUndefined();
    expect(header({ headers: undefined } as unknown as APIGatewayProxyEventV2, 'idempotency-key')).toBeUndefined();
  });
});

describe('apiUrl', () => {
  it('has no stage prefix on the $default stage', () => {
    expect(apiUrl(event({ 'x-forwarded-proto': 'https' }), '/jobs/1')).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/jobs/1');
  });

  it('puts a named stage in front of the path', () => {
    expect(apiUrl(event({}, { domainName: 'api.example.com', stage: 'prod' }), '/jobs/1')).toBe('https://api.example.com/prod/jobs/1');
  });

  it('uses the protocol of x-forwarded-proto (the first one, when a chain of proxies added several)', () => {
    expect(apiUrl(event({ 'x-forwarded-proto': 'http' }), '/jobs/1')).toBe('http://abc.execute-api.eu-west-1.amazonaws.com/jobs/1');
    expect(apiUrl(event({ 'X-Forwarded-Proto': 'http, https' }), '/jobs/1')).toBe('http://abc.execute-api.eu-west-1.amazonaws.com/jobs/1');
  });

  it('defaults to https without x-forwarded-proto', () => {
    expect(apiUrl(event({}), '/x')).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/x');
  });

  it('falls back to the Host header, then to localhost, when the request context has no domain', () => {
    expect(apiUrl(event({ host: '127.0.0.1:3000', 'x-forwarded-proto': 'http' }, { stage: '$default' }), '/x')).toBe('http://127.0.0.1:3000/x');
    expect(apiUrl(event({}, {}), '/x')).toBe('https://localhost/x');
  });
});

describe('json and problem', () => {
  it('answer JSON that is never cached', () => {
    const response = json(202, { jobId: 'j' }, { location: '/jobs/j' });
    expect(response).toEqual({ statusCode: 202, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', location: '/jobs/j' }, body: '{"jobId":"j"}' });
  });

  it('carry a code and a message, and details only when given', () => {
    expect(JSON.parse(problem(404, 'unknown_job', 'no such job').body as string)).toEqual({ error: { code: 'unknown_job', message: 'no such job' } });
    expect(JSON.parse(problem(400, 'invalid_payload', 'bad', { issues: [] }).body as string)).toEqual({
      error: { code: 'invalid_payload', message: 'bad', details: { issues: [] } },
    });
  });
});
