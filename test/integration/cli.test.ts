// The operator's `jobline` CLI against one running `jobline dev` (started once for the file): the README's
// operator's guide run as written (find a failed job, see why, fix the cause, peek, redrive, watch it
// succeed), the --json shapes and exit codes of every command, a redrive that leaves what it cannot vouch
// for, and the refusal once the runtime is gone.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit';
import { PACKAGE_ROOT } from '../../infra/paths';
import { findRuntimeFile, type RuntimeInfo } from '../../local/runtime-file';
import { encodeMessage } from '../../shared/jobs/message';
import { newJobId } from '../../shared/jobs/job-id';
import { jobline, startJoblineDev, type CliResult, type RunningDev } from '../support/jobline-cli';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

let dev: RunningDev;
let receiver: WebhookReceiver;
let info: RuntimeInfo;
let sqs: SQSClient;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  receiver.respond = (request) => paths.get((request.url ?? '').split('?')[0]!) ?? 200;
  dev = await startJoblineDev();
  const found = findRuntimeFile(PACKAGE_ROOT, dev.runtimeFile);
  if (found.kind !== 'running') throw new Error(`runtime file: ${found.kind}`);
  info = found.info;
  sqs = new SQSClient({ region: info.region, endpoint: info.endpoints.sqs, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}, 180_000);

afterAll(async () => {
  sqs?.destroy();
  await dev?.stop();
  await receiver?.close();
}, 60_000);

