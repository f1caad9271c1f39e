// The web dashboard as an operator uses it, in a real headless Chromium (Debian's chromium-headless-shell,
// driven by playwright-core), against one `jobline dev` started for the file: jobs submitted through the API
// appear in the overview (the failing type highlighted), the job browser filters the failed ones and finds a
// job by its Idempotency-Key, a detail shows why a job failed (error, payload, timeline, log lines) and its
// retry succeeds once the cause is fixed, a scheduled job is cancelled, a bulk cancel by filter, a DLQ is
// peeked and redriven with its progress, and `jobline dashboard --read-only` shows but refuses. Every view is
// saved under test-results/ (UPDATE_DOCS_SCREENSHOTS=1 also writes the README's three to docs/images/).
//
// Waiting is on conditions only: Playwright's locators wait for what they act on, and expect.poll re-reads
// the page until it shows what is awaited or its deadline passes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { findRuntimeFile, type RuntimeInfo } from '../../local/runtime-file';
import { startJoblineDev, type RunningDev } from '../support/jobline-cli';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const CHROMIUM = '/usr/bin/chromium-headless-shell';
const RESULTS = path.join(PACKAGE_ROOT, 'test-results');
const DOCS_IMAGES = path.join(PACKAGE_ROOT, 'docs', 'images');
/** How long the page may take to show what the stack did (a worker run, a refresh of the overview every 5 s). */
const SHOWN = { timeout: 30_000, interval: 250 };

let dev: RunningDev;
let info: RuntimeInfo;
let receiver: WebhookReceiver;
let browser: Browser;
let page: Page;
/** How the receiver answers each path (200 when not set): a failing target, then fixed. */
const paths = new Map<string, number>();
const jobs: Record<string, string> = {};

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  [receiver, dev, browser] = await Promise.all([startWebhookReceiver(), startJoblineDev(), chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })]);
  receiver.respond = (request) => paths.get((request.url ?? '').split('?')[0]!) ?? 200;
  const found = findRuntimeFile(PACKAGE_ROOT, dev.runtimeFile);
  if (found.kind !== 'running') throw new Error(`runtime file: ${found.kind}`);
  info = found.info;
  expect(info.dashboardUrl, 'jobline dev serves a dashboard and names it in its runtime file').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(dev.output()).toContain(`dashboard: ${info.dashboardUrl}`);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // A script error on the page fails the test that caused it, not a later one.
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 200_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await receiver?.close();
}, 60_000);

const pageErrors: string[] = [];
const dashboard = (hash = '') => `${info.dashboardUrl}/${hash}`;

async function submit(type: string, payload: unknown, options: { key?: string; delay?: number } = {}): Promise<string> {
  const response = await fetch(`${dev.apiUrl}/jobs/${type}${options.delay ? `?delay=${options.delay}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.key ? { 'idempotency-key': options.key } : {}) },
    body: JSON.stringify(payload),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
}

const statusOf = async (jobId: string) => ((await (await fetch(`${dev.apiUrl}/jobs/${jobId}`)).json()) as { status: string }).status;
const webhook = (route: string, status: number) => (paths.set(route, status), submit('webhook', { url: `${receiver.url}${route}`, body: { order: route } }));

async function screenshot(name: string, docs?: string): Promise<void> {
  const file = path.join(RESULTS, `dashboard-${name}.png`);
  await page.screenshot({ path: file });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS === '1') copyFileSync(file, path.join(DOCS_IMAGES, docs));
}

/** Answers the confirmation dialog with its action button. */
async function confirmWith(action: string): Promise<void> {
  const dialog = page.getByRole('dialog');
  await expect.poll(() => dialog.isVisible(), SHOWN).toBe(true);
  await dialog.getByRole('button', { name: action }).click();
}

