/**
 * What `npm start` checks and says before it runs anything: its options (`--help`, an unknown option),
 * Node's version, the Java that DynamoDB Local needs, the ports it will listen on; then each job type's
 * effective settings as synthesized, and how to reach the local endpoints with an AWS SDK or the AWS CLI.
 * A problem is one line of cause and one line of fix. The checks take their inputs (a spawn result, a port
 * probe) as arguments, so that tests can give them any machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PERSIST_DIR } from './persist';
import type { StackModel } from './template/stack-model';

export interface Problem {
  cause: string;
  fix: string;
}

/** One line of cause, one line of fix. */
export function formatProblem(problem: Problem): string {
  return `jobline: ${problem.cause}\n  fix: ${problem.fix}`;
}

// ---- options --------------------------------------------------------------------------------------------

export const DEFAULT_PORTS = { api: 3000, dynamodb: 8000, sqs: 9324 } as const;
/** The first debugger port of `--inspect` (Node's own default). */
export const DEFAULT_INSPECT_PORT = 9229;

export interface StartOptions {
  /** HTTP API port; 0: any free port. */
  port: number;
  dynamodbPort: number;
  sqsPort: number;
  /** An AWS-compatible endpoint for SQS and DynamoDB instead of the embedded emulators. */
  endpoint?: string;
  synth: boolean;
  stack?: string;
  /** --persist: keep the emulators' state in this directory (relative to the project); absent: in memory. */
  persist?: string;
  /** --env-file: the functions' extra variables (dotenv); absent: .env when it exists. */
  envFile?: string;
  /** --inspect: each function's environment with a debugger on 127.0.0.1, port after port from `port` (local/inspect.ts). */
  inspect?: { host: string; port: number };
  /** --no-watch: false, no reload on changes; absent: watch mode, the default (local/watch.ts). */
  watch?: false;
  /** --dashboard-port: the web dashboard's port, as given (absent: 3001, or any free port when that is taken). */
  dashboardPort?: number;
  /** --no-dashboard: false, no web dashboard. */
  dashboard?: false;
}

export type ParsedStartArgs = { kind: 'help' } | { kind: 'error'; message: string } | { kind: 'run'; options: StartOptions };

