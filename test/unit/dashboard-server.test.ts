// The dashboard server's pieces: what the page may ask (query and body parsing), the size cap of a payload,
// which requests are refused (Host, origin, content type, read-only) and that a refused action never reaches
// the API, the overview's minutes and problems, a job's log lines, and the files it serves.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobCounts } from '../../cli/job-counts';
import type { Target } from '../../cli/target';
import { capText, CONTENT_CAP_BYTES } from '../../dashboard/server/job-content';
import { findJobLogLines } from '../../dashboard/server/job-logs';
import { buildOverview, TIMELINE_MINUTES } from '../../dashboard/server/overview';
import { parseBulkFilter, parseListQuery, parsePeekLimit, parseSearch } from '../../dashboard/server/query';
import { checkRequest } from '../../dashboard/server/request-guard';
import { startDashboard, type Dashboard } from '../../dashboard/server/server';
import { pageWeight, staticFile } from '../../dashboard/server/static-files';
import { JobApiClient } from '../../shared/client/api-client';

const TYPES = ['transfer', 'webhook'];
const JOB_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('query parsing', () => {
  const list = (query: string) => parseListQuery(new URLSearchParams(query), TYPES);

  it('the job browser filter: every field optional, times normalised to UTC, a page of 25 by default', () => {
    expect(list('')).toEqual({ ok: true, value: { limit: 25 } });
    expect(list('type=webhook&state=FAILED&createdAfter=2026-12-03T10:00:00%2B01:00&createdBefore=2026-12-03T12:00:00Z&limit=100&cursor=abc')).toEqual({
      ok: true,
      value: { type: 'webhook', state: 'FAILED', createdAfter: '2026-12-03T09:00:00.000Z', createdBefore: '2026-12-03T12:00:00.000Z', limit: 100, cursor: 'abc' },
    });
    // An empty field is a field not given (an empty select).
    expect(list('type=&state=')).toEqual({ ok: true, value: { limit: 25 } });
  });

  it.each([
    ['type=thumbnail', 'there is no job type "thumbnail" (job types: transfer, webhook)'],
    ['state=LOST', 'state: Invalid option'],
    ['state=failed', 'state: Invalid option'],
    ['limit=0', 'limit is a whole number from 1 to 100'],
    ['limit=101', 'limit is a whole number from 1 to 100'],
    ['limit=1e2', 'limit is a whole number from 1 to 100'],
    ['createdAfter=yesterday', 'createdAfter: not an ISO 8601 time with its zone'],
    ['createdAfter=2026-12-03T10:00:00', 'createdAfter: not an ISO 8601 time with its zone'],
    ['createdAfter=2026-12-04T00:00:00Z&createdBefore=2026-12-03T00:00:00Z', 'createdAfter is later than createdBefore'],
    ['owner=someone-else', 'Unrecognized key: "owner"'],
  ])('?%s is refused: %s', (query, message) => {
    const parsed = list(query);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toContain(message);
  });

  it('search: a job id (any case) finds that job; anything else is an Idempotency-Key of the given type or of every type', () => {
    const search = (query: string) => parseSearch(new URLSearchParams(query), TYPES);
    expect(search(`q=${JOB_ID.toUpperCase()}`)).toEqual({ ok: true, value: { kind: 'jobId', jobId: JOB_ID } });
    expect(search('q=+order-42+')).toEqual({ ok: true, value: { kind: 'key', key: 'order-42', types: TYPES } });
    expect(search('q=order-42&type=webhook')).toEqual({ ok: true, value: { kind: 'key', key: 'order-42', types: ['webhook'] } });
    expect(search('q=')).toMatchObject({ ok: false, message: expect.stringContaining('q is empty') });
    expect(search('q=a,b')).toMatchObject({ ok: false, message: expect.stringContaining('neither a job id nor an Idempotency-Key') });
    expect(search('q=x&type=nope')).toMatchObject({ ok: false, message: expect.stringContaining('no job type "nope"') });
  });

  it('a bulk filter: the browser filter without paging, and a state the action applies to', () => {
    expect(parseBulkFilter(undefined, 'retry', TYPES)).toEqual({ ok: true, value: {} });
    expect(parseBulkFilter({ type: 'webhook', state: 'FAILED' }, 'retry', TYPES)).toEqual({ ok: true, value: { type: 'webhook', state: 'FAILED' } });
    expect(parseBulkFilter({ state: 'SCHEDULED' }, 'cancel', TYPES)).toEqual({ ok: true, value: { state: 'SCHEDULED' } });
    expect(parseBulkFilter({ state: 'SUCCEEDED' }, 'retry', TYPES)).toMatchObject({ ok: false, message: 'retry applies to FAILED, CANCELLED jobs, not SUCCEEDED' });
    expect(parseBulkFilter({ state: 'FAILED' }, 'cancel', TYPES)).toMatchObject({ ok: false, message: expect.stringContaining('cancel applies to SCHEDULED, PENDING, RUNNING') });
    expect(parseBulkFilter({ type: 5 }, 'retry', TYPES)).toMatchObject({ ok: false, message: expect.stringContaining('type: Invalid input') });
    expect(parseBulkFilter({ cursor: 'x' }, 'retry', TYPES)).toMatchObject({ ok: false, message: expect.stringContaining('Unrecognized key: "cursor"') });
    expect(parseBulkFilter([], 'retry', TYPES).ok).toBe(false);
  });

  it('a peek limit: 20 by default, 1 to 100', () => {
    expect(parsePeekLimit(new URLSearchParams(''))).toEqual({ ok: true, value: 20 });
    expect(parsePeekLimit(new URLSearchParams('limit=100'))).toEqual({ ok: true, value: 100 });
    expect(parsePeekLimit(new URLSearchParams('limit=101')).ok).toBe(false);
    expect(parsePeekLimit(new URLSearchParams('limit=-1')).ok).toBe(false);
  });
});