describe('the dashboard in a browser', () => {
  it('overview: jobs submitted through the API appear, per type and state; the failing type is highlighted with its DLQ depth', async () => {
    for (const from of ['alice', 'bob', 'carol']) await submit('transfer', { from, to: 'dave', amount: 100 });
    jobs.first = await webhook('/orders/1', 422);
    jobs.second = await webhook('/orders/2', 422);
    await page.goto(dashboard());
    const cell = (type: string, what: string) => page.getByRole('link', { name: `${type} ${what}`, exact: true });
    await expect.poll(() => cell('transfer', 'SUCCEEDED').textContent(), SHOWN).toBe('3');
    await expect.poll(() => cell('webhook', 'FAILED').textContent(), SHOWN).toBe('2');
    await expect.poll(() => cell('webhook', 'DLQ').textContent(), SHOWN).toBe('2');
    const classOf = async (type: string) => (await page.locator(`tr[data-type="${type}"]`).getAttribute('class')) ?? '';
    expect(await classOf('webhook')).toBe('problem');
    expect(await classOf('transfer')).toBe('');
    expect(await page.getByRole('region', { name: 'problems' }).textContent()).toContain('webhook: 2 messages in the DLQ');
    // The chart drew its canvas.
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    await screenshot('overview', 'dashboard-overview.png');
    expect(pageErrors).toEqual([]);
  });

  it('job browser: the failed jobs by filter, and a job found by its Idempotency-Key and by its id', async () => {
    jobs.keyed = await submit('transfer', { from: 'erin', to: 'frank', amount: 5 }, { key: 'order-77' });
    // From the overview's FAILED count to the browser, filtered.
    await page.getByRole('link', { name: 'webhook FAILED', exact: true }).click();
    await expect.poll(() => page.getByLabel('State').inputValue(), SHOWN).toBe('FAILED');
    await page.getByLabel('Type').selectOption('');
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job-id')))).sort(), SHOWN).toEqual([jobs.first, jobs.second].sort());
    expect(await rows.locator('.pill').allTextContents()).toEqual(['FAILED', 'FAILED']);
    expect(await rows.first().textContent()).toContain('webhook target answered 422');
    await screenshot('jobs', 'dashboard-jobs.png');

    const search = page.getByRole('search');
    await search.getByLabel('Find').fill('order-77');
    await search.getByRole('button', { name: 'Find' }).click();
    const results = page.getByLabel('search results');
    await expect.poll(() => results.locator('tbody tr').getAttribute('data-job-id'), SHOWN).toBe(jobs.keyed);
    await search.getByLabel('Find').fill(jobs.second!.toUpperCase());
    await search.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => results.locator('tbody tr').getAttribute('data-job-id'), SHOWN).toBe(jobs.second);
    await search.getByRole('button', { name: 'Back to the list' }).click();
    expect(pageErrors).toEqual([]);
  });

  it('job detail: why it failed (error, payload, timeline, log lines); retried once the cause is fixed, it succeeds', async () => {
    await page.getByRole('link', { name: jobs.first! }).click();
    const heading = page.getByRole('heading', { level: 1 });
    await expect.poll(() => heading.textContent(), SHOWN).toContain('FAILED');
    expect(await page.getByLabel('error', { exact: true }).textContent()).toBe('PermanentError: webhook target answered 422');
    expect(await page.getByLabel('payload').textContent()).toContain(`"url": "${receiver.url}/orders/1"`);
    const timeline = page.getByRole('table', { name: 'timeline' });
    expect(await timeline.locator('tbody tr .pill').allTextContents()).toEqual(['PENDING', 'RUNNING', 'FAILED']);
    await expect.poll(() => page.getByLabel('log lines').textContent(), SHOWN).toMatch(/webhook-worker .*job failed permanently/);
    await screenshot('job', 'dashboard-job.png');

    paths.set('/orders/1', 200); // the cause, fixed
    await page.getByRole('button', { name: 'Retry…' }).click();
    await confirmWith('Retry the job');
    await expect.poll(() => heading.textContent(), SHOWN).toContain('SUCCEEDED');
    expect(await timeline.locator('tbody tr .pill').allTextContents()).toEqual(['PENDING', 'RUNNING', 'FAILED', 'PENDING', 'RUNNING', 'SUCCEEDED']);
    expect(await statusOf(jobs.first!)).toBe('SUCCEEDED');
    expect(pageErrors).toEqual([]);
  });

  it('cancels a scheduled job after a confirmation; declining the confirmation changes nothing', async () => {
    jobs.scheduled = await submit('transfer', { from: 'gina', to: 'hal', amount: 9 }, { delay: 3600 });
    await page.goto(dashboard(`#/job/${jobs.scheduled}`));
    const heading = page.getByRole('heading', { level: 1 });
    await expect.poll(() => heading.textContent(), SHOWN).toContain('SCHEDULED');
    await page.getByRole('button', { name: 'Cancel…' }).click();
    await confirmWith('Keep as it is');
    expect(await statusOf(jobs.scheduled)).toBe('SCHEDULED');
    await page.getByRole('button', { name: 'Cancel…' }).click();
    await confirmWith('Cancel the job');
    await expect.poll(() => heading.textContent(), SHOWN).toContain('CANCELLED');
    expect(await statusOf(jobs.scheduled)).toBe('CANCELLED');
    expect(pageErrors).toEqual([]);
  });

  it('bulk: cancels every job the filter matches, and says how many', async () => {
    const later = [
      await submit('transfer', { from: 'ivan', to: 'judy', amount: 1 }, { delay: 3600 }),
      await submit('transfer', { from: 'ken', to: 'lou', amount: 2 }, { delay: 3600 }),
    ];
    await page.goto(dashboard('#/jobs?type=transfer&state=SCHEDULED'));
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job-id')))).sort(), SHOWN).toEqual([...later].sort());
    await page.getByRole('button', { name: 'Cancel matching…' }).click();
    expect(await page.getByRole('dialog').textContent()).toContain('every SCHEDULED job of type transfer');
    await confirmWith('Cancel them');
    await expect.poll(() => page.locator('.bulk .done').textContent(), SHOWN).toContain('2 matched, 2 changed, 0 skipped');
    expect(await Promise.all(later.map(statusOf))).toEqual(['CANCELLED', 'CANCELLED']);
    await expect.poll(() => rows.count(), SHOWN).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('DLQ: peeks the parked messages (job id, reason), redrives them with progress: the FAILED job is retried, the stale copy deleted', async () => {
    paths.set('/orders/2', 200); // the second job's cause, fixed
    await page.goto(dashboard('#/dlq/webhook'));
    const parked = page.getByRole('table', { name: 'parked messages' });
    await expect.poll(async () => (await parked.locator('tbody tr td:first-child').allTextContents()).sort(), SHOWN).toEqual([jobs.first, jobs.second].sort());
    expect(await parked.textContent()).toContain('PermanentError: webhook target answered 422');
    await page.getByRole('button', { name: 'Redrive…' }).click();
    await confirmWith('Redrive');
    await expect.poll(() => page.locator('.task .done').textContent(), SHOWN).toBe('redrive webhook: 1 job(s) retried, 1 stale message(s) deleted, 0 message(s) left in the DLQ');
    expect(await page.getByRole('progressbar', { name: 'redrive webhook' }).getAttribute('aria-valuenow')).toBe('2');
    await expect.poll(() => page.getByText('The webhook DLQ is empty.').isVisible(), SHOWN).toBe(true);
    await screenshot('dlq');
    await expect.poll(() => statusOf(jobs.second!), SHOWN).toBe('SUCCEEDED');
    expect(pageErrors).toEqual([]);
  });

  it('jobline dashboard --read-only: shows the jobs, its action buttons are disabled, and its server refuses actions', async () => {
    const child = startDashboardCommand(['--read-only', '--port', '0']);
    try {
      const { url, output } = await started(child);
      expect(output).toMatch(/^jobline dashboard: http:\/\/127\.0\.0\.1:\d+ {2}\(jobline dev \(pid \d+, .*\), read-only\)$/m);
      await page.goto(`${url}/#/job/${jobs.scheduled}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), SHOWN).toContain('CANCELLED');
      expect(await page.locator('header .read-only').textContent()).toBe('read-only');
      expect(await page.getByRole('button', { name: 'Retry…' }).isDisabled()).toBe(true);
      await screenshot('read-only');
      // Not only the buttons: the server itself refuses, from its own page too.
      const refused = await page.evaluate(async (jobId) => {
        const response = await fetch(`/api/jobs/${jobId}/retry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return { status: response.status, body: await response.json() };
      }, jobs.scheduled!);
      expect(refused).toEqual({ status: 403, body: { error: { code: 'read_only', message: expect.stringContaining('read-only') } } });
      expect(await statusOf(jobs.scheduled!)).toBe('CANCELLED');
    } finally {
      child.kill('SIGINT');
    }
    expect(await new Promise((resolve) => child.once('exit', (code) => resolve(code)))).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function startDashboardCommand(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX, path.join(PACKAGE_ROOT, 'cli/bin.ts'), 'dashboard', ...args], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...dev.env, NO_COLOR: '1' },
  });
}

/** The URL the command prints once it listens, and what it printed. */
async function started(child: ChildProcessWithoutNullStreams): Promise<{ url: string; output: string }> {
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await expect
    .poll(() => /jobline dashboard: (http:\/\/\S+)/.exec(output)?.[1] ?? (child.exitCode !== null ? `exited: ${output}` : undefined), { timeout: 30_000, interval: 100 })
    .toMatch(/^http:/);
  return { url: /jobline dashboard: (http:\/\/\S+)/.exec(output)![1]!, output };
}
