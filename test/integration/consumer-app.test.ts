// jobline as a library, the way a CDK user gets it: `npm pack` builds the package; a fresh CDK app of its own
// (test/consumer-app: two job types, one leased that reads an S3 bucket it grants, one transactional) gets
// the tarball as node_modules/jobline; its synthesis is cdk-nag clean; `npx jobline dev` runs it; a job of
// each type goes to SUCCEEDED over HTTP. The app reuses this repository's installed dependencies (it lives
// under .jobline/, so Node finds them above it) to stay fast and offline.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { freePort } from '../../local/emulators/free-port';
import { processesInGroup } from '../support/processes';

const FIXTURE = path.join(PACKAGE_ROOT, 'test/consumer-app');
let appDir: string;
let pgid: number | undefined;
let output = '';

beforeAll(() => {
  mkdirSync(path.join(PACKAGE_ROOT, '.jobline'), { recursive: true });
  appDir = mkdtempSync(path.join(PACKAGE_ROOT, '.jobline', 'consumer-app-'));
  // npm pack runs prepack (the package build) and names the tarball it wrote on its last line.
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', appDir], { cwd: PACKAGE_ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const installed = path.join(appDir, 'node_modules', 'jobline');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(appDir, tarball), '-C', installed, '--strip-components=1']);
  // What npm install does with the package's bin.
  const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  mkdirSync(path.join(appDir, 'node_modules', '.bin'));
  symlinkSync(path.join('..', 'jobline', pkg.bin.jobline!), path.join(appDir, 'node_modules', '.bin', 'jobline'));
  chmodSync(path.join(installed, pkg.bin.jobline!), 0o755);
  cpSync(FIXTURE, appDir, { recursive: true });
}, 180_000);

afterAll(() => {
  if (pgid !== undefined && processesInGroup(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

describe('a CDK app that uses the packed jobline', () => {
  it('holds only the published files: built modules, declarations, the bin', () => {
    const installed = path.join(appDir, 'node_modules', 'jobline');
    expect(existsSync(path.join(installed, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(path.join(installed, 'dist', 'types', 'cdk.d.ts'))).toBe(true);
    expect(readdirSync(installed).sort()).not.toContain('test');
  });

  it('type-checks against the published declarations (no cast, no edit inside the package)', () => {
    const tsc = path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = () => execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: appDir, encoding: 'utf8', stdio: 'pipe' });
    expect(run).not.toThrow();
  }, 120_000);

  it('runs with npx jobline dev: a leased job reads the bucket it was granted, a transactional job commits', async () => {
    const [apiPort, dynamodbPort, sqsPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn('npx', ['jobline', 'dev', '--port', String(apiPort), '--dynamodb-port', String(dynamodbPort), '--sqs-port', String(sqsPort)], {
      cwd: appDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its function logs go to the app's temporary directory (removed with it), not to the repository's .jobline/logs.
      // CDK_VALIDATION=false: CloudFormation's template validation (CDK's built-in, `cdk synth --no-validation` turns
      // it off) only ever warns, and costs about 6 s of CPU here; cdk-nag, a validation plugin of the app, still runs.
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: '',
        AWS_ENDPOINT_URL_DYNAMODB: '',
        AWS_ENDPOINT_URL_SQS: '',
        AWS_ENDPOINT_URL_S3: '',
        JOBLINE_LOG_DIR: path.join(appDir, 'logs'),
        CDK_VALIDATION: 'false',
      },
    });
    pgid = child.pid!;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));

    // The last line of its start (the endpoints it prints come after the API's line).
    await expect.poll(() => /Ctrl-C stops everything|jobline: .*(did not|error)/.exec(output)?.[0], { timeout: 170_000, interval: 250 }).toBeDefined();
    const api = /API: (http:\/\/\S+)/.exec(output)?.[1];
    expect(api, output).toBe(`http://127.0.0.1:${apiPort}`);

    // Synthesized from its own cdk.json, cdk-nag clean (no error in the assembly's metadata), one bundle per worker.
    const manifest = readFileSync(path.join(appDir, 'cdk.out', 'manifest.json'), 'utf8');
    expect(manifest).not.toContain('"aws:cdk:error"');
    expect(output).toMatch(/^ {4}thumbnail +standard /m);
    expect(output).toMatch(/^ {4}tally +standard /m);

    // The image the leased job reads, put in the bucket through the local S3 endpoint the runtime printed.
    const s3Endpoint = /S3 +(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(s3Endpoint, output).toBeDefined();
    const bucket = /aws --endpoint-url \S+ s3 ls s3:\/\/(\S+)/.exec(output)?.[1];
    expect(bucket, output).toBeDefined();
    const s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cat.png', Body: Buffer.alloc(1234, 7), ContentType: 'image/png' }));
    s3.destroy();

    const submit = async (type: string, payload: unknown) => {
      const response = await fetch(`${api}/jobs/${type}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      expect(response.status, await response.clone().text()).toBe(202);
      return ((await response.json()) as { jobId: string }).jobId;
    };
    const finished = async (jobId: string) => {
      let job: { status?: string; result?: unknown; error?: unknown } = {};
      await expect
        .poll(
          async () => {
            job = (await (await fetch(`${api}/jobs/${jobId}`)).json()) as typeof job;
            return job.status;
          },
          { timeout: 60_000, interval: 250 },
        )
        .toMatch(/^(SUCCEEDED|FAILED)$/);
      return job;
    };

    const [thumbnailJob, tallyJob] = [await submit('thumbnail', { key: 'cat.png' }), await submit('tally', { counter: 'visits', by: 3 })];
    expect(await finished(thumbnailJob)).toMatchObject({ status: 'SUCCEEDED', result: { key: 'cat.png', bytes: 1234 } });
    expect(await finished(tallyJob)).toMatchObject({ status: 'SUCCEEDED', result: { counter: 'visits', by: 3 } });
    // A bad payload is a 400 with the reason, from the schema in the app's own type module.
    const bad = await fetch(`${api}/jobs/tally`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ counter: 'Visits!', by: 1.5 }) });
    expect(bad.status).toBe(400);

    process.kill(-pgid, 'SIGINT');
    // npx ends by the signal, as in a terminal; jobline ends cleanly behind it, and nothing it started is left.
    expect(['SIGINT', 'code 0', 'code 130']).toContain(await exited);
    await expect.poll(() => processesInGroup(pgid!), { timeout: 10_000, interval: 200 }).toEqual([]);
    expect(output).toContain('jobline: stopped.');
  }, 240_000);
});
