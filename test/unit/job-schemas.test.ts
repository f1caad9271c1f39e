// The example job types' payload schemas (the API answers 400 with these reasons; the worker dead-letters
// a payload that fails them) and the transfer handler's writes.
import { describe, expect, it } from 'vitest';
import type { JobContext } from '../../shared/jobs/define';
import { accountKey, transfer, transferPayload } from '../../app/jobs/transfer/handler';
import { webhook, webhookPayload } from '../../app/jobs/webhook/handler';

const HEADER_RULE =
  'jobline sets content-type, content-length, host and idempotency-key itself, and connection, keep-alive, upgrade, expect, te, trailer, transfer-encoding and proxy-* are connection-level headers a webhook call cannot carry';
import { createLogger } from '../../shared/log';

/** The issues of a refused payload as "path: message" lines. */
function issuesOf(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, payload: unknown): string[] {
  const parsed = schema.safeParse(payload);
  expect(parsed.success).toBe(false);
  return parsed.error!.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

describe('transfer payload', () => {
  it('accepts a transfer between two accounts, with an optional memo', () => {
    expect(transferPayload.parse({ from: 'acc_1', to: 'acc.2-b', amount: 150 })).toEqual({ from: 'acc_1', to: 'acc.2-b', amount: 150 });
    expect(transferPayload.parse({ from: 'a', to: 'b', amount: 1_000_000_000_000, memo: 'rent' })).toMatchObject({ memo: 'rent' });
  });

  it.each([
    ['the same account on both sides', { from: 'a', to: 'a', amount: 1 }, 'to: from and to must be different accounts'],
    ['an amount of zero', { from: 'a', to: 'b', amount: 0 }, 'amount: Too small: expected number to be >0'],
    ['a negative amount', { from: 'a', to: 'b', amount: -5 }, 'amount: Too small: expected number to be >0'],
    ['a fractional amount (minor units only)', { from: 'a', to: 'b', amount: 1.5 }, 'amount: Invalid input: expected int, received number'],
    ['an amount above 10^12', { from: 'a', to: 'b', amount: 1_000_000_000_001 }, 'amount: Too big: expected number to be <=1000000000000'],
    ['an amount given as a string', { from: 'a', to: 'b', amount: '5' }, 'amount: Invalid input: expected number, received string'],
    ['an account id with a space', { from: 'a b', to: 'c', amount: 1 }, 'from: account ids are 1-64 letters, digits, dots, dashes or underscores'],
    ['an empty account id', { from: 'a', to: '', amount: 1 }, 'to: account ids are 1-64 letters, digits, dots, dashes or underscores'],
    ['an account id of 65 characters', { from: 'a'.repeat(65), to: 'b', amount: 1 }, 'from: account ids are 1-64 letters, digits, dots, dashes or underscores'],
    ['a memo above 200 characters', { from: 'a', to: 'b', amount: 1, memo: 'm'.repeat(201) }, 'memo: Too big: expected string to have <=200 characters'],
    ['an unknown field', { from: 'a', to: 'b', amount: 1, currency: 'EUR' }, ': Unrecognized key: "currency"'],
  ])('refuses %s', (_, payload, issue) => {
    expect(issuesOf(transferPayload, payload)).toEqual([issue]);
  });

  it('refuses a missing field, naming it', () => {
    expect(issuesOf(transferPayload, { from: 'a', to: 'b' })).toEqual(['amount: Invalid input: expected number, received undefined']);
  });
});

describe('transfer job', () => {
  const ctx = (tableName: string): JobContext => ({
    jobId: '0b6f3a9e-1c2d-4e5f-8a7b-9c0d1e2f3a4b',
    type: 'transfer',
    attempt: 1,
    deadline: Date.now() + 10_000,
    signal: new AbortController().signal,
    tableName,
    log: createLogger({}, 'error'),
  });

  it('runs transfers out of one account in order: the group is the source account', () => {
    expect(transfer.queue.fifo).toBe(true);
    expect(transfer.groupKey!({ from: 'alice', to: 'bob', amount: 1 })).toBe('alice');
  });

  it('writes two ADD updates with signed amounts that sum to zero, on the table from its context', async () => {
    if (transfer.kind !== 'transactional') throw new Error('transfer must be transactional');
    const { result, writes } = await transfer.handler({ from: 'alice', to: 'bob', amount: 250 }, ctx('stack-table'));
    expect(result).toEqual({ from: 'alice', to: 'bob', amount: 250 });
    expect(writes).toHaveLength(2);
    const [debit, credit] = writes.map((w) => w.Update!);
    expect(debit).toMatchObject({ TableName: 'stack-table', Key: { pk: { S: accountKey('alice') } }, ExpressionAttributeValues: { ':delta': { N: '-250' } } });
    expect(credit).toMatchObject({ TableName: 'stack-table', Key: { pk: { S: accountKey('bob') } }, ExpressionAttributeValues: { ':delta': { N: '250' } } });
    for (const update of [debit!, credit!]) {
      // ADD creates the account at 0 on first use, and is commutative: no read-modify-write race.
      expect(update.UpdateExpression).toMatch(/^ADD balance :delta\b/);
      expect(update.ConditionExpression).toBeUndefined();
      expect(update.ExpressionAttributeValues![':at']!.S).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(writes.some((w) => w.Put || w.Delete || w.ConditionCheck)).toBe(false);
  });

  it('uses whatever table its context names', async () => {
    if (transfer.kind !== 'transactional') throw new Error('transfer must be transactional');
    const { writes } = await transfer.handler({ from: 'a', to: 'b', amount: 1 }, ctx('other-table'));
    expect(writes.map((w) => w.Update!.TableName)).toEqual(['other-table', 'other-table']);
  });

  it('keeps account items apart from job records', () => {
    expect(accountKey('x')).toBe('ACCOUNT#x');
  });
});

describe('webhook payload', () => {
  it('accepts a POST target with any JSON body and fills the default timeout', () => {
    expect(webhookPayload.parse({ url: 'https://hooks.example.com/a?b=1', body: { event: 'done', n: [1, 2] } })).toEqual({
      url: 'https://hooks.example.com/a?b=1',
      body: { event: 'done', n: [1, 2] },
      timeoutSeconds: 10,
    });
    expect(webhookPayload.parse({ url: 'http://10.0.0.1:8080/', body: null, headers: { 'X-Signature': 'abc' }, timeoutSeconds: 20 })).toMatchObject({
      headers: { 'X-Signature': 'abc' },
    });
  });

  it.each([
    ['an ftp URL', { url: 'ftp://example.com/x', body: 1 }, 'url: url must be an absolute http(s) URL'],
    ['a javascript: URL', { url: 'javascript:alert(1)', body: 1 }, 'url: url must be an absolute http(s) URL'],
    ['a relative URL', { url: '/hooks/a', body: 1 }, 'url: url must be an absolute http(s) URL'],
    ['a missing body', { url: 'https://example.com' }, 'body: Invalid input'],
    [
      'a header value above 1024 characters',
      { url: 'https://example.com', body: 1, headers: { 'X-A': 'v'.repeat(1025) } },
      'headers.X-A: Too big: expected string to have <=1024 characters',
    ],
    ['a timeout of 0', { url: 'https://example.com', body: 1, timeoutSeconds: 0 }, 'timeoutSeconds: Too small: expected number to be >=1'],
    // 60 was accepted, though the worker's 30 s invocation cuts every call off at about 25 s: such a job could never succeed.
    ['a timeout above 20 s', { url: 'https://example.com', body: 1, timeoutSeconds: 21 }, 'timeoutSeconds: Too big: expected number to be <=20'],
    ['a fractional timeout', { url: 'https://example.com', body: 1, timeoutSeconds: 2.5 }, 'timeoutSeconds: Invalid input: expected int, received number'],
    ['an unknown field', { url: 'https://example.com', body: 1, method: 'PUT' }, ': Unrecognized key: "method"'],
  ])('refuses %s', (_, payload, issue) => {
    expect(issuesOf(webhookPayload, payload)).toEqual([issue]);
  });

  it.each([
    ['Idempotency-Key', 'the idempotency key'],
    ['content-type', 'the content type'],
    ['HOST', 'the host'],
    ['Content-Length', 'the length'],
    ['connection', 'hop-by-hop: connection'],
    ['Keep-Alive', 'hop-by-hop: keep-alive'],
    ['upgrade', 'hop-by-hop: upgrade'],
    ['Expect', 'expect (100-continue)'],
    ['TE', 'hop-by-hop: te'],
    ['trailer', 'hop-by-hop: trailer'],
    ['Transfer-Encoding', 'hop-by-hop: transfer-encoding'],
    ['Proxy-Authorization', 'a proxy-* header'],
    ['proxy-connection', 'a proxy-* header (lower case)'],
  ])('refuses a header %s (%s), naming it', (name) => {
    expect(issuesOf(webhookPayload, { url: 'https://example.com', body: 1, headers: { 'X-Fine': 'v', [name]: 'v' } })).toEqual([
      `headers: headers may not set ${name}: ${HEADER_RULE}`,
    ]);
  });

  it('lists every header it refuses in one issue', () => {
    expect(issuesOf(webhookPayload, { url: 'https://example.com', body: 1, headers: { Connection: 'close', 'X-A': 'v', te: 'trailers', 'proxy-x': '1' } })).toEqual([
      `headers: headers may not set Connection, te, proxy-x: ${HEADER_RULE}`,
    ]);
  });

  it('accepts ordinary headers, including ones that merely resemble refused names', () => {
    const headers = { Authorization: 'Bearer t', 'X-Connection': 'a', 'Tenant-Expect': 'b', 'Proxied-By': 'c', 'X-Host': 'd', 'Content-Language': 'en', 'User-Agent': 'mine' };
    expect(webhookPayload.parse({ url: 'https://example.com', body: 1, headers })).toMatchObject({ headers });
  });

  it('refuses a header name with characters outside letters, digits and dashes', () => {
    const issues = issuesOf(webhookPayload, { url: 'https://example.com', body: 1, headers: { 'X Bad:Name': 'v' } });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^headers\.X Bad:Name: /);
  });

  it('refuses a URL longer than 2048 characters', () => {
    const issues = issuesOf(webhookPayload, { url: `https://example.com/${'a'.repeat(2048)}`, body: 1 });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toBe('url: url must be at most 2048 characters');
  });

  it('is a leased job on a standard queue', () => {
    expect(webhook.kind).toBe('leased');
    expect(webhook.queue.fifo).toBe(false);
    expect(webhook.groupKey).toBeUndefined();
  });
});