const OPTIONS = {
  port: { type: 'string', value: 'N', help: `HTTP API port (default: PORT or ${DEFAULT_PORTS.api}; 0: any free port)` },
  'dynamodb-port': { type: 'string', value: 'N', help: `port of the embedded DynamoDB Local (default ${DEFAULT_PORTS.dynamodb}; 0: any free port)` },
  'sqs-port': { type: 'string', value: 'N', help: `port of the embedded SQS emulator (default ${DEFAULT_PORTS.sqs}; 0: any free port)` },
  endpoint: {
    type: 'string',
    value: 'URL',
    help: 'use an AWS-compatible endpoint for SQS and DynamoDB (e.g. LocalStack, http://localhost:4566)\ninstead of the embedded emulators (then no Java is needed); AWS_ENDPOINT_URL does the same',
  },
  synth: { type: 'boolean', help: 'synthesize cdk.out again even when it was made from the same sources and settings' },
  stack: { type: 'string', value: 'NAME', help: 'the stack to run when cdk.out holds several' },
  persist: {
    type: 'string',
    value: '[DIR]',
    optionalValue: true,
    help: `keep jobs, tables and queued messages across restarts, in DIR (default ${DEFAULT_PERSIST_DIR});\nwithout it they live in memory: a restart starts empty`,
  },
  'env-file': {
    type: 'string',
    value: 'FILE',
    help: "environment variables for every function, in dotenv syntax, on top of the template's\n(default: .env when it exists; values are never printed)",
  },
  inspect: {
    type: 'string',
    value: '[PORT]',
    optionalValue: true,
    help: `start each function's environment with a debugger on 127.0.0.1, one port per function from PORT\n(default ${DEFAULT_INSPECT_PORT}) on, one environment per function; attach with chrome://inspect`,
  },
  'dashboard-port': { type: 'string', value: 'N', help: 'port of the web dashboard (default 3001, or a free one when 3001 is taken; 0: any free port)' },
  'no-dashboard': { type: 'boolean', help: 'serve no web dashboard' },
  watch: { type: 'boolean', help: 'on a change to the app, rebuild and reload what changed, keeping queued jobs and tables (the default)' },
  'no-watch': { type: 'boolean', help: 'run the app as it was at the start: no reload on changes' },
  help: { type: 'boolean', short: 'h', help: 'print this help and exit' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; value?: string; short?: string; optionalValue?: true; help: string }>;

export function usage(command = 'npm start --'): string {
  const rows = Object.entries(OPTIONS).map(([name, o]) => {
    const short = 'short' in o ? `-${o.short}, ` : '';
    return [`  ${short}--${name}${'value' in o ? ` ${o.value}` : ''}`, o.help] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `usage: ${command} [options]`,
    '',
    'Runs the synthesized stack (cdk.out, synthesized first when needed) on this machine, without Docker: the HTTP API,',
    'a worker per job type polling its queue, the scheduled functions, on embedded DynamoDB Local (Java 17+) and SQS.',
    '',
    'options:',
    ...rows.map(([flag, help]) => `${flag.padEnd(width)}${help.split('\n').join(`\n${' '.repeat(width)}`)}`),
    '',
    'environment:',
    `  PORT                the HTTP API port when --port is not given`,
    `  AWS_ENDPOINT_URL    as --endpoint`,
    `  JAVA_HOME           the Java 17+ that runs DynamoDB Local (default: java on PATH)`,
    '',
    'Function logs go to .jobline/logs/<function>.log. Ctrl-C stops everything.',
  ].join('\n');
}

function parsePort(text: string, what: string): number | string {
  const port = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  return Number.isInteger(port) && port >= 0 && port <= 65_535 ? port : `${what} must be a port number (0-65535), not ${JSON.stringify(text)}`;
}

/** The options of `npm start`; `env` gives PORT and AWS_ENDPOINT_URL. Never throws. */
export function parseStartArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedStartArgs {
  const parseOptions = Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type, ...('short' in o ? { short: o.short } : {}) }])) as Record<
    string,
    { type: 'string' | 'boolean'; short?: string }
  >;
  // An option with an optional value (--persist [DIR]) given without one, last or before another option, is `--persist=`.
  const args = argv.map((arg, i) => {
    const known = arg.startsWith('--') ? OPTIONS[arg.slice(2) as keyof typeof OPTIONS] : undefined;
    return known && 'optionalValue' in known && (i + 1 === argv.length || argv[i + 1]!.startsWith('-')) ? `${arg}=` : arg;
  });
  const { values, tokens } = parseArgs({ args, options: parseOptions, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') return { kind: 'error', message: `unexpected argument ${token.value}` };
    if (token.kind !== 'option') continue;
    const known = OPTIONS[token.name as keyof typeof OPTIONS];
    if (!known || (token.rawName.startsWith('--') && token.rawName !== `--${token.name}`)) return { kind: 'error', message: `unknown option ${token.rawName}` };
    // `--port --synth` is a missing value, not the port "--synth".
    if (known.type === 'string' && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))))
      return { kind: 'error', message: `option --${token.name} needs a value` };
    if (known.type === 'boolean' && token.inlineValue) return { kind: 'error', message: `option --${token.name} takes no value` };
  }
  if (values.help) return { kind: 'help' };

  const ports: Record<'port' | 'dynamodbPort' | 'sqsPort', number> = { port: DEFAULT_PORTS.api, dynamodbPort: DEFAULT_PORTS.dynamodb, sqsPort: DEFAULT_PORTS.sqs };
  const given: [keyof typeof ports, string | undefined, string][] = [
    ['port', typeof values.port === 'string' ? values.port : env.PORT || undefined, typeof values.port === 'string' ? '--port' : 'PORT'],
    ['dynamodbPort', values['dynamodb-port'] as string | undefined, '--dynamodb-port'],
    ['sqsPort', values['sqs-port'] as string | undefined, '--sqs-port'],
  ];
  for (const [key, text, what] of given) {
    if (text === undefined) continue;
    const port = parsePort(text, what);
    if (typeof port === 'string') return { kind: 'error', message: port };
    ports[key] = port;
  }
  const dashboardPort = typeof values['dashboard-port'] === 'string' ? parsePort(values['dashboard-port'], '--dashboard-port') : undefined;
  if (typeof dashboardPort === 'string') return { kind: 'error', message: dashboardPort };
  const endpoint = (typeof values.endpoint === 'string' ? values.endpoint : env.AWS_ENDPOINT_URL) || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) return { kind: 'error', message: `--endpoint must be an http(s) URL, not ${JSON.stringify(endpoint)}` };
  if (typeof values['env-file'] === 'string' && values['env-file'].trim() === '') return { kind: 'error', message: 'option --env-file needs a file' };
  const inspect = typeof values.inspect === 'string' ? parseInspect(values.inspect) : undefined;
  if (typeof inspect === 'string') return { kind: 'error', message: inspect };
  // The last of --watch and --no-watch wins.
  const watch = tokens.filter((t) => t.kind === 'option' && (t.name === 'watch' || t.name === 'no-watch')).at(-1);
  return {
    kind: 'run',
    options: {
      ...ports,
      ...(endpoint ? { endpoint } : {}),
      synth: values.synth === true,
      ...(typeof values.stack === 'string' ? { stack: values.stack } : {}),
      ...(typeof values.persist === 'string' ? { persist: values.persist || DEFAULT_PERSIST_DIR } : {}),
      ...(typeof values['env-file'] === 'string' ? { envFile: values['env-file'] } : {}),
      ...(inspect ? { inspect } : {}),
      ...(watch?.kind === 'option' && watch.name === 'no-watch' ? { watch: false as const } : {}),
      ...(dashboardPort !== undefined ? { dashboardPort } : {}),
      ...(values['no-dashboard'] === true ? { dashboard: false as const } : {}),
    },
  };
}

