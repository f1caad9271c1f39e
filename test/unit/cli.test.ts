// The operator's CLI without a running stack: every command's help, --json on every read command, the exit
// codes of usage errors and of a missing or dead local runtime, and --stack resolved from a DescribeStacks
// answer served on loopback in CloudFormation's query protocol (with the API then called SigV4-signed).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main';
import { CliError, EXIT } from '../../cli/exit';
import { resolveTarget } from '../../cli/target';
import { jobline } from '../support/jobline-cli';
import { displacedRuntime, findRuntimeFile, removeRuntimeFile, writeRuntimeFile, type RuntimeInfo } from '../../local/runtime-file';

const leaves = (command: Command): Command[] => (command.commands.length === 0 ? [command] : command.commands.flatMap(leaves));
const pathOf = (command: Command): string => (command.parent ? `${pathOf(command.parent)} ${command.name()}`.trim() : '');
const program = buildProgram();
const operatorCommands = leaves(program).filter((c) => !['dev', 'new'].includes(c.name()));

describe('help', () => {
  it('jobline --help lists every command, the targets and the exit codes', () => {
    const help = program.helpInformation() + '';
    for (const name of ['dev', 'new', 'jobs', 'submit', 'stats', 'dlq', 'dashboard']) expect(help).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    // The exit codes and targets are text added after the generated help: check the bin prints them.
  });

  it.each(operatorCommands.map((c) => [pathOf(c), c] as const))('jobline %s --help: a description, every argument and option described', (_name, command) => {
    expect(command.description().length).toBeGreaterThan(20);
    for (const argument of command.registeredArguments) expect(argument.description, argument.name()).not.toBe('');
    for (const option of command.options) expect(option.description, option.flags).not.toBe('');
    const help = command.helpInformation();
    expect(help).toContain(`Usage: jobline ${pathOf(command)}`);
    // The global target options show in every command's help.
    expect(help).toContain('--stack <name>');
  });

  it.each(['jobs list', 'jobs show', 'jobs watch', 'jobs cancel', 'jobs retry', 'submit', 'stats', 'dlq list', 'dlq peek', 'dlq redrive', 'dlq purge'])(
    'jobline %s has --json',
    (name) => {
      const command = operatorCommands.find((c) => pathOf(c) === name)!;
      expect(command.options.map((o) => o.long)).toContain('--json');
    },
  );

  it('prints the help with the exit codes, exit 0; usage errors exit 2', async () => {
    const [top, group, dev, unknown, missing, badChoice, noSubcommand] = await Promise.all([
      jobline(['--help']),
      jobline(['dlq', '--help']),
      jobline(['dev', '--help']),
      jobline(['frobnicate']),
      jobline(['jobs', 'show']),
      jobline(['jobs', 'list', '--state', 'LOST']),
      jobline(['jobs']),
    ]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Exit codes:');
    expect(top.stdout).toMatch(/^ {2}3 {2}the target is unreachable/m);
    expect(top.stdout).toContain('--stack NAME a deployed stack');
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^ {2}redrive \[options\] <type>/m);
    // jobline dev keeps its own help.
    expect(dev.code).toBe(0);
    expect(dev.stdout).toMatch(/--persist/);
    expect([unknown.code, missing.code, badChoice.code, noSubcommand.code]).toEqual([EXIT.usage, EXIT.usage, EXIT.usage, EXIT.usage]);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    // A watch that would poll without a pause is refused before it reaches any API.
    const busyWatch = await jobline(['jobs', 'watch', 'some-job', '--interval', '0']);
    expect(busyWatch.code).toBe(EXIT.usage);
    expect(busyWatch.stderr).toContain('--interval must be a number of seconds, 0.2 or more');
    expect(missing.stderr).toContain("missing required argument 'jobId'");
  });

  it('jobline help [command] is help as asked for: exit 0; help of an unknown command exits 2', async () => {
    const [help, helpJobs, helpNothing] = await Promise.all([jobline(['help']), jobline(['help', 'jobs']), jobline(['help', 'frobnicate'])]);
    expect([help.code, helpJobs.code, helpNothing.code]).toEqual([EXIT.ok, EXIT.ok, EXIT.usage]);
    expect(helpJobs.stdout).toContain('Usage: jobline jobs');
  });

  it.each(['1.5', '-1', '99999999', 'soon'])('submit --delay %s is a usage error (exit 2), before any API is asked', async (delay) => {
    const refused = await jobline(['submit', 'transfer', '{}', '--delay', delay]);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toContain('--delay must be whole seconds from 0 to 31622400');
  });
});