const cli = (...args: string[]) => jobline(args, dev.env);
const json = <T = any>(result: CliResult): T => {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}${result.stderr}`);
  }
};
const dlqOf = (type: string) => info.jobTypes.find((t) => t.type === type)!.dlqUrl;
const dlqDepth = async (type: string) =>
  Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqOf(type), AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes?.ApproximateNumberOfMessages);
const statusOf = async (jobId: string) => ((await (await fetch(`${dev.apiUrl}/jobs/${jobId}`)).json()) as { status: string }).status;
/** How the receiver answers each path (200 when not set); a path's answer can change while a test runs. */
const paths = new Map<string, number>();
/** A webhook job to a path of the receiver, which answers `status`, submitted with the CLI. */
async function submitWebhook(route: string, status: number): Promise<string> {
  paths.set(route, status);
  const submitted = json<{ jobId: string }>(await cli('submit', 'webhook', JSON.stringify({ url: `${receiver.url}${route}`, body: {} }), '--json'));
  return submitted.jobId;
}

/** The README's operator's guide: its command lines, in order, as written. */
function guideLines(): string[] {
  const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const block = /<!-- operator-guide:start -->\n```sh\n([\s\S]*?)```\n<!-- operator-guide:end -->/.exec(readme)?.[1];
  expect(block, 'the README has the operator-guide block').toBeDefined();
  return block!.split('\n').filter((l) => l.trim() !== '');
}

/** Shell words of a line (single and double quotes, no expansions): what the shell passes to jobline. */
function words(line: string): string[] {
  const out: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = pattern.exec(line); m; m = pattern.exec(line)) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
  return out;
}

async function runGuide() {
  let jobId = '';
  const ran: string[] = [];
  paths.set('/orders', 422);
  for (const line of guideLines()) {
    if (line.startsWith('#')) {
      // "fix the cause (here the receiver)": the receiver accepts the calls from now on.
      expect(line).toMatch(/fix/);
      paths.set('/orders', 200);
      ran.push('(fixed the receiver)');
      continue;
    }
    const command = line.replace(/\s{2,}#.*$/, '');
    expect(command.startsWith('jobline ')).toBe(true);
    const args = words(command.replace('<receiver>', receiver.url).replace('<jobId>', jobId)).slice(1);
    const result = await cli(...args);
    ran.push(command);
    const step = `${command}\n${result.stdout}${result.stderr}`;
    switch (`${args[0]} ${args[1]}`) {
      case 'submit webhook':
        expect(result.code, step).toBe(0);
        jobId = /job ([0-9a-f-]{36})/.exec(result.stdout)![1]!;
        await expect.poll(() => statusOf(jobId), { timeout: 20_000, interval: 200 }).toBe('FAILED');
        break;
      case 'jobs list':
        expect(result.code, step).toBe(0);
        expect(result.stdout, step).toMatch(new RegExp(`^${jobId}\\s+webhook\\s+FAILED\\s+1\\s+.*webhook target answered 422`, 'm'));
        break;
      case 'jobs show':
        expect(result.code, step).toBe(0);
        expect(result.stdout, step).toMatch(/^status: +FAILED$/m);
        expect(result.stdout, step).toMatch(/^error: +PermanentError: webhook target answered 422$/m);
        // Its timeline: submitted PENDING, then FAILED with the reason.
        expect(result.stdout, step).toMatch(/^AT +STATE +RECEIVE +REASON$/m);
        expect(result.stdout, step).toMatch(/^\S+ +FAILED +1 +PermanentError: webhook target answered 422$/m);
        break;
      case 'dlq peek':
        expect(result.code, step).toBe(0);
        expect(result.stdout, step).toMatch(new RegExp(`^${jobId}\\s+PermanentError: webhook target answered 422\\s+1\\s+1\\s+\\S+\\s+worker$`, 'm'));
        break;
      case 'dlq redrive':
        expect(result.code, step).toBe(0);
        expect(result.stdout, step).toContain('redrive webhook: 1 job(s) retried, 0 stale message(s) deleted, 0 message(s) left in the DLQ');
        break;
      case 'jobs watch':
        expect(result.code, step).toBe(0);
        expect(result.stdout, step).toMatch(/SUCCEEDED {2}attempts 2, generation 2$/m);
        break;
      default:
        throw new Error(`the test does not know what to check after: ${command}`);
    }
  }
  expect(await dlqDepth('webhook')).toBe(0);
  return ran;
}

describe("the README's operator's guide", () => {
  it('runs as written: find the failed job, see why, fix, peek, redrive, watch it succeed', async () => {
    expect(await runGuide()).toHaveLength(7);
  });
});

describe('jobs and submit', () => {
  it('submit: --json shape, --key replays, refusals exit 1, unknown type 4, bad JSON or @file 2', async () => {
    const payload = JSON.stringify({ from: 'alice', to: 'bob', amount: 7 });
    const first = json(await cli('submit', 'transfer', payload, '--key', 'cli-order-1', '--json'));
    expect(first).toEqual({ jobId: expect.any(String), type: 'transfer', status: 'PENDING', statusUrl: `${dev.apiUrl}/jobs/${first.jobId}`, replayed: false });
    const again = await cli('submit', 'transfer', payload, '--key', 'cli-order-1');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^already submitted \\(same Idempotency-Key\\): transfer job ${first.jobId}: `));

    const badFile = path.join(mkdtempSync(path.join(tmpdir(), 'jobline-cli-payload-')), 'payload.json');
    writeFileSync(badFile, '{oops');
    const [invalid, unknown, notJson, noFile, noName, notJsonFile] = await Promise.all([
      cli('submit', 'transfer', '{"from":1}'),
      cli('submit', 'nope', '{}'),
      cli('submit', 'transfer', '{oops'),
      cli('submit', 'transfer', '@/nonexistent/payload.json'),
      cli('submit', 'transfer', '@'),
      cli('submit', 'transfer', `@${badFile}`),
    ]);
    expect(noName).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('@ needs a file name') });
    // The shell quoting hint is for text on the command line, not for a file.
    expect(notJson.stderr).toContain('quote it for the shell');
    expect(notJsonFile).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining(`${badFile} is not JSON`) });
    expect(notJsonFile.stderr).not.toContain('quote it');
    expect(invalid.code).toBe(EXIT.failed);
    expect(invalid.stderr).toContain('refused (400 invalid_payload)');
    expect(invalid.stderr).toMatch(/^ {2}from: /m);
    expect(unknown.code).toBe(EXIT.notFound);
    expect(unknown.stderr).toContain('job types: transfer, webhook');
    expect([notJson.code, noFile.code]).toEqual([EXIT.usage, EXIT.usage]);
  });

  it('show --json is the API job view; watch exits 0 on SUCCEEDED and 1 on FAILED; retry of a SUCCEEDED job is refused (exit 1); unknown jobs are 4', async () => {
    const ok = await cli('submit', 'transfer', JSON.stringify({ from: 'carol', to: 'dave', amount: 1 }), '--wait');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/SUCCEEDED {2}attempts 1$/m);
    const jobId = /job ([0-9a-f-]{36})/.exec(ok.stdout)![1]!;
    const view = json(await cli('jobs', 'show', jobId, '--json'));
    expect(view).toMatchObject({ jobId, type: 'transfer', status: 'SUCCEEDED', generation: 1, attempts: 1, result: { from: 'carol', to: 'dave', amount: 1 } });
    expect(Object.keys(view)).toEqual(expect.arrayContaining(['createdAt', 'updatedAt', 'finishedAt']));

    const failing = await submitWebhook('/watch-fails', 410);
    const watched = await cli('jobs', 'watch', failing, '--interval', '0.2', '--json');
    expect(watched.code).toBe(EXIT.failed);
    const lines = watched.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; error?: string });
    expect(lines.at(-1)).toMatchObject({ status: 'FAILED', error: 'PermanentError: webhook target answered 410' });

    const refused = await cli('jobs', 'retry', jobId);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('the job is SUCCEEDED');
    const missing = '00000000-0000-4000-8000-000000000000';
    const unknown = await Promise.all([cli('jobs', 'show', missing), cli('jobs', 'retry', missing), cli('jobs', 'watch', missing)]);
    expect(unknown.map((r) => r.code)).toEqual([EXIT.notFound, EXIT.notFound, EXIT.notFound]);

    // retry of the FAILED one, its target fixed: 202, PENDING again, then SUCCEEDED; its DLQ copy goes with a purge.
    paths.set('/watch-fails', 200);
    const retried = json(await cli('jobs', 'retry', failing, '--json'));
    expect(retried).toMatchObject({ jobId: failing, status: 'PENDING', replayed: false });
    await expect.poll(() => statusOf(failing), { timeout: 20_000, interval: 200 }).toBe('SUCCEEDED');
    expect((await cli('dlq', 'purge', 'webhook', '--yes')).code).toBe(0);
    expect(await dlqDepth('webhook')).toBe(0);
  });

  it('jobs list: --json {jobs, cursor?} by type and state, pages with --cursor; --key finds a keyed job', async () => {
    const failed = await submitWebhook('/list-fails', 422);
    await expect.poll(() => statusOf(failed), { timeout: 20_000, interval: 200 }).toBe('FAILED');
    const byType = json<{ jobs: { jobId: string; status: string }[]; cursor?: string }>(await cli('jobs', 'list', '--type', 'webhook', '--state', 'FAILED', '--json'));
    expect(byType.jobs.map((j) => j.jobId)).toContain(failed);
    expect(byType.jobs.every((j) => j.status === 'FAILED')).toBe(true);
    // Every type, a page of one at a time: the cursor goes on to the next job.
    const first = json<{ jobs: { jobId: string }[]; cursor?: string }>(await cli('jobs', 'list', '--limit', '1', '--json'));
    expect(first.jobs).toHaveLength(1);
    expect(first.cursor).toEqual(expect.any(String));
    const second = json<{ jobs: { jobId: string }[] }>(await cli('jobs', 'list', '--limit', '1', '--cursor', first.cursor!, '--json'));
    expect(second.jobs).toHaveLength(1);
    expect(second.jobs[0]!.jobId).not.toBe(first.jobs[0]!.jobId);
    const keyed = json<{ jobs: { idempotencyKey?: string }[] }>(await cli('jobs', 'list', '--type', 'transfer', '--key', 'cli-order-1', '--json'));
    expect(keyed.jobs).toEqual([expect.objectContaining({ idempotencyKey: 'cli-order-1' })]);
    const refused = await Promise.all([cli('jobs', 'list', '--type', 'nope'), cli('jobs', 'list', '--key', 'cli-order-1'), cli('jobs', 'list', '--cursor', 'not-a-cursor')]);
    expect(refused.map((r) => r.code)).toEqual([EXIT.notFound, EXIT.usage, EXIT.failed]);
    expect((await cli('dlq', 'purge', 'webhook', '--yes')).code).toBe(0);
  });

  it('jobs cancel: a finished job is refused (409, exit 1), an unknown one is 4', async () => {
    const done = json<{ jobId: string }>(await cli('submit', 'transfer', JSON.stringify({ from: 'e', to: 'f', amount: 1 }), '--json'));
    await expect.poll(() => statusOf(done.jobId), { timeout: 20_000, interval: 200 }).toBe('SUCCEEDED');
    expect((await cli('jobs', 'cancel', done.jobId)).code).toBe(EXIT.failed);
    expect((await cli('jobs', 'cancel', '00000000-0000-4000-8000-000000000000')).code).toBe(EXIT.notFound);
  });

  it('submit --delay is SCHEDULED; cancel makes it CANCELLED; retry runs a CANCELLED job', async () => {
    const scheduled = json<{ jobId: string; status: string }>(await cli('submit', 'transfer', JSON.stringify({ from: 'g', to: 'h', amount: 1 }), '--delay', '600', '--json'));
    expect(scheduled.status).toBe('SCHEDULED');
    expect(json(await cli('jobs', 'cancel', scheduled.jobId, '--json'))).toMatchObject({ status: 'CANCELLED' });
    expect(json(await cli('jobs', 'retry', scheduled.jobId, '--json'))).toMatchObject({ status: 'PENDING' });
    await expect.poll(() => statusOf(scheduled.jobId), { timeout: 20_000, interval: 200 }).toBe('SUCCEEDED');
  });
});

