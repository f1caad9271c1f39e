// What `npm start` checks before it starts anything (local/preflight.ts), each check given its inputs (a
// `java -version` result, a port probe), and what it says once the stack is synthesized: each job type's
// effective settings, the local endpoints; and when it reuses cdk.out (local/synth.ts).
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkJava,
  checkNode,
  checkPorts,
  formatProblem,
  JAVA_FIX,
  jobTypeSettings,
  parseJavaMajor,
  parseStartArgs,
  preflight,
  probePort,
  renderEndpoints,
  renderJobTypeSettings,
  runtimeWarning,
  usage,
  wantedPorts,
  type PortProbe,
  type SpawnResult,
  type StartOptions,
} from '../../local/preflight';
import { assemblyStatus, canonicalJson, ensureAssembly, isAssemblyNewerThanSources, markAssembly, SYNTH_MARKER } from '../../local/synth';
import type { CfnTemplate } from '../../local/template/cloud-assembly';
import { stackModel } from '../../local/template/stack-model';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseStartArgs(argv, env);
const optionsOf = (argv: string[], env: NodeJS.ProcessEnv = {}): StartOptions => {
  const parsed = run(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected options, got ${JSON.stringify(parsed)}`);
  return parsed.options;
};

describe('npm start options', () => {
  it('defaults: API 3000, DynamoDB Local 8000, SQS 9324, embedded emulators', () => {
    expect(optionsOf([])).toEqual({ port: 3000, dynamodbPort: 8000, sqsPort: 9324, synth: false });
  });

  it('takes every option, in both --x N and --x=N forms', () => {
    expect(optionsOf(['--port', '4000', '--dynamodb-port=8100', '--sqs-port', '0', '--synth', '--stack', 'S', '--endpoint', 'http://localhost:4566'])).toEqual({
      port: 4000,
      dynamodbPort: 8100,
      sqsPort: 0,
      synth: true,
      stack: 'S',
      endpoint: 'http://localhost:4566',
    });
  });

  it('PORT and AWS_ENDPOINT_URL from the environment; an option wins; an empty variable is unset', () => {
    expect(optionsOf([], { PORT: '5000', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })).toMatchObject({ port: 5000, endpoint: 'http://127.0.0.1:4566' });
    expect(optionsOf(['--port', '5001'], { PORT: '5000' }).port).toBe(5001);
    expect(optionsOf([], { PORT: '', AWS_ENDPOINT_URL: '' })).toEqual({ port: 3000, dynamodbPort: 8000, sqsPort: 9324, synth: false });
  });

  it('--dashboard-port N and --no-dashboard; only a dashboard port given is checked before the start (the default moves when taken)', () => {
    expect(optionsOf(['--dashboard-port', '4001'])).toMatchObject({ dashboardPort: 4001 });
    expect(optionsOf(['--no-dashboard'])).toMatchObject({ dashboard: false });
    expect(run(['--dashboard-port', 'x'])).toEqual({ kind: 'error', message: '--dashboard-port must be a port number (0-65535), not "x"' });
    expect(wantedPorts(optionsOf([])).map((w) => w.flag)).toEqual(['--port', '--dynamodb-port', '--sqs-port']);
    expect(wantedPorts(optionsOf(['--dashboard-port', '4001']))).toContainEqual({ port: 4001, what: 'the dashboard', flag: '--dashboard-port', host: '127.0.0.1' });
    expect(wantedPorts(optionsOf(['--dashboard-port', '4001', '--no-dashboard'])).map((w) => w.flag)).not.toContain('--dashboard-port');
    expect(usage()).toContain('--dashboard-port N');
  });

  it('--help and -h', () => {
    expect(run(['--help'])).toEqual({ kind: 'help' });
    expect(run(['-h'])).toEqual({ kind: 'help' });
    expect(run(['--port', '1', '--help'])).toEqual({ kind: 'help' });
  });

  it('usage names every option', () => {
    const text = usage();
    for (const option of ['--port N', '--dynamodb-port N', '--sqs-port N', '--endpoint URL', '--synth', '--stack NAME', '-h, --help', 'PORT', 'AWS_ENDPOINT_URL', 'JAVA_HOME'])
      expect(text).toContain(option);
    expect(text.split('\n')[0]).toBe('usage: npm start -- [options]');
  });

  it.each([
    [['--x'], 'unknown option --x'],
    [['--prot', '3000'], 'unknown option --prot'],
    [['-p'], 'unknown option -p'],
    [['extra'], 'unexpected argument extra'],
    [['--port'], 'option --port needs a value'],
    [['--port', '--synth'], 'option --port needs a value'],
    [['--synth=yes'], 'option --synth takes no value'],
    [['--port', 'abc'], '--port must be a port number (0-65535), not "abc"'],
    [['--sqs-port', '70000'], '--sqs-port must be a port number (0-65535), not "70000"'],
    [['--dynamodb-port', '-1'], 'option --dynamodb-port needs a value'],
    [['--endpoint', 'localhost:4566'], '--endpoint must be an http(s) URL, not "localhost:4566"'],
  ])('%j is an error: %s', (argv, message) => {
    expect(run(argv)).toEqual({ kind: 'error', message });
  });

  it('an invalid PORT is an error that names PORT', () => {
    expect(run([], { PORT: '30a' })).toEqual({ kind: 'error', message: 'PORT must be a port number (0-65535), not "30a"' });
  });
});

describe('Node', () => {
  it('older than 20 is an error with its fix', () => {
    expect(checkNode('18.19.0')).toEqual({
      cause: 'Node 18.19.0 is too old: jobline needs Node 20 or newer',
      fix: 'install Node 20+ (e.g. nvm install 20) and run npm start with it',
    });
    expect(checkNode('v20.0.0')).toBeUndefined();
    expect(checkNode('24.1.0')).toBeUndefined();
  });

  it('warns once when the functions run on another Node major in AWS', () => {
    expect(runtimeWarning(['nodejs24.x', 'nodejs24.x'], '20.20.2')).toBe("warning: functions run on this machine's Node 20; in AWS they run on nodejs24.x");
    expect(runtimeWarning(['nodejs20.x'], '20.20.2')).toBeUndefined();
    expect(runtimeWarning(['python3.12', 'provided.al2023'], '20.1.0')).toBeUndefined();
    expect(runtimeWarning(['nodejs22.x', 'nodejs24.x', 'nodejs20.x'], '20.1.0')).toBe(
      "warning: functions run on this machine's Node 20; in AWS they run on nodejs22.x, nodejs24.x",
    );
  });
});

describe('Java', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8],
    ['Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "11.0.22" 2024-01-16', 11],
    ['openjdk version "25-ea" 2025-09-16', 25],
    ['Error: could not find libjava.so', undefined],
  ])('parses the major version of %j', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });

  const answering = (result: SpawnResult) => {
    const calls: string[] = [];
    return { calls, run: (command: string, args: string[]) => (calls.push(`${command} ${args.join(' ')}`), result) };
  };

  it('Java 17 or newer passes', () => {
    const java = answering({ status: 0, stderr: 'openjdk version "17.0.15" 2025-04-15\n' });
    expect(checkJava({ env: {}, run: java.run })).toBeUndefined();
    expect(java.calls).toEqual(['java -version']);
  });

  it('no java on PATH: cause and the one-line fix', () => {
    const problem = checkJava({ env: {}, run: () => ({ status: null, error: { code: 'ENOENT', message: 'spawnSync java ENOENT' } }) });
    expect(problem).toEqual({ cause: 'DynamoDB Local needs Java 17+, but there is no java on PATH', fix: JAVA_FIX });
    expect(formatProblem(problem!)).toBe(
      'jobline: DynamoDB Local needs Java 17+, but there is no java on PATH\n  fix: install Java 17+, e.g. apt-get install -y openjdk-17-jre-headless (or point JAVA_HOME at one)',
    );
  });

  it('an older Java says which it found', () => {
    expect(checkJava({ env: {}, run: () => ({ status: 0, stderr: 'java version "1.8.0_392"\n' }) })).toEqual({
      cause: 'DynamoDB Local needs Java 17+, but java on PATH is Java 8',
      fix: JAVA_FIX,
    });
    expect(checkJava({ env: {}, run: () => ({ status: 0, stderr: 'openjdk version "11.0.22"\n' }) })?.cause).toBe('DynamoDB Local needs Java 17+, but java on PATH is Java 11');
  });

  it('a java that fails says so, with its first line of output', () => {
    expect(checkJava({ env: {}, run: () => ({ status: 1, stderr: '\nError occurred during initialization of VM\nmore\n' }) })?.cause).toBe(
      'DynamoDB Local needs Java 17+, but `java -version` failed (exit 1): Error occurred during initialization of VM',
    );
  });

  it('JAVA_HOME is honoured: its bin/java is the one checked, and one that does not exist is the problem', () => {
    const java = answering({ status: 0, stderr: 'openjdk version "21.0.2"\n' });
    expect(checkJava({ env: { JAVA_HOME: '/opt/jdk21' }, run: java.run, exists: () => true })).toBeUndefined();
    expect(java.calls).toEqual([`${path.join('/opt/jdk21', 'bin', 'java')} -version`]);

    expect(checkJava({ env: { JAVA_HOME: '/opt/jdk11' }, run: () => ({ status: 0, stderr: 'openjdk version "11.0.2"\n' }), exists: () => true })?.cause).toBe(
      `DynamoDB Local needs Java 17+, but ${path.join('/opt/jdk11', 'bin', 'java')} is Java 11`,
    );
    const missing = answering({ status: 0, stderr: '' });
    expect(checkJava({ env: { JAVA_HOME: '/nowhere' }, run: missing.run, exists: () => false })).toEqual({
      cause: `DynamoDB Local needs Java 17+, but JAVA_HOME is /nowhere and ${path.join('/nowhere', 'bin', 'java')} does not exist`,
      fix: JAVA_FIX,
    });
    expect(missing.calls).toEqual([]);
  });
});

/** A machine on which the given ports are in use. */
const busy =
  (...ports: number[]): PortProbe =>
  async (port) =>
    ports.includes(port) ? { free: false, code: 'EADDRINUSE' } : { free: true };

describe('ports', () => {
  it('a busy API port: says which, and suggests the next free one, as an option and as PORT', async () => {
    const [problem, ...rest] = await checkPorts([{ port: 3000, what: 'the HTTP API', flag: '--port', host: '127.0.0.1', envVar: 'PORT' }], busy(3000, 3001));
    expect(rest).toEqual([]);
    expect(problem).toEqual({ cause: 'port 3000 (the HTTP API) is already in use', fix: 'npm start -- --port 3002 (or PORT=3002 npm start)' });
  });

  it('busy emulator ports suggest their own options, never a port another one wants', async () => {
    const problems = await preflight(optionsOf([]), { probe: busy(8000, 9324), run: () => ({ status: 0, stderr: 'openjdk version "17.0.1"' }), env: {}, nodeVersion: '20.1.0' });
    expect(problems).toEqual([
      { cause: 'port 8000 (DynamoDB Local) is already in use', fix: 'npm start -- --dynamodb-port 8001' },
      { cause: 'port 9324 (the SQS emulator) is already in use', fix: 'npm start -- --sqs-port 9325' },
    ]);
    const crowded = await preflight(optionsOf(['--port', '8001']), {
      probe: busy(8000),
      run: () => ({ status: 0, stderr: 'openjdk version "17.0.1"' }),
      env: {},
      nodeVersion: '20.1.0',
    });
    expect(crowded).toEqual([{ cause: 'port 8000 (DynamoDB Local) is already in use', fix: 'npm start -- --dynamodb-port 8002' }]);
  });

  it('the same port for two servers is a problem; port 0 (any free port) never is', async () => {
    const problems = await preflight(optionsOf(['--port', '9324', '--dynamodb-port', '0']), {
      probe: busy(),
      run: () => ({ status: 0, stderr: 'openjdk version "17"' }),
      env: {},
      nodeVersion: '20.1.0',
    });
    expect(problems).toEqual([{ cause: 'port 9324 is given both to the HTTP API and to the SQS emulator', fix: 'npm start -- --sqs-port 9325' }]);
  });

  it('a port that cannot be listened on for another reason says the reason', async () => {
    const problems = await checkPorts([{ port: 80, what: 'the HTTP API', flag: '--port', envVar: 'PORT' }], async (port) =>
      port === 80 ? { free: false, code: 'EACCES' } : { free: true },
    );
    expect(problems).toEqual([{ cause: 'port 80 (the HTTP API) cannot be listened on: EACCES', fix: 'npm start -- --port 81 (or PORT=81 npm start)' }]);
  });

  it('with an external endpoint: no Java check and no emulator ports', async () => {
    let javaRuns = 0;
    const problems = await preflight(optionsOf(['--endpoint', 'http://localhost:4566']), {
      probe: busy(8000, 9324),
      run: () => (javaRuns++, { status: null, error: { code: 'ENOENT', message: '' } }),
      env: {},
      nodeVersion: '20.1.0',
    });
    expect(problems).toEqual([]);
    expect(javaRuns).toBe(0);
  });

  it('every problem is found at once: Node, Java and ports', async () => {
    const problems = await preflight(optionsOf([]), { probe: busy(3000), run: () => ({ status: null, error: { code: 'ENOENT', message: '' } }), env: {}, nodeVersion: '18.0.0' });
    expect(problems.map((p) => p.cause)).toEqual([
      'Node 18.0.0 is too old: jobline needs Node 20 or newer',
      'DynamoDB Local needs Java 17+, but there is no java on PATH',
      'port 3000 (the HTTP API) is already in use',
    ]);
  });

  describe('on this machine', () => {
    const servers: Server[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    });
    const listen = (host?: string) =>
      new Promise<number>((resolve, reject) => {
        const server = createServer();
        servers.push(server);
        server.once('error', reject);
        server.listen(0, host, () => resolve((server.address() as { port: number }).port));
      });

    it('a port in use, on loopback or on every address, is busy wherever it is probed', async () => {
      const loopback = await listen('127.0.0.1');
      expect(await probePort(loopback, '127.0.0.1')).toEqual({ free: false, code: 'EADDRINUSE' });
      expect(await probePort(loopback)).toEqual({ free: false, code: 'EADDRINUSE' });
      const everywhere = await listen();
      expect(await probePort(everywhere, '127.0.0.1')).toEqual({ free: false, code: 'EADDRINUSE' });
      const [problem] = await checkPorts([{ port: loopback, what: 'the HTTP API', flag: '--port', host: '127.0.0.1', envVar: 'PORT' }]);
      expect(problem?.cause).toBe(`port ${loopback} (the HTTP API) is already in use`);
      const suggested = Number(/--port (\d+)/.exec(problem!.fix)?.[1]);
      expect(suggested).not.toBe(loopback);
      if (suggested !== 0) expect((await probePort(suggested, '127.0.0.1')).free).toBe(true);
    });
  });
});

// A template with what the settings are read from: a FIFO and a standard job type, one without a DLQ.
const template: CfnTemplate = {
  Resources: {
    Dlq: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    FifoQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: { FifoQueue: true, VisibilityTimeout: 180, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 8 } },
    },
    PlainQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    TransferWorker: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Runtime: 'nodejs24.x',
        Timeout: 30,
        Environment: {
          Variables: { JOBLINE_JOB_TYPE: 'transfer', JOBLINE_BACKOFF_BASE_SECONDS: '5', JOBLINE_BACKOFF_MAX_SECONDS: '300', JOBLINE_QUEUE_URL: { Ref: 'FifoQueue' } },
        },
      },
    },
    WebhookWorker: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs24.x', Timeout: 20, Environment: { Variables: { JOBLINE_JOB_TYPE: 'webhook' } } } },
    TransferSource: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { EventSourceArn: { 'Fn::GetAtt': ['FifoQueue', 'Arn'] }, FunctionName: { Ref: 'TransferWorker' }, BatchSize: 10, ScalingConfig: { MaximumConcurrency: 10 } },
    },
    WebhookSource: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['PlainQueue', 'Arn'] },
        FunctionName: { Ref: 'WebhookWorker' },
        BatchSize: 5,
        MaximumBatchingWindowInSeconds: 2,
        ScalingConfig: { MaximumConcurrency: 3 },
        Enabled: false,
      },
    },
  },
};

describe('job type settings, as synthesized', () => {
  const settings = jobTypeSettings(stackModel({ stackName: 'S', assemblyDir: '/nowhere', template }));

  it('are read from the event source, the queue and the worker function', () => {
    expect(settings).toEqual([
      {
        type: 'transfer',
        fifo: true,
        batchSize: 10,
        batchingWindowSeconds: 0,
        maxConcurrency: 10,
        workerTimeoutSeconds: 30,
        visibilityTimeoutSeconds: 180,
        maxReceiveCount: 8,
        backoffBaseSeconds: '5',
        backoffMaxSeconds: '300',
        enabled: true,
      },
      // SQS's default visibility timeout (30 s) when the template sets none.
      { type: 'webhook', fifo: false, batchSize: 5, batchingWindowSeconds: 2, maxConcurrency: 3, workerTimeoutSeconds: 20, visibilityTimeoutSeconds: 30, enabled: false },
    ]);
  });

  it('one line each', () => {
    expect(renderJobTypeSettings(settings)).toEqual([
      '  transfer  FIFO      batch size 10, batching window 0 s, max concurrency 10, worker timeout 30 s, visibility timeout 180 s, maxReceiveCount 8, backoff base 5 s max 300 s',
      '  webhook   standard  batch size 5, batching window 2 s, max concurrency 3, worker timeout 20 s, visibility timeout 30 s, maxReceiveCount - (no DLQ) (event source DISABLED)',
    ]);
  });

  it('a queue consumer that is no job type (e.g. the callback worker) is marked as one, named by its function, and comes last', () => {
    const withConsumer = structuredClone(template);
    withConsumer.Resources.AaaCallbackWorker = { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'CallbackWorker', Timeout: 10 } };
    withConsumer.Resources.AaaCallbackSource = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { EventSourceArn: { 'Fn::GetAtt': ['PlainQueue', 'Arn'] }, FunctionName: { Ref: 'AaaCallbackWorker' }, BatchSize: 10 },
    };
    const all = jobTypeSettings(stackModel({ stackName: 'S', assemblyDir: '/nowhere', template: withConsumer }));
    expect(all.map((s) => [s.type, s.consumer ?? false])).toEqual([
      ['transfer', false],
      ['webhook', false],
      [all[2]!.type, true],
    ]);
    expect(all[2]!.type).toMatch(/CallbackWorker/);
    expect(renderJobTypeSettings([all[2]!])[0]).not.toContain('backoff');
  });
});

describe('local endpoints', () => {
  it('prints the endpoints, the credentials that reach them and an AWS CLI command for the table and each DLQ', () => {
    const lines = renderEndpoints({
      endpoints: { dynamodb: 'http://127.0.0.1:8000', sqs: 'http://127.0.0.1:9324' },
      embedded: { dynamodb: true, sqs: true },
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      tables: ['JobsTable'],
      deadLetterQueueUrls: ['http://127.0.0.1:9324/000000000000/Dlq.fifo'],
    });
    expect(lines).toEqual([
      '  DynamoDB  http://127.0.0.1:8000  (DynamoDB Local, embedded)',
      '  SQS       http://127.0.0.1:9324  (SQS emulator, embedded)',
      '  credentials: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1',
      '  e.g. export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1',
      '       aws --endpoint-url http://127.0.0.1:8000 dynamodb scan --table-name JobsTable',
      '       aws --endpoint-url http://127.0.0.1:9324 sqs receive-message --queue-url http://127.0.0.1:9324/000000000000/Dlq.fifo',
    ]);
  });
});

describe('reusing cdk.out', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const assembly = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jobline-marker-'));
    dirs.push(dir);
    writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ version: '55.0.0', artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } } }),
    );
    writeFileSync(path.join(dir, 'S.template.json'), JSON.stringify(template));
    return dir;
  };

  it("no assembly, or one without jobline's marker (cdk synth made it), is synthesized", () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'jobline-marker-'));
    dirs.push(empty);
    expect(assemblyStatus(empty)).toEqual({ fresh: false, reason: `there is no cloud assembly in ${empty} yet` });
    const dir = assembly();
    expect(assemblyStatus(dir)).toEqual({ fresh: false, reason: `${dir} was made by cdk synth (not by npm start), maybe with other settings` });
  });

  it('an assembly jobline made is reused with the same sources and settings, and only then', () => {
    const dir = assembly();
    expect(markAssembly(dir, undefined, undefined, {})).toBe(true);
    expect(assemblyStatus(dir, {}, {})).toEqual({ fresh: true, reason: 'same sources and settings' });
    expect(assemblyStatus(dir, undefined, {})).toEqual({ fresh: true, reason: 'same sources and settings' });

    expect(assemblyStatus(dir, { queueOverrides: { webhook: { batchSize: 5 } } }, {})).toEqual({
      fresh: false,
      reason: `${dir} was made with other settings (defaults; now queueOverrides={"webhook":{"batchSize":5}})`,
    });
    expect(assemblyStatus(dir, undefined, { CDK_CONTEXT_JSON: '{"queueOverrides":"{}"}' }).reason).toBe(
      `${dir} was made with other settings (defaults; now CDK_CONTEXT_JSON={"queueOverrides":"{}"})`,
    );
  });

  it("a caller's own assembly directory, given without settings, is taken as it is when newer than the sources", async () => {
    const dir = assembly();
    const future = new Date(Date.now() + 365 * 86_400_000);
    utimesSync(path.join(dir, 'manifest.json'), future, future);
    expect(isAssemblyNewerThanSources(dir)).toBe(true);
    expect(await ensureAssembly({ assemblyDir: dir })).toEqual({ assemblyDir: dir, synthesized: false, reason: 'newer than the sources' });
    // Asked for settings, it must be one that jobline made with them.
    expect(assemblyStatus(dir, {}, {}).fresh).toBe(false);
  });

  it("a caller's own assembly that jobline made keeps its settings: it is never taken for one with the defaults", async () => {
    const dir = assembly();
    markAssembly(dir, { queueOverrides: { webhook: { batchSize: 2 } } }, undefined, process.env);
    // Not newer than the sources (others may be editing them): checked as one made with its own settings.
    const past = new Date(0);
    utimesSync(path.join(dir, 'manifest.json'), past, past);
    expect(isAssemblyNewerThanSources(dir)).toBe(false);
    expect(await ensureAssembly({ assemblyDir: dir })).toEqual({ assemblyDir: dir, synthesized: false, reason: 'same sources and settings' });
  });

  it('settings compare by value, whatever the order of their keys', () => {
    const dir = assembly();
    markAssembly(dir, { queueOverrides: { webhook: { batchSize: 5, maxReceiveCount: 2 } }, logLevel: 'debug' }, undefined, {});
    expect(assemblyStatus(dir, { logLevel: 'debug', queueOverrides: { webhook: { maxReceiveCount: 2, batchSize: 5 } } }, {}).fresh).toBe(true);
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 'x' }] })).toBe('{"a":[1,{"c":"x"}],"b":1}');
    expect(canonicalJson({ f: () => 1 })).toBeUndefined();
    expect(canonicalJson({ d: new Date(0) })).toBeUndefined();
  });

  it('a template rewritten after (cdk synth -c ... into the same directory) is synthesized again', () => {
    const dir = assembly();
    markAssembly(dir, undefined, undefined, {});
    writeFileSync(path.join(dir, 'S.template.json'), JSON.stringify({ ...template, Description: 'other' }));
    expect(assemblyStatus(dir, undefined, {})).toEqual({ fresh: false, reason: `${dir} was made by cdk synth with other settings (rewritten after npm start synthesized it)` });
  });

  it('sources changed since: synthesized again', () => {
    const dir = assembly();
    markAssembly(dir, undefined, 1, {});
    expect(assemblyStatus(dir, undefined, {}).reason).toMatch(new RegExp(`^the sources changed since ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was made \\(.+\\)$`));
  });

  it('the marker is a file of the assembly', () => {
    const dir = assembly();
    markAssembly(dir, undefined, undefined, {});
    rmSync(path.join(dir, SYNTH_MARKER));
    expect(assemblyStatus(dir, undefined, {}).fresh).toBe(false);
  });
});