describe('payload size cap', () => {
  it('a small payload is shown whole, pretty-printed, with its stored size', () => {
    expect(capText('{"a":1,"b":[true]}')).toEqual({ text: '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}', bytes: 18, truncated: false });
  });

  it('a large one is cut at the cap, at a character boundary, and says so', () => {
    const big = JSON.stringify({ text: 'é'.repeat(CONTENT_CAP_BYTES) }); // two bytes each
    const capped = capText(big);
    expect(capped.truncated).toBe(true);
    expect(capped.bytes).toBe(Buffer.byteLength(big));
    const shown = Buffer.byteLength(capped.text);
    expect(shown).toBeLessThanOrEqual(CONTENT_CAP_BYTES);
    expect(shown).toBeGreaterThan(CONTENT_CAP_BYTES - 4);
    expect(capped.text).not.toContain('\uFFFD');
    expect(capText('x'.repeat(100), 10)).toEqual({ text: 'x'.repeat(10), bytes: 100, truncated: true });
  });
});

describe('which requests are answered', () => {
  const options = { host: '127.0.0.1', port: 3001, readOnly: false };
  const json = { host: '127.0.0.1:3001', 'content-type': 'application/json' };

  it('reads under a loopback Host; anything else is refused (DNS rebinding)', () => {
    for (const host of ['127.0.0.1:3001', 'localhost:3001', '[::1]:3001', 'LOCALHOST:3001']) expect(checkRequest('GET', { host }, options)).toBeUndefined();
    for (const host of ['attacker.example:3001', '127.0.0.1:3002', '127.0.0.1', ''])
      expect(checkRequest('GET', { host }, options)).toMatchObject({ status: 421, code: 'wrong_host' });
    // Bound to every address on purpose: any name that reaches it.
    expect(checkRequest('GET', { host: 'box.lan:3001' }, { ...options, host: '0.0.0.0' })).toBeUndefined();
  });

  it('an action is a JSON POST from its own page (or no browser page at all)', () => {
    expect(checkRequest('POST', json, options)).toBeUndefined();
    expect(checkRequest('POST', { ...json, origin: 'http://localhost:3001', 'content-type': 'application/json; charset=utf-8' }, options)).toBeUndefined();
    expect(checkRequest('POST', { ...json, origin: 'http://evil.example' }, options)).toMatchObject({ status: 403, code: 'cross_origin' });
    expect(checkRequest('POST', { ...json, origin: 'http://127.0.0.1:3002' }, options)).toMatchObject({ status: 403, code: 'cross_origin' });
    expect(checkRequest('POST', { ...json, origin: 'null' }, options)).toMatchObject({ status: 403, code: 'cross_origin' });
    // A cross-site form can send these without a preflight: refused.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', undefined]) {
      expect(checkRequest('POST', { host: json.host, ...(type ? { 'content-type': type } : {}) }, options)).toMatchObject({ status: 415, code: 'json_only' });
    }
    for (const method of ['PUT', 'DELETE', 'PATCH']) expect(checkRequest(method, json, options)).toMatchObject({ status: 405 });
  });

  it('read-only: every action is refused, reads are answered', () => {
    const readOnly = { ...options, readOnly: true };
    expect(checkRequest('POST', json, readOnly)).toMatchObject({ status: 403, code: 'read_only' });
    expect(checkRequest('GET', { host: json.host }, readOnly)).toBeUndefined();
  });
});