/** `--inspect` (port 9229), `--inspect PORT` or `--inspect 127.0.0.1:PORT`: loopback only, since a debugger runs any code. */
export function parseInspect(value: string): { host: string; port: number } | string {
  if (value === '') return { host: '127.0.0.1', port: DEFAULT_INSPECT_PORT };
  const match = /^(?:(.*):)?(\d+)$/.exec(value);
  if (match?.[1] !== undefined && match[1] !== '127.0.0.1' && match[1] !== 'localhost')
    return `--inspect listens on 127.0.0.1 only (a debugger can run any code): give a port, e.g. --inspect ${DEFAULT_INSPECT_PORT}`;
  const port = Number(match?.[2]);
  if (!match || !(port >= 1 && port <= 65_535)) return `--inspect takes a port (1-65535), e.g. --inspect ${DEFAULT_INSPECT_PORT}, not ${JSON.stringify(value)}`;
  return { host: '127.0.0.1', port };
}

// ---- Node -----------------------------------------------------------------------------------------------

export const MIN_NODE_MAJOR = 20;

const majorOf = (version: string) => Number(/^v?(\d+)/.exec(version)?.[1] ?? NaN);

export function checkNode(version: string = process.versions.node): Problem | undefined {
  const major = majorOf(version);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return {
    cause: `Node ${version.replace(/^v/, '')} is too old: jobline needs Node ${MIN_NODE_MAJOR} or newer`,
    fix: `install Node ${MIN_NODE_MAJOR}+ (e.g. nvm install ${MIN_NODE_MAJOR}) and run npm start with it`,
  };
}

/** A warning when the functions' Lambda runtimes (e.g. nodejs24.x) are not this machine's Node major version. */
export function runtimeWarning(runtimes: readonly string[], version: string = process.versions.node): string | undefined {
  const local = majorOf(version);
  const other = [...new Set(runtimes)].filter((r) => {
    const m = /^nodejs(\d+)\.x$/.exec(r);
    return m !== null && Number(m[1]) !== local;
  });
  if (other.length === 0) return undefined;
  return `warning: functions run on this machine's Node ${local}; in AWS they run on ${other.sort().join(', ')}`;
}

// ---- Java -----------------------------------------------------------------------------------------------

export const MIN_JAVA_MAJOR = 17;
export const JAVA_FIX = `install Java ${MIN_JAVA_MAJOR}+, e.g. apt-get install -y openjdk-17-jre-headless (or point JAVA_HOME at one)`;

