/**
 * The operator's `jobline` commands (commander 14: the last line for Node 20; 41 KB minified, no
 * dependencies): jobs, submit, stats, dlq. `dev` and `new` are listed here for `jobline --help` and run by
 * cli/bin.ts as they always have (they parse their own options). Each command group is a module of
 * cli/commands/, loaded when its command runs, so `jobline --help` loads no AWS SDK.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PACKAGE_ROOT } from '../infra/paths';
import { MAX_DELAY_SECONDS } from '../shared/jobs/run-at';
import { CliError, EXIT } from './exit';
import { colors } from './output';
import { STATES } from './states';
import { asCliError, resolveTarget, type Target, type TargetOptions } from './target';
import type { ListOptions, WatchOptions } from './commands/jobs';
import type { SubmitOptions } from './commands/submit';
import type { StatsOptions } from './commands/stats';
import type { ConfirmedOptions, PeekOptions } from './commands/dlq';
import type { DashboardOptions } from './commands/dashboard';
import type { PlanOptions } from './commands/plan';

type JsonOption = { json?: boolean };

const EXIT_CODES = `
Exit codes:
  0  done
  1  the operation failed or was refused (e.g. 409: the job is not retryable; a watched job
     ended FAILED or CANCELLED; a redrive left messages in the DLQ)
  2  usage: unknown command or option, invalid argument, no confirmation without a terminal
  3  the target is unreachable: no jobline dev running here, its API or SQS not answering,
     the stack's outputs not readable
  4  not found: no such job, job type or stack`;

const TARGETS = `
Targets: by default the jobline dev running in this directory (it writes .jobline/runtime.json
while it runs); --stack NAME a deployed stack (its CloudFormation outputs, read with your AWS
credentials: --profile, --region or the usual AWS_* variables).`;

function positiveInteger(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

function nonNegativeNumber(name: string, least = 0) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < least) throw new InvalidArgumentError(`${name} must be a number of seconds, ${least} or more`);
    return n;
  };
}

/** `submit --delay`: what the API takes (whole seconds, up to a year), refused here as a usage error. */
function delaySeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > MAX_DELAY_SECONDS) throw new InvalidArgumentError(`--delay must be whole seconds from 0 to ${MAX_DELAY_SECONDS} (366 days)`);
  return n;
}

/** The shortest poll interval of `jobs watch`: 0 polled the API without a pause (about 200 requests a second locally). */
const LEAST_WATCH_INTERVAL_SECONDS = 0.2;

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65_535) throw new InvalidArgumentError('--port must be a port number (0-65535)');
  return n;
}

const stateOption = () => new Option('--state <state>', 'only jobs in this state').choices([...STATES]);
const jsonOption = () => new Option('--json', 'print JSON for scripts instead of a table');

/** Runs a command against its target, turning API, SQS and target failures into their exit codes. */
async function withTarget(command: Command, run: (target: Target) => Promise<number | void>): Promise<void> {
  const options = command.optsWithGlobals<TargetOptions>();
  let target: Target | undefined;
  try {
    target = await resolveTarget(options);
    const code = await run(target);
    if (code !== undefined) process.exitCode = code;
  } catch (error) {
    throw asCliError(error, target);
  } finally {
    target?.close();
  }
}