describe('the local target', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jobline-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const info = (pid: number): RuntimeInfo => ({
    version: 1,
    pid,
    startedAt: new Date().toISOString(),
    projectDir: dir,
    stackName: 'Jobline',
    apiUrl: 'http://127.0.0.1:1',
    region: 'us-east-1',
    endpoints: { dynamodb: 'http://127.0.0.1:1', sqs: 'http://127.0.0.1:1' },
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    tables: ['T'],
    jobTypes: [{ type: 'webhook', queueUrl: 'http://127.0.0.1:1/q', dlqUrl: 'http://127.0.0.1:1/dlq', tableName: 'T' }],
  });

  it('finds the runtime file in the directory or a parent, and only while its process runs', () => {
    const nested = path.join(dir, 'a', 'b');
    expect(findRuntimeFile(nested).kind).toBe('missing');
    const file = writeRuntimeFile(dir, info(process.pid));
    expect(findRuntimeFile(nested)).toMatchObject({ kind: 'running', file, info: { apiUrl: 'http://127.0.0.1:1' } });
    // Another run's file is not removed by this one; its own is.
    removeRuntimeFile(dir, process.pid + 1);
    expect(findRuntimeFile(dir).kind).toBe('running');
    removeRuntimeFile(dir);
    expect(findRuntimeFile(dir).kind).toBe('missing');
    writeFileSync(file, '{"version":1}');
    expect(findRuntimeFile(dir).kind).toBe('invalid');
    rmSync(file);
  });

  it("a second jobline dev in the same directory puts the first one's file back when it stops", () => {
    // The first run: a process that runs (this test's parent), with its own API.
    const file = writeRuntimeFile(dir, { ...info(process.ppid), apiUrl: 'http://127.0.0.1:2' });
    expect(displacedRuntime(dir)).toBeUndefined();
    writeRuntimeFile(dir, info(process.pid));
    expect(displacedRuntime(dir)).toMatchObject({ pid: process.ppid });
    expect(findRuntimeFile(dir)).toMatchObject({ kind: 'running', info: { pid: process.pid } });
    // Seen: the second run removed the file, and the CLI found no runtime while the first still answered.
    removeRuntimeFile(dir);
    expect(findRuntimeFile(dir)).toMatchObject({ kind: 'running', file, info: { pid: process.ppid, apiUrl: 'http://127.0.0.1:2' } });
    rmSync(file);
  });

  it('refuses clearly (exit 3) when no jobline dev runs here, or its file names a dead process', async () => {
    const missing = await jobline(['dlq', 'list'], { JOBLINE_RUNTIME_FILE: '' }, dir);
    expect(missing.code).toBe(EXIT.unreachable);
    expect(missing.stderr).toContain('no jobline dev running here');
    expect(missing.stderr).toContain('start it with npm start');

    const dead = path.join(dir, 'dead.json');
    writeFileSync(dead, JSON.stringify(info(2 ** 22 + 12345)));
    const stale = await jobline(['jobs', 'show', 'x'], { JOBLINE_RUNTIME_FILE: dead }, dir);
    expect(stale.code).toBe(EXIT.unreachable);
    expect(stale.stderr).toMatch(/no jobline dev running here \(.*dead\.json names pid \d+, which is not running\)/);

    // A file whose process runs but whose API does not answer: unreachable too.
    const alive = path.join(dir, 'alive.json');
    writeFileSync(alive, JSON.stringify(info(process.pid)));
    const refused = await jobline(['jobs', 'show', 'x'], { JOBLINE_RUNTIME_FILE: alive }, dir);
    expect(refused.code).toBe(EXIT.unreachable);
    expect(refused.stderr).toContain('could not be reached');
  });
});