/** The java that runs DynamoDB Local: $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): { command: string; javaHome?: string } {
  return env.JAVA_HOME ? { command: path.join(env.JAVA_HOME, 'bin', 'java'), javaHome: env.JAVA_HOME } : { command: 'java' };
}

/**
 * The major version in `java -version`'s output (it goes to stderr): "17.0.15" → 17, "21" → 21,
 * "1.8.0_392" → 8. Undefined when there is none.
 */
export function parseJavaMajor(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

export interface SpawnResult {
  error?: { code?: string; message: string };
  status: number | null;
  stdout?: string;
  stderr?: string;
}

export interface JavaCheckDeps {
  env?: NodeJS.ProcessEnv;
  run?: (command: string, args: string[]) => SpawnResult;
  exists?: (file: string) => boolean;
}

const runSync = (command: string, args: string[]): SpawnResult => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { ...(result.error ? { error: result.error } : {}), status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
};

/** DynamoDB Local needs Java 17+: runs `java -version` (or $JAVA_HOME/bin/java) and reads its major version. */
export function checkJava(deps: JavaCheckDeps = {}): Problem | undefined {
  const env = deps.env ?? process.env;
  const { command, javaHome } = javaCommand(env);
  if (javaHome && !(deps.exists ?? existsSync)(command)) {
    return { cause: `DynamoDB Local needs Java ${MIN_JAVA_MAJOR}+, but JAVA_HOME is ${javaHome} and ${command} does not exist`, fix: JAVA_FIX };
  }
  const where = javaHome ? command : 'java on PATH';
  const result = (deps.run ?? runSync)(command, ['-version']);
  if (result.error) {
    const cause =
      result.error.code === 'ENOENT'
        ? `DynamoDB Local needs Java ${MIN_JAVA_MAJOR}+, but there is no ${javaHome ? command : 'java on PATH'}`
        : `DynamoDB Local needs Java ${MIN_JAVA_MAJOR}+, but ${where} did not run (${result.error.code ?? result.error.message})`;
    return { cause, fix: JAVA_FIX };
  }
  const output = `${result.stderr ?? ''}\n${result.stdout ?? ''}`;
  const major = parseJavaMajor(output);
  if (result.status !== 0 || major === undefined) {
    const said = output
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0);
    return {
      cause: `DynamoDB Local needs Java ${MIN_JAVA_MAJOR}+, but \`${command} -version\` ${result.status !== 0 ? `failed (exit ${result.status})` : 'names no version'}${said ? `: ${said}` : ''}`,
      fix: JAVA_FIX,
    };
  }
  if (major < MIN_JAVA_MAJOR) return { cause: `DynamoDB Local needs Java ${MIN_JAVA_MAJOR}+, but ${where} is Java ${major}`, fix: JAVA_FIX };
  return undefined;
}

// ---- ports ----------------------------------------------------------------------------------------------

/** Whether a server can listen on the port (on `host`; undefined: every address, as DynamoDB Local does). */
export function probePort(port: number, host?: string): Promise<{ free: true } | { free: false; code: string }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve({ free: false, code: error.code ?? error.message }));
    server.listen({ port, ...(host !== undefined ? { host } : {}), exclusive: true }, () => server.close(() => resolve({ free: true })));
  });
}

export type PortProbe = (port: number, host?: string) => Promise<{ free: true } | { free: false; code: string }>;

export interface WantedPort {
  port: number;
  /** What listens there, e.g. "the HTTP API". */
  what: string;
  /** The option that changes it, e.g. "--port". */
  flag: string;
  /** Where it will listen (undefined: every address). */
  host?: string;
  /** An environment variable that sets it too, e.g. PORT. */
  envVar?: string;
}

async function isFree(probe: PortProbe, port: number, host: string | undefined): Promise<boolean> {
  return (await probe(port, host)).free;
}

/** A port near `from` that is free and not in `taken`; 0 when none is found (any free port). */
export async function suggestPort(from: number, host: string | undefined, taken: ReadonlySet<number>, probe: PortProbe = probePort): Promise<number> {
  for (let port = from + 1; port <= Math.min(65_535, from + 100); port++) {
    if (!taken.has(port) && (await isFree(probe, port, host))) return port;
  }
  return 0;
}