describe('the server', () => {
  // A stand-in for the jobline HTTP API on loopback, answering a retry as the API does: the dashboard talks
  // to it over HTTP with JobApiClient, as it talks to a real one.
  let api: Server;
  const calls: string[] = [];
  let apiUrl: string;
  let readOnly: Dashboard;
  let readWrite: Dashboard;

  const target = (): Target => ({
    kind: 'local',
    label: 'test target',
    region: 'us-east-1',
    jobTypes: [{ type: 'webhook', queueUrl: 'http://127.0.0.1:1/q', dlqUrl: 'http://127.0.0.1:1/dlq' }],
    apiClient: new JobApiClient({ apiUrl }),
    sqs: () => Promise.reject(new Error('no SQS in this test')),
    dynamodb: () => Promise.reject(new Error('no DynamoDB in this test')),
    receiveWaitSeconds: 0,
    close: () => {},
  });

  beforeAll(async () => {
    api = createServer((request: IncomingMessage, response) => {
      calls.push(`${request.method} ${request.url}`);
      request.resume();
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ jobId: JOB_ID, type: 'webhook', status: 'PENDING', statusUrl: '' }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    [readOnly, readWrite] = await Promise.all([startDashboard({ target, port: 0, readOnly: true }), startDashboard({ target, port: 0 })]);
  });

  afterAll(async () => {
    await Promise.all([readOnly?.close(), readWrite?.close()]);
    await new Promise((resolve) => api?.close(resolve));
  });

  const retry = (dashboard: Dashboard) =>
    fetch(`${dashboard.url}/api/jobs/${JOB_ID}/retry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));

  it('read-only: an action is refused with 403 and never reaches the API; the same action on a read-write dashboard does', async () => {
    calls.length = 0;
    expect(await retry(readOnly)).toEqual({ status: 403, body: { error: { code: 'read_only', message: expect.stringContaining('read-only') } } });
    expect(calls).toEqual([]);
    expect(await retry(readWrite)).toMatchObject({ status: 200, body: { job: { jobId: JOB_ID, status: 'PENDING' } } });
    expect(calls).toEqual([`POST /jobs/${JOB_ID}/retry`]);
  });

  it('says whether it is read-only; a bad query is 400 before the API is asked; an unknown route 404', async () => {
    calls.length = 0;
    const config = (await (await fetch(`${readOnly.url}/api/config`)).json()) as { readOnly: boolean; jobTypes: string[] };
    expect(config).toMatchObject({ readOnly: true, jobTypes: ['webhook'] });
    const bad = await fetch(`${readWrite.url}/api/jobs?state=LOST`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_query');
    expect((await fetch(`${readWrite.url}/api/nothing`)).status).toBe(404);
    // A job type the target does not have: 404 naming the ones it has, before SQS is asked.
    const unknown = await fetch(`${readWrite.url}/api/dlq/thumbnail/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('there is no job type "thumbnail"');
    expect(calls).toEqual([]);
  });

  it('serves the page with a policy that allows only its own scripts and no framing', async () => {
    const page = await fetch(`${readWrite.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/app.js"></script>');
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect((await fetch(`${readWrite.url}/vendor/preact.mjs`)).headers.get('content-type')).toMatch(/^text\/javascript/);
  });
});

describe('the overview', () => {
  const now = Date.parse('2026-12-03T12:30:30Z');
  const counts = (over: Partial<JobCounts['types'][number]>): JobCounts => ({
    listing: true,
    types: [{ type: 'webhook', jobs: { FAILED: 0 }, capped: [], finished: [], queue: { waiting: 0, inFlight: 0, delayed: 0 }, dlq: { messages: 0 }, ...over }],
  });

  it('counts the jobs that ended per minute over the last half hour, ending with this minute', () => {
    const at = (iso: string) => Date.parse(iso);
    const overview = buildOverview(
      counts({
        finished: [
          { at: at('2026-12-03T12:30:10Z'), status: 'SUCCEEDED' },
          { at: at('2026-12-03T12:30:20Z'), status: 'FAILED' },
          { at: at('2026-12-03T12:29:59Z'), status: 'SUCCEEDED' },
          { at: at('2026-12-03T12:01:00Z'), status: 'SUCCEEDED' },
          { at: at('2026-12-03T11:59:59Z'), status: 'FAILED' }, // before the chart
        ],
      }),
      'T',
      now,
    );
    expect(overview.minutes).toHaveLength(TIMELINE_MINUTES);
    expect(overview.minutes.at(-1)).toBe(at('2026-12-03T12:30:00Z') / 1000);
    expect(overview.minutes[0]).toBe(at('2026-12-03T12:01:00Z') / 1000);
    const [row] = overview.types;
    expect(row!.succeeded.at(-1)).toBe(1);
    expect(row!.failed.at(-1)).toBe(1);
    expect(row!.succeeded.at(-2)).toBe(1);
    expect(row!.succeeded[0]).toBe(1);
    expect(row!.failed.reduce((a, b) => a + b)).toBe(1);
    expect(row!.recent).toEqual({ succeeded: 2, failed: 1, perMinute: 0.6, failureRate: 1 / 3 });
    expect(row!.problems).toEqual(['33% of the jobs that ended in the last 5 minutes failed']);
  });

  it('a type with DLQ messages or a long wait is a problem; a quiet one is not', () => {
    expect(buildOverview(counts({}), 'T', now).types[0]!.problems).toEqual([]);
    expect(buildOverview(counts({ dlq: { messages: 1 } }), 'T', now).types[0]!.problems).toEqual(['1 message in the DLQ']);
    expect(buildOverview(counts({ oldestPendingAt: now - 6 * 60_000 }), 'T', now).types[0]!.problems).toEqual(['the oldest PENDING job has waited 6 min']);
    expect(buildOverview(counts({ oldestPendingAt: now - 4 * 60_000 }), 'T', now).types[0]!.problems).toEqual([]);
  });
});

describe("a job's log lines", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-dashboard-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds the lines that name the job in every function's log, in time order; reads only the end of each file", async () => {
    const line = (time: string, msg: string, jobId = JOB_ID) => JSON.stringify({ level: 'info', time, msg, jobId });
    writeFileSync(path.join(dir, 'api.log'), ['===== jobline dev 2026-12-03T12:00:00Z =====', line('2026-12-03T12:00:01.000Z', 'job submitted'), ''].join('\n'));
    writeFileSync(
      path.join(dir, 'webhook-worker.log'),
      ['START RequestId: r1', line('2026-12-03T12:00:02.000Z', 'job failed'), line('2026-12-03T12:00:02.500Z', 'other job', 'another'), 'END RequestId: r1', ''].join('\n'),
    );
    writeFileSync(path.join(dir, 'notes.txt'), line('2026-12-03T12:00:00.000Z', 'not a log file'));
    const found = await findJobLogLines(dir, JOB_ID);
    expect(found.truncated).toBe(false);
    expect(found.lines.map((l) => [l.file, JSON.parse(l.line).msg])).toEqual([
      ['api.log', 'job submitted'],
      ['webhook-worker.log', 'job failed'],
    ]);
    // The newest lines are kept when there are more than the limit.
    expect(await findJobLogLines(dir, JOB_ID, { maxLines: 1, tailBytes: 1 << 20 })).toMatchObject({ truncated: true, lines: [{ file: 'webhook-worker.log' }] });
    // Only the last 200 bytes of each file: api.log is shorter, the worker's line of the job is further from its end.
    expect((await findJobLogLines(dir, JOB_ID, { maxLines: 10, tailBytes: 200 })).lines.map((l) => l.file)).toEqual(['api.log']);
    expect(await findJobLogLines(path.join(dir, 'missing'), JOB_ID)).toEqual({ lines: [], truncated: false });
  });
});

describe('the files it serves', () => {
  it('the page and the vendored libraries; no path leaves dashboard/web', async () => {
    expect((await staticFile('/'))?.type).toBe('text/html; charset=utf-8');
    expect((await staticFile('/app.js'))?.body.toString()).toContain("from 'preact'");
    for (const name of ['preact.mjs', 'hooks.mjs', 'htm.mjs', 'uPlot.iife.min.js', 'uPlot.min.css']) expect(await staticFile(`/vendor/${name}`), name).toBeDefined();
    for (const bad of ['/../package.json', '/%2e%2e/package.json', '/vendor/../../package.json', '/dashboard/server/server.ts', '/app.ts', '/missing.js']) {
      expect(await staticFile(bad), bad).toBeUndefined();
    }
  });

  it('weighs what docs/dashboard.md says: under 150 KB, page and libraries', async () => {
    const { web, vendor } = await pageWeight();
    expect(web + vendor).toBeLessThan(150 * 1024);
  });
});