export function buildProgram(): Command {
  const version = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const program = new Command('jobline')
    .description(
      'jobline: asynchronous jobs on AWS. Run the stack locally (dev), scaffold job types (new), and operate it: jobs, submit, stats, dlq, dashboard; and plan capacity (plan).',
    )
    .version(version, '-v, --version', "jobline's version")
    .helpOption('-h, --help', 'this help')
    .addOption(new Option('--stack <name>', 'a deployed stack instead of the local jobline dev'))
    .addOption(new Option('--profile <profile>', 'AWS profile for --stack'))
    .addOption(new Option('--region <region>', 'AWS region for --stack'))
    .addOption(new Option('--runtime-file <file>', 'the local runtime file (default: .jobline/runtime.json here or in a parent)').hideHelp())
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `${TARGETS}\n${EXIT_CODES}\n\nOperator's guide: docs/cli.md`)
    .exitOverride();

  // dev and new run from cli/bin.ts with their own option parsing; listed here so that the help names them.
  program.command('dev').description("run this directory's CDK app on this machine (no Docker, no AWS account); jobline dev --help lists its options");
  program.command('new').description('jobline new job <name> [--kind leased|transactional]: write a job type and register it; jobline new --help');

  const jobs = program.command('jobs').description('find, inspect, follow, cancel and retry jobs (through the HTTP API)').addHelpText('after', `${TARGETS}\n${EXIT_CODES}`);
  jobs
    .command('list')
    .description('list jobs, newest first (the caller\'s jobs: locally "local", on a stack your IAM principal)')
    .option('--type <type>', 'only jobs of this type')
    .addOption(stateOption())
    .option('--limit <n>', 'at most this many jobs', positiveInteger('--limit', 100), 20)
    .option('--cursor <cursor>', 'continue where the last page stopped (with the same --type and --state)')
    .option('--key <idempotency-key>', 'the job of this Idempotency-Key (needs --type)')
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  jobline jobs list --state FAILED\n  jobline jobs list --type webhook --limit 100 --json')
    .action((options: ListOptions, command: Command) => withTarget(command, async (t) => (await import('./commands/jobs')).list(t, options)));
  jobs
    .command('show')
    .description('one job: status, attempts, result or error (why it failed), its history')
    .argument('<jobId>', 'the job id')
    .addOption(jsonOption())
    .action((jobId: string, options: JsonOption, command: Command) => withTarget(command, async (t) => (await import('./commands/jobs')).show(t, jobId, options)));
  jobs
    .command('watch')
    .description('follow a job until it ends, printing each change of state; exit 0 when it SUCCEEDED, 1 when it FAILED or was CANCELLED')
    .argument('<jobId>', 'the job id')
    .option('--interval <seconds>', 'seconds between polls', nonNegativeNumber('--interval', LEAST_WATCH_INTERVAL_SECONDS), 1)
    .option('--timeout <seconds>', 'give up (exit 1) after this many seconds (default: never)', nonNegativeNumber('--timeout'))
    .addOption(new Option('--json', 'print each change as one JSON line (the job view)'))
    .action((jobId: string, options: WatchOptions, command: Command) => withTarget(command, async (t) => (await import('./commands/jobs')).watch(t, jobId, options)));
  jobs
    .command('cancel')
    .description('cancel a job: CANCELLED at once, or, when a leased job is RUNNING, its handler is asked to stop; 409 (exit 1) when it finished')
    .argument('<jobId>', 'the job id')
    .addOption(jsonOption())
    .action((jobId: string, options: JsonOption, command: Command) => withTarget(command, async (t) => (await import('./commands/jobs')).cancel(t, jobId, options)));
  jobs
    .command('retry')
    .description("run a FAILED or CANCELLED job again as its next generation (the state machine's explicit retry); 409 (exit 1) otherwise")
    .argument('<jobId>', 'the job id')
    .addOption(jsonOption())
    .action((jobId: string, options: JsonOption, command: Command) => withTarget(command, async (t) => (await import('./commands/jobs')).retry(t, jobId, options)));

  program
    .command('submit')
    .description('submit a job: its payload as JSON text, @file, or - for standard input')
    .argument('<type>', 'the job type')
    .argument('<payload>', 'the payload: JSON text, @file (a JSON file), or - (read standard input)')
    .option('--key <idempotency-key>', 'Idempotency-Key: a retried submit with the same key is the same job')
    .option('--delay <seconds>', 'run it this many whole seconds from now (up to a year)', delaySeconds)
    .option('--run-at <time>', 'run it at this ISO 8601 time (up to a year ahead)')
    .option('--wait', 'then follow it as jobs watch does (exit 0 SUCCEEDED, 1 FAILED or CANCELLED)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `\nExamples:\n  jobline submit transfer '{"from":"alice","to":"bob","amount":100}' --key order-42\n  jobline submit webhook @hook.json --delay 600\n${EXIT_CODES}`,
    )
    .action((type: string, payload: string, options: SubmitOptions, command: Command) =>
      withTarget(command, async (t) => (await import('./commands/submit')).submit(t, type, payload, options)),
    );

  program
    .command('stats')
    .description('per job type: jobs by state, throughput, age of the oldest waiting job, queue and DLQ depth')
    .option('--max-pages <n>', 'pages of 100 jobs counted per type and state (counts beyond are shown as at least)', positiveInteger('--max-pages', 1000), 10)
    .addOption(jsonOption())
    .addHelpText('after', `${TARGETS}\n${EXIT_CODES}`)
    .action((options: StatsOptions, command: Command) => withTarget(command, async (t) => (await import('./commands/stats')).stats(t, options)));

  const dlq = program
    .command('dlq')
    .description("the dead-letter queues: what is parked and why, redrive through the state machine's explicit retry, purge")
    .addHelpText('after', `${TARGETS}\n${EXIT_CODES}`);
  dlq
    .command('list')
    .description("each job type's DLQ: how many messages it holds")
    .addOption(jsonOption())
    .action((options: JsonOption, command: Command) => withTarget(command, async (t) => (await import('./commands/dlq')).list(t, options)));
  dlq
    .command('peek')
    .description("show a job type's parked messages: job id, jobline-reason, receive count; nothing is removed")
    .argument('<type>', 'the job type')
    .option('--limit <n>', 'at most this many messages', positiveInteger('--limit', 1000), 10)
    .addOption(jsonOption())
    .addHelpText(
      'after',
      "\nPeeking receives each message once and makes it visible again at once (its DLQ receive count grows by one; a\njobline DLQ has no redrive policy of its own, so that count moves nothing: the delivery count that mattered is\njobline-receive-count, shown as 'receives').",
    )
    .action((type: string, options: PeekOptions, command: Command) => withTarget(command, async (t) => (await import('./commands/dlq')).peek(t, type, options)));
  dlq
    .command('redrive')
    .description("re-run the jobs of a DLQ's messages: each FAILED or CANCELLED job is retried (POST /jobs/{id}/retry) and its message deleted")
    .argument('<type>', 'the job type')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      "\nA message whose job is gone (expired, unknown, another caller's) or that does not match its job (forged,\nmalformed) stays in the DLQ and is reported (exit 1); one of an earlier generation (its job was retried since) is\ndeleted, as a queue redrive would drop it. Not SQS's message move: a moved message of a FAILED job is dropped by\nthe worker, never re-run.",
    )
    .action((type: string, options: ConfirmedOptions, command: Command) => withTarget(command, async (t) => (await import('./commands/dlq')).redrive(t, type, options)));
  dlq
    .command('purge')
    .description("delete every message of a job type's DLQ (cannot be undone)")
    .argument('<type>', 'the job type')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .addOption(jsonOption())
    .action((type: string, options: ConfirmedOptions, command: Command) => withTarget(command, async (t) => (await import('./commands/dlq')).purge(t, type, options)));

  program
    .command('dashboard')
    .description('the web dashboard: overview, job browser, job detail with logs, cancel, retry, bulk actions, DLQ peek and redrive (jobline dev serves one too)')
    .option('--port <port>', 'port to listen on (0: any free port; when the default is taken, another is used)', portNumber, 3001)
    .option('--host <address>', 'address to listen on: keep it loopback unless others must reach it', '127.0.0.1')
    .option('--read-only', 'show everything, change nothing: action buttons are disabled and the server refuses actions')
    .option('--max-pages <n>', 'pages of 100 jobs counted per type and state for the overview (as stats --max-pages)', positiveInteger('--max-pages', 1000), 10)
    .addHelpText(
      'after',
      `\nIt shows and changes the jobs of the caller it runs as (as jobs list does: locally "local", on a stack your IAM\nprincipal) and reads each DLQ, and a job's payload from the table, with your credentials. Docs: docs/dashboard.md\n\nExamples:\n  jobline dashboard --stack Orders --read-only\n  jobline dashboard --port 0\n${TARGETS}\n${EXIT_CODES}`,
    )
    .action((options: DashboardOptions, command: Command) =>
      withTarget(command, async (t) => (await import('./commands/dashboard')).dashboard(t, options, { port: command.getOptionValueSource('port') === 'cli' })),
    );

  program
    .command('plan')
    .description('capacity plan: what a workload needs of the stack as synthesized (concurrency, waits, bursts, retries, requests, a monthly bill), with warnings')
    .argument('<workload>', 'the workload file (JSON: per job type arrivals/s, burst, handler duration p50/p99, payload size, duplicate and failure rates)')
    .option('--app <dir>', 'the cloud assembly to plan (what npx cdk synth or jobline dev wrote)', 'cdk.out')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `\nReads files only (no AWS, no running stack); --stack names the stack of the assembly when it has several.\nExit 1 when a job type does not keep up with its workload. The model and the workload file: docs/planner.md\n\nExamples:\n  jobline plan workload.json\n  jobline plan workload.json --app cdk.out --json\n${EXIT_CODES}`,
    )
    .action(async (workload: string, options: PlanOptions, command: Command) => {
      process.exitCode = (await import('./commands/plan')).plan(workload, options, command.optsWithGlobals<TargetOptions>().stack);
    });

  // Every command: usage errors exit 2 (commander's default is 1), help and version 0.
  const configure = (command: Command) => {
    command.exitOverride().showHelpAfterError('(add --help for usage)');
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

// Node 20 is older than what AWS SDK releases after January 2027 will need; the lock file pins ours, so the
// SDK's warning about it would be noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Runs the operator's commands with these arguments (after `jobline`); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    // `jobline` alone: the help, as it always printed its usage.
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help or the version, asked for (--help, jobline help [command], --version): commander's exit code 0.
      // Anything else it refused is a usage error (it printed why); so is a command group without its
      // subcommand (jobline jobs), whose help it shows with exit code 1.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`${colors.red('jobline:')} ${error.message}\n${error.hint ? `  ${error.hint}\n` : ''}`);
      return error.exitCode;
    }
    process.stderr.write(`jobline: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}