/** Each port that cannot be listened on (in use, or the same as another), with a free one to use instead. */
export async function checkPorts(wanted: readonly WantedPort[], probe: PortProbe = probePort): Promise<Problem[]> {
  const problems: Problem[] = [];
  const taken = new Set(wanted.map((w) => w.port).filter((p) => p !== 0));
  const seen = new Map<number, WantedPort>();
  for (const w of wanted) {
    if (w.port === 0) continue;
    const twin = seen.get(w.port);
    seen.set(w.port, twin ?? w);
    let cause: string | undefined;
    if (twin) cause = `port ${w.port} is given both to ${twin.what} and to ${w.what}`;
    else {
      const result = await probe(w.port, w.host);
      if (!result.free) cause = result.code === 'EADDRINUSE' ? `port ${w.port} (${w.what}) is already in use` : `port ${w.port} (${w.what}) cannot be listened on: ${result.code}`;
    }
    if (!cause) continue;
    const suggestion = await suggestPort(w.port, w.host, taken, probe);
    taken.add(suggestion);
    problems.push({ cause, fix: portFix(w, suggestion) });
  }
  return problems;
}

export function portFix(w: WantedPort, suggestion: number): string {
  return `npm start -- ${w.flag} ${suggestion}${w.envVar ? ` (or ${w.envVar}=${suggestion} npm start)` : ''}${suggestion === 0 ? ' (0: any free port)' : ''}`;
}

/** The ports `npm start` will listen on: the API's, and the embedded emulators' unless an endpoint replaces them. */
export function wantedPorts(options: StartOptions, apiHost = '127.0.0.1'): WantedPort[] {
  return [
    { port: options.port, what: 'the HTTP API', flag: '--port', host: apiHost, envVar: 'PORT' },
    // The dashboard's default port moves to a free one when taken; a port asked for must be free.
    ...(options.dashboardPort !== undefined && options.dashboard !== false
      ? [{ port: options.dashboardPort, what: 'the dashboard', flag: '--dashboard-port', host: apiHost }]
      : []),
    ...(options.endpoint
      ? []
      : [
          // DynamoDB Local (Java) listens on every address.
          { port: options.dynamodbPort, what: 'DynamoDB Local', flag: '--dynamodb-port' },
          { port: options.sqsPort, what: 'the SQS emulator', flag: '--sqs-port', host: '127.0.0.1' },
        ]),
  ];
}

export interface PreflightDeps extends JavaCheckDeps {
  nodeVersion?: string;
  probe?: PortProbe;
}

/** Every problem that would stop `npm start`, found before anything starts. */
export async function preflight(options: StartOptions, deps: PreflightDeps = {}): Promise<Problem[]> {
  const problems: Problem[] = [];
  const node = checkNode(deps.nodeVersion);
  if (node) problems.push(node);
  if (!options.endpoint) {
    const java = checkJava(deps);
    if (java) problems.push(java);
  }
  problems.push(...(await checkPorts(wantedPorts(options), deps.probe)));
  return problems;
}

// ---- what runs ------------------------------------------------------------------------------------------

export interface JobTypeSettings {
  /** The job type's name; for another queue consumer of the stack (`consumer`), its function's name. */
  type: string;
  /** Set on a queue consumer that is not a job type's worker (e.g. the completion callbacks' worker). */
  consumer?: true;
  fifo: boolean;
  batchSize: number;
  batchingWindowSeconds: number;
  maxConcurrency: number;
  workerTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  /** Undefined when the queue has no dead-letter queue. */
  maxReceiveCount?: number;
  backoffBaseSeconds?: string;
  backoffMaxSeconds?: string;
  enabled: boolean;
}

/**
 * Each queue consumer's effective settings, as the template declares them (event source, queue, function):
 * the job types' workers (named by their type) and any other consumer, marked `consumer` (named by its function).
 */
