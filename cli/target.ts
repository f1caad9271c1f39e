/**
 * Which jobline the command talks to, and how:
 * - by default the `jobline dev` running in this directory (or the nearest parent that has one), found by
 *   the runtime file it writes (local/runtime-file.ts): its API unsigned (the local caller `local`, as curl),
 *   its SQS emulator with the credentials it uses;
 * - with `--stack NAME`, a deployed stack, found by its outputs (cli/stack-outputs.ts): its API signed with
 *   SigV4 and SQS in its region, with the user's credentials (`--profile`, `--region`).
 * Job operations go through the HTTP API (shared/client/api-client.ts), DLQ operations through SQS.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApiError, ApiUnreachableError, JobApiClient } from '../shared/client/api-client';
import { findRuntimeFile, runtimeFileFromEnv, type RuntimeInfo } from '../local/runtime-file';
import { CliError, EXIT, notFound, unreachable } from './exit';

export interface TargetOptions {
  stack?: string;
  profile?: string;
  region?: string;
  runtimeFile?: string;
}

export interface JobTypeQueues {
  type: string;
  queueUrl: string;
  dlqUrl: string;
}

export interface Target {
  kind: 'local' | 'stack';
  /** For messages: "jobline dev (pid 123)", "stack Orders (eu-west-1)". */
  label: string;
  region: string;
  jobTypes: JobTypeQueues[];
  /** The HTTP API; undefined for a stack deployed without one (api: false). */
  apiClient?: JobApiClient;
  sqs(): Promise<SQSClient>;
  /** The jobs table, where the dashboard reads a job's payload (the API's job view has none); undefined when unknown. */
  tableName?: string;
  dynamodb(): Promise<DynamoDBClient>;
  /** The local runtime's function logs (where a job's log lines can be found); undefined for a stack. */
  logDir?: string;
  /** Seconds a receive waits: a long poll on AWS (a short one can miss messages), none on the emulator. */
  receiveWaitSeconds: number;
  close(): void;
}

const NO_RUNTIME_FIX = 'start it with npm start (jobline dev in your app), or pass --stack NAME for a deployed stack';

export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.stack) return stackTarget(options.stack, options);
  if (options.profile || options.region) throw new CliError('--profile and --region apply to --stack NAME only', EXIT.usage);
  const found = findRuntimeFile(process.cwd(), options.runtimeFile ?? runtimeFileFromEnv());
  switch (found.kind) {
    case 'missing':
      throw unreachable(`no jobline dev running here (no ${found.searched})`, NO_RUNTIME_FIX);
    case 'stale':
      throw unreachable(`no jobline dev running here (${found.file} names pid ${found.pid}, which is not running)`, NO_RUNTIME_FIX);
    case 'invalid':
      throw unreachable(`${found.file} is not a jobline runtime file (${found.reason})`, NO_RUNTIME_FIX);
  }
  return localTarget(found.info);
}

/** The `jobline dev` that wrote this runtime file: its API unsigned, its emulators with the credentials it uses. */
export function localTarget(info: RuntimeInfo): Target {
  let sqs: Promise<SQSClient> | undefined;
  let dynamodb: Promise<DynamoDBClient> | undefined;
  const credentials = info.credentials === 'environment' ? {} : { credentials: info.credentials };
  const tableName = info.jobTypes[0]?.tableName;
  return {
    kind: 'local',
    label: `jobline dev (pid ${info.pid}, ${info.apiUrl})`,
    region: info.region,
    jobTypes: info.jobTypes.map(({ type, queueUrl, dlqUrl }) => ({ type, queueUrl, dlqUrl })).sort((a, b) => a.type.localeCompare(b.type)),
    apiClient: new JobApiClient({ apiUrl: info.apiUrl }),
    sqs: () =>
      (sqs ??= import('@aws-sdk/client-sqs').then(({ SQSClient }) => new SQSClient({ region: info.region, endpoint: info.endpoints.sqs, ...credentials, maxAttempts: 2 }))),
    ...(tableName ? { tableName } : {}),
    dynamodb: () =>
      (dynamodb ??= import('@aws-sdk/client-dynamodb').then(
        ({ DynamoDBClient }) => new DynamoDBClient({ region: info.region, endpoint: info.endpoints.dynamodb, ...credentials, maxAttempts: 2 }),
      )),
    ...(info.logDir ? { logDir: info.logDir } : {}),
    receiveWaitSeconds: 0,
    close: () => {
      void sqs?.then((c) => c.destroy());
      void dynamodb?.then((c) => c.destroy());
    },
  };
}

