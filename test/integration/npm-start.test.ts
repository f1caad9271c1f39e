// `npm start` as a user runs it: it serves the API on the embedded emulators, a submitted transfer
// succeeds, and Ctrl-C (SIGINT to the terminal's process group) leaves no process behind. Every port is
// given (free ones), so that test files running side by side never collide on the defaults.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { freePort } from '../../local/emulators/free-port';
import { processesInGroup } from '../support/processes';

let pgid: number | undefined;
// The function logs of this run go here, not to the repository's .jobline/logs.
const logDir = mkdtempSync(path.join(tmpdir(), 'jobline-npm-start-logs-'));
afterAll(() => {
  // Never leave a stray stack behind a failed test.
  if (pgid !== undefined && processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
  rmSync(logDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('runs the pipeline, and SIGINT stops every process it started', async () => {
    const [apiPort, dynamodbPort, sqsPort] = [await freePort(), await freePort(), await freePort()];
    const args = ['--port', String(apiPort), '--dynamodb-port', String(dynamodbPort), '--sqs-port', String(sqsPort)];
    const child = spawn('npm', ['start', '--', ...args], {
      cwd: PACKAGE_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_SQS: '', JOBLINE_LOG_DIR: logDir },
    });
    pgid = child.pid!;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));

    await expect.poll(() => /API: (http:\/\/\S+)/.exec(output)?.[1], { timeout: 120_000, interval: 250 }).toBeDefined();
    // The start banner ends with this line: what it prints after the API line may still be on its way.
    await expect.poll(() => output.includes('Ctrl-C stops everything.'), { timeout: 60_000, interval: 100 }).toBe(true);
    const api = /API: (http:\/\/\S+)/.exec(output)![1]!;
    expect(api).toBe(`http://127.0.0.1:${apiPort}`);

    // It says whether it synthesized or reused cdk.out, and why; what each job type runs with; where the emulators are.
    expect(output).toMatch(/^ {2}(synthesized: .+|reusing cdk\.out \(same sources and settings\))$/m);
    for (const type of ['transfer', 'webhook']) {
      expect(output).toMatch(
        new RegExp(
          `^ {4}${type} +(FIFO|standard) +batch size \\d+, batching window \\d+ s, max concurrency \\d+, worker timeout \\d+ s, visibility timeout \\d+ s, maxReceiveCount \\d+, backoff base \\d+ s max \\d+ s$`,
          'm',
        ),
      );
    }
    expect(output).toContain(`  DynamoDB  http://127.0.0.1:${dynamodbPort}  (DynamoDB Local, embedded)`);
    expect(output).toContain(`  SQS       http://127.0.0.1:${sqsPort}  (SQS emulator, embedded)`);
    expect(output).toContain('  credentials: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1');
    expect(output).toMatch(new RegExp(`aws --endpoint-url http://127\\.0\\.0\\.1:${dynamodbPort} dynamodb scan --table-name \\S+`));
    // The printed DLQ URL is one the SQS emulator answers on.
    const dlqUrl = new RegExp(`aws --endpoint-url http://127\\.0\\.0\\.1:${sqsPort} sqs receive-message --queue-url (http://127\\.0\\.0\\.1:${sqsPort}/\\S+)`).exec(output)?.[1];
    expect(dlqUrl).toBeDefined();
    // The callbacks' DLQ too: a refused callback is parked there, and the dlq commands cover job types only.
    expect(output).toMatch(/sqs receive-message --queue-url \S+JobsNotificationsCallbackDeadLetterQueue/);
    const sqs = new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${sqsPort}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
      expect(Attributes?.QueueArn).toMatch(/^arn:aws:sqs:us-east-1:000000000000:/);
    } finally {
      sqs.destroy();
    }

    // The submit route reads as the docs write it, and the callback secret the README's verification needs
    // is named with a command that reads it.
    expect(output).toMatch(new RegExp(`^  POST /jobs/\\{type\\} +${api}/jobs/\\{type\\}$`, 'm'));
    const secret = /aws --endpoint-url (http:\/\/127\.0\.0\.1:\d+) secretsmanager get-secret-value --secret-id (\S+)/.exec(output);
    expect(secret).not.toBeNull();
    const secrets = new SecretsManagerClient({ region: 'us-east-1', endpoint: secret![1], credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      expect((await secrets.send(new GetSecretValueCommand({ SecretId: secret![2] }))).SecretString).toMatch(/\S{16,}/);
    } finally {
      secrets.destroy();
    }

    const submitted = await fetch(`${api}/jobs/transfer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'alice', to: 'bob', amount: 100 }),
    });
    expect(submitted.status).toBe(202);
    const { statusUrl } = (await submitted.json()) as { statusUrl: string };
    await expect.poll(async () => ((await (await fetch(statusUrl)).json()) as { status: string }).status, { timeout: 10_000, interval: 100 }).toBe('SUCCEEDED');

    const running = processesInGroup(pgid);
    expect(running.some((p) => p.includes('DynamoDBLocal.jar'))).toBe(true);
    expect(running.some((p) => p.includes('bootstrap.mjs'))).toBe(true);

    process.kill(-pgid, 'SIGINT');
    // npm itself ends by the signal, as it does in a terminal; jobline ends cleanly behind it.
    expect(['SIGINT', 'code 0', 'code 130']).toContain(await exited);
    await expect.poll(() => processesInGroup(pgid!), { timeout: 10_000, interval: 200 }).toEqual([]);
    // Its last line may be read a moment after the process is gone.
    await expect.poll(() => output, { timeout: 5_000, interval: 100 }).toContain('jobline: stopped.');

    // The worker's log, named for it, in the directory given: the run's separator, then Lambda's lines per invocation.
    expect(output).toContain(`  function logs: ${logDir}`);
    const workerLog = readFileSync(path.join(logDir, 'transfer-worker.log'), 'utf8').split('\n');
    expect(workerLog[0]).toMatch(/^===== jobline dev \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ =====$/);
    expect(workerLog.some((l) => /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/.test(l))).toBe(true);
    expect(workerLog.some((l) => /^REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB/.test(l))).toBe(
      true,
    );
  });
});