describe('--stack NAME: the outputs of a deployed stack (CloudFormation on loopback)', () => {
  let cloudFormation: Server;
  let api: Server;
  const seen: { cfn: { body: string; authorization: string }[]; api: IncomingMessage[] } = { cfn: [], api: [] };
  let apiUrl = '';
  const saved = process.env.AWS_ENDPOINT_URL_CLOUDFORMATION;

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  };
  const member = (key: string, value: string, description: string) =>
    `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue><Description>${description}</Description></member>`;

  beforeAll(async () => {
    api = createServer((request, response) => {
      seen.api.push(request);
      response.setHeader('content-type', 'application/json');
      response.statusCode = 404;
      response.end(JSON.stringify({ error: { code: 'unknown_job', message: 'there is no job "j1"' } }));
    });
    apiUrl = await listen(api);
    // A stored DescribeStacks answer: the construct's outputs (described jobline:...) beside the app's own.
    cloudFormation = createServer((request, response) => {
      let body = '';
      request.on('data', (d: Buffer) => (body += d.toString()));
      request.on('end', () => {
        seen.cfn.push({ body, authorization: String(request.headers.authorization) });
        response.setHeader('content-type', 'text/xml');
        if (!body.includes('StackName=Orders')) {
          response.statusCode = 400;
          response.end(
            '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code>' +
              '<Message>Stack with id Nope does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>',
          );
          return;
        }
        const q = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
        response.end(
          '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
            '<StackName>Orders</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/Orders/1</StackId>' +
            '<CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>' +
            member('ApiUrl', 'https://elsewhere.example', 'jobline API base URL') +
            member('JobsJoblineApiUrl1A2B3C4D', `${apiUrl}/`, "jobline:api (jobline's HTTP API)") +
            member('JobsJoblineTableName5E6F', 'Orders-JobsTable-XYZ', 'jobline:table (the job records)') +
            member('JobsJoblineQueueswebhook77', `${q('Orders-webhook')} ${q('Orders-webhook-dlq')}`, 'jobline:queues:webhook (its queue URL and DLQ URL)') +
            member('JobsJoblineQueuestransfer88', `${q('Orders-transfer.fifo')} ${q('Orders-transfer-dlq.fifo')}`, 'jobline:queues:transfer (its queue URL and DLQ URL)') +
            '</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>',
        );
      });
    });
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = await listen(cloudFormation);
  });
  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = saved;
    await Promise.all([cloudFormation, api].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('reads the job types, queues and API from the outputs the construct describes, and signs API requests with SigV4', async () => {
    const target = await resolveTarget({ stack: 'Orders', region: 'eu-west-1' });
    try {
      expect(target).toMatchObject({ kind: 'stack', label: 'stack Orders (eu-west-1)', region: 'eu-west-1', receiveWaitSeconds: 1 });
      expect(target.jobTypes).toEqual([
        {
          type: 'transfer',
          queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Orders-transfer.fifo',
          dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Orders-transfer-dlq.fifo',
        },
        {
          type: 'webhook',
          queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Orders-webhook',
          dlqUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Orders-webhook-dlq',
        },
      ]);
      expect(seen.cfn.at(-1)!.body).toContain('Action=DescribeStacks');
      expect(seen.cfn.at(-1)!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-1\/cloudformation\/aws4_request/);

      // The API is the construct's output (not the app's ApiUrl), called signed for execute-api.
      expect(target.apiClient!.apiUrl).toBe(apiUrl);
      expect(await target.apiClient!.get('j1')).toBeUndefined();
      const request = seen.api.at(-1)!;
      expect(request.url).toBe('/jobs/j1');
      expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host/);
      expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    } finally {
      target.close();
    }
  });

  it('a stack that does not exist is not found (exit 4); --profile and --region without --stack are usage errors', async () => {
    const error = await resolveTarget({ stack: 'Nope', region: 'eu-west-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ exitCode: EXIT.notFound, message: 'there is no stack Nope in eu-west-1' });
    await expect(resolveTarget({ region: 'eu-west-1' })).rejects.toMatchObject({ exitCode: EXIT.usage });
  });
});