async function stackTarget(stackName: string, options: TargetOptions): Promise<Target> {
  const [{ describeStack }, { sigV4Signer }] = await Promise.all([import('./stack-outputs'), import('./sign')]);
  const stack = await describeStack(stackName, options);
  let sqs: Promise<SQSClient> | undefined;
  let dynamodb: Promise<DynamoDBClient> | undefined;
  const clientOptions = { region: stack.region, ...(options.profile ? { profile: options.profile } : {}) };
  return {
    kind: 'stack',
    label: `stack ${stackName} (${stack.region})`,
    region: stack.region,
    jobTypes: stack.jobTypes,
    ...(stack.apiUrl ? { apiClient: new JobApiClient({ apiUrl: stack.apiUrl, sign: await sigV4Signer(stack.region, options.profile) }) } : {}),
    sqs: () => (sqs ??= import('@aws-sdk/client-sqs').then(({ SQSClient }) => new SQSClient(clientOptions))),
    ...(stack.tableName ? { tableName: stack.tableName } : {}),
    dynamodb: () => (dynamodb ??= import('@aws-sdk/client-dynamodb').then(({ DynamoDBClient }) => new DynamoDBClient(clientOptions))),
    receiveWaitSeconds: 1,
    close: () => {
      void sqs?.then((c) => c.destroy());
      void dynamodb?.then((c) => c.destroy());
    },
  };
}

/** The target's API, or an error saying why there is none. */
export function apiOf(target: Target): JobApiClient {
  if (!target.apiClient) throw new CliError(`${target.label} has no HTTP API (deployed with api: false)`, EXIT.failed, 'jobs commands need the API');
  return target.apiClient;
}

/** The queues of a job type, or exit 4 naming the job types there are. */
export function jobTypeOf(target: Target, type: string): JobTypeQueues {
  const found = target.jobTypes.find((t) => t.type === type);
  if (!found) throw notFound(`there is no job type "${type}" in ${target.label}`, `job types: ${target.jobTypes.map((t) => t.type).join(', ') || 'none'}`);
  return found;
}

/** An API or SQS failure as the CLI reports it: unreachable is 3, 404 is 4, any other answer 1. */
export function asCliError(error: unknown, target?: Target): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof ApiUnreachableError) return unreachable(error.message, target?.kind === 'local' ? 'is jobline dev still running? (npm start)' : undefined);
  if (error instanceof ApiError) {
    if (error.status === 404 && error.code === 'not_found') {
      const route = (error.request ?? '').replace(/\/jobs\/[^/]+/, '/jobs/{id}');
      return new CliError(
        `the API has no route ${route} (it runs a jobline older than this command)`,
        EXIT.failed,
        target?.kind === 'stack' ? 'deploy the stack with this version of jobline' : 'restart jobline dev with this version of jobline',
      );
    }
    if (error.status === 404) return new CliError(error.message, EXIT.notFound);
    return new CliError(`${error.message} (${error.status} ${error.code})`, EXIT.failed);
  }
  const e = error as { name?: string; message?: string; code?: string; $metadata?: unknown } | undefined;
  if (e && (e.code === 'ECONNREFUSED' || e.name === 'TimeoutError' || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(e.message ?? ''))) {
    return unreachable(`SQS could not be reached (${e.code ?? e.message})`, target?.kind === 'local' ? 'is jobline dev still running? (npm start)' : undefined);
  }
  if (e && e.$metadata !== undefined) {
    if (e.name === 'QueueDoesNotExist' || e.name === 'AWS.SimpleQueueService.NonExistentQueue') return notFound(`the queue does not exist (${e.message})`);
    return new CliError(`SQS refused: ${e.name}: ${e.message}`, EXIT.failed);
  }
  return error;
}