describe('dlq and stats', () => {
  it('redrive retries what it can vouch for, deletes stale copies, leaves the rest (exit 1) visible; purge empties it; neither runs unconfirmed without a terminal', async () => {
    const dlq = dlqOf('webhook');
    const failed = await submitWebhook('/redrive-fixed-later', 422);
    const succeeded = await submitWebhook('/redrive-ok', 200);
    await expect.poll(() => Promise.all([statusOf(failed), statusOf(succeeded)]), { timeout: 20_000, interval: 200 }).toEqual(['FAILED', 'SUCCEEDED']);
    paths.set('/redrive-fixed-later', 200);
    // Hand-made messages: a job that does not exist, a body that is not a job message, a forged copy of a real job.
    const gone = newJobId();
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: encodeMessage(gone, 'webhook', { url: receiver.url, body: {} }) }));
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: 'not a job message' }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: encodeMessage(succeeded, 'webhook', { url: `${receiver.url}/evil`, body: {} }),
        MessageAttributes: {
          'jobline-reason': { DataType: 'String', StringValue: 'the message does not match its job record (type, payload or generation): not run' },
          'jobline-job-id': { DataType: 'String', StringValue: succeeded },
        },
      }),
    );
    await expect.poll(() => dlqDepth('webhook'), { timeout: 10_000, interval: 100 }).toBe(4);

    const peeked = json<{ messages: { jobId?: string; reason?: string; source: string; malformed?: string }[] }>(await cli('dlq', 'peek', 'webhook', '--json'));
    expect(peeked.messages).toHaveLength(4);
    expect(peeked.messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ jobId: failed, reason: 'PermanentError: webhook target answered 422', source: 'worker' }),
        expect.objectContaining({ jobId: gone, source: 'sqs redrive' }),
        expect.objectContaining({ malformed: 'malformed message: body is not JSON', source: 'sqs redrive' }),
      ]),
    );
    // Peeking took nothing away.
    expect(await dlqDepth('webhook')).toBe(4);

    const unconfirmed = await cli('dlq', 'redrive', 'webhook');
    expect(unconfirmed.code).toBe(EXIT.usage);
    expect(unconfirmed.stderr).toContain('pass --yes');

    const redrive = await cli('dlq', 'redrive', 'webhook', '--yes', '--json');
    expect(redrive.code).toBe(EXIT.failed);
    const summary = json<{ retried: number; deleted: number; kept: number; messages: { jobId?: string; action: string; why: string }[] }>(redrive);
    expect(summary).toMatchObject({ retried: 1, deleted: 0, kept: 3 });
    const why = (jobId: string | undefined) => summary.messages.find((m) => m.jobId === jobId)!;
    expect(why(failed)).toMatchObject({ action: 'retried', why: 'the job was FAILED' });
    expect(why(gone)).toMatchObject({ action: 'kept', why: expect.stringContaining('its job is gone') });
    expect(why(succeeded)).toMatchObject({ action: 'kept', why: expect.stringContaining('forged') });
    expect(why(undefined)).toMatchObject({ action: 'kept', why: expect.stringContaining('no job id') });
    await expect.poll(() => statusOf(failed), { timeout: 20_000, interval: 200 }).toBe('SUCCEEDED');
    // What stayed is visible again at once: peek sees it.
    expect(json<{ messages: unknown[] }>(await cli('dlq', 'peek', 'webhook', '--json')).messages).toHaveLength(3);

    // A copy of the retried job's first generation is stale now: deleted, not re-run.
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: encodeMessage(failed, 'webhook', { url: `${receiver.url}/redrive-fixed-later`, body: {} }, 1) }));
    const second = json<{ retried: number; deleted: number; kept: number }>(await cli('dlq', 'redrive', 'webhook', '--yes', '--json'));
    expect(second).toMatchObject({ retried: 0, deleted: 1, kept: 3 });

    expect((await cli('dlq', 'purge', 'webhook')).code).toBe(EXIT.usage);
    expect(json(await cli('dlq', 'purge', 'webhook', '--yes', '--json'))).toEqual({ type: 'webhook', dlqUrl: dlq, purged: 3 });
    expect(await dlqDepth('webhook')).toBe(0);
    expect((await cli('dlq', 'peek', 'nope')).code).toBe(EXIT.notFound);
  });

  it('dlq list and stats: --json shapes, per job type', async () => {
    const list = json<{ dlqs: unknown[] }>(await cli('dlq', 'list', '--json'));
    expect(list.dlqs).toEqual(info.jobTypes.map((t) => ({ type: t.type, dlqUrl: t.dlqUrl, messages: 0, inFlight: 0 })));
    const stats = json<{ target: string; types: Record<string, unknown>[] }>(await cli('stats', '--json'));
    expect(stats.target).toMatch(/^jobline dev \(pid \d+, http:\/\/127\.0\.0\.1:\d+\)$/);
    expect(stats.types.map((t) => t.type)).toEqual(['transfer', 'webhook']);
    for (const t of stats.types) {
      expect(t).toMatchObject({ queue: { waiting: expect.any(Number), inFlight: expect.any(Number), delayed: expect.any(Number) }, dlq: { messages: 0 } });
      expect(Object.keys(t.jobs as object)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
    }
    // The counts are the API's: as many SUCCEEDED transfers as jobs list finds, and they ended in the last minutes.
    const transfer = stats.types.find((t) => t.type === 'transfer') as { jobs: Record<string, number>; finishedPerMinute: number; capped: string[] };
    const listed = json<{ jobs: unknown[] }>(await cli('jobs', 'list', '--type', 'transfer', '--state', 'SUCCEEDED', '--limit', '100', '--json'));
    expect(transfer.jobs.SUCCEEDED).toBe(listed.jobs.length);
    expect(transfer.jobs.SUCCEEDED).toBeGreaterThan(0);
    expect(transfer.finishedPerMinute).toBeGreaterThan(0);
    expect(transfer.capped).toEqual([]);
    const table = await cli('stats');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^JOB TYPE +.*QUEUED +IN FLIGHT +DELAYED +DLQ$/m);
  });
});

describe('once jobline dev stopped', () => {
  it('its runtime file is gone and every command says no jobline dev runs (exit 3)', async () => {
    await dev.stop();
    expect(findRuntimeFile(PACKAGE_ROOT, dev.runtimeFile).kind).toBe('missing');
    const result = await cli('jobs', 'show', 'anything');
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toContain('no jobline dev running here');
  });
});