export function jobTypeSettings(model: StackModel): JobTypeSettings[] {
  const settings: JobTypeSettings[] = [];
  for (const source of model.eventSources) {
    const fn = model.functions.find((f) => f.logicalId === source.functionLogicalId);
    const queue = model.queues.find((q) => q.logicalId === source.queueLogicalId);
    if (!fn || !queue) continue;
    const type = fn.environment.JOBLINE_JOB_TYPE;
    const literal = (name: string) => {
      const value = fn.environment[name];
      return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
    };
    settings.push({
      type: typeof type === 'string' ? type : fn.name,
      ...(typeof type === 'string' ? {} : { consumer: true as const }),
      fifo: queue.fifo,
      batchSize: source.batchSize,
      batchingWindowSeconds: source.batchingWindowSeconds,
      maxConcurrency: source.maxConcurrency,
      workerTimeoutSeconds: fn.timeoutSeconds,
      // SQS's default when the template sets none.
      visibilityTimeoutSeconds: Number(queue.attributes.VisibilityTimeout ?? 30),
      ...(queue.redrive ? { maxReceiveCount: queue.redrive.maxReceiveCount } : {}),
      ...(literal('JOBLINE_BACKOFF_BASE_SECONDS') !== undefined ? { backoffBaseSeconds: literal('JOBLINE_BACKOFF_BASE_SECONDS') } : {}),
      ...(literal('JOBLINE_BACKOFF_MAX_SECONDS') !== undefined ? { backoffMaxSeconds: literal('JOBLINE_BACKOFF_MAX_SECONDS') } : {}),
      enabled: source.enabled,
    });
  }
  return settings.sort((a, b) => Number(a.consumer ?? false) - Number(b.consumer ?? false) || a.type.localeCompare(b.type));
}

export function renderJobTypeSettings(settings: readonly JobTypeSettings[]): string[] {
  const width = Math.max(0, ...settings.map((s) => s.type.length));
  return settings.map(
    (s) =>
      `  ${s.type.padEnd(width)}  ${s.fifo ? 'FIFO    ' : 'standard'}  batch size ${s.batchSize}, batching window ${s.batchingWindowSeconds} s, max concurrency ${s.maxConcurrency}, ` +
      `worker timeout ${s.workerTimeoutSeconds} s, visibility timeout ${s.visibilityTimeoutSeconds} s, ` +
      `maxReceiveCount ${s.maxReceiveCount ?? '- (no DLQ)'}` +
      // A consumer that is not jobline's worker may have no backoff settings: nothing is made up for it.
      (s.backoffBaseSeconds !== undefined ? `, backoff base ${s.backoffBaseSeconds} s max ${s.backoffMaxSeconds ?? '?'} s` : '') +
      `${s.enabled ? '' : ' (event source DISABLED)'}`,
  );
}

export interface EndpointInfo {
  endpoints: { dynamodb: string; sqs: string; s3?: string };
  embedded: { dynamodb: boolean; sqs: boolean; s3?: boolean };
  /** The stack's S3 buckets, by their local names (the S3 line is printed only when there are some). */
  buckets?: readonly string[];
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tables: readonly string[];
  deadLetterQueueUrls: readonly string[];
}

/** Where the local AWS endpoints are, the credentials that reach them and an AWS CLI command for each. */
export function renderEndpoints(info: EndpointInfo): string[] {
  const env = `AWS_ACCESS_KEY_ID=${info.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${info.credentials.secretAccessKey} AWS_REGION=${info.region} AWS_DEFAULT_REGION=${info.region}`; // the AWS CLI v1 reads only the second
  const lines = [
    `  DynamoDB  ${info.endpoints.dynamodb}${info.embedded.dynamodb ? '  (DynamoDB Local, embedded)' : ''}`,
    `  SQS       ${info.endpoints.sqs}${info.embedded.sqs ? '  (SQS emulator, embedded)' : ''}`,
    ...(info.endpoints.s3 ? [`  S3        ${info.endpoints.s3}${info.embedded.s3 ? '  (S3 emulator, embedded, path-style)' : ''}`] : []),
    `  credentials: ${env}`,
    `  e.g. export ${env}`,
  ];
  if (info.tables[0]) lines.push(`       aws --endpoint-url ${info.endpoints.dynamodb} dynamodb scan --table-name ${info.tables[0]}`);
  for (const url of info.deadLetterQueueUrls) lines.push(`       aws --endpoint-url ${info.endpoints.sqs} sqs receive-message --queue-url ${url}`);
  if (info.endpoints.s3) for (const bucket of info.buckets ?? []) lines.push(`       aws --endpoint-url ${info.endpoints.s3} s3 ls s3://${bucket}`);
  return lines;
}
