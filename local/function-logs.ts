/**
 * The function logs of `jobline dev`: one file per function in `.jobline/logs/` (JOBLINE_LOG_DIR puts them
 * elsewhere, e.g. a test's temporary directory), named for what the function is (`transfer-worker.log`,
 * `api.log`, `sweeper.log`) rather than by its logical id, each run starting with a separator line
 * (`===== jobline dev 2026-11-28T00:30:00Z =====`). Lines are appended as the functions write them,
 * with Lambda's START, END and REPORT lines around each invocation (local/lambda/bootstrap.mjs).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { CfnTemplate } from './template/cloud-assembly';

/** Where the function logs go: JOBLINE_LOG_DIR (relative to the project), else `<project>/.jobline/logs`. */
export function logDirectory(projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.JOBLINE_LOG_DIR ? path.resolve(projectDir, env.JOBLINE_LOG_DIR) : path.join(projectDir, '.jobline', 'logs');
}

/** The line that starts a run in every log file: `===== jobline dev 2026-11-28T00:30:00Z =====` (UTC, whole seconds). */
export function runSeparator(startedAt: Date): string {
  return `===== jobline dev ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} =====`;
}

/** What a function's log file is named from: its template resource. */
export interface FunctionIdentity {
  logicalId: string;
  /** An explicit FunctionName (a string in the template). */
  functionName?: string;
  description?: string;
  /** The construct path (aws:cdk:path metadata, where the synthesis wrote it). */
  constructPath?: string;
}

const WORKER_DESCRIPTION = /^jobline worker for (.+) jobs$/;
/** "jobline API: submit jobs..." → "API"; "jobline sweeper: sends..." → "sweeper". */
const JOBLINE_DESCRIPTION = /^jobline ([^:(]+?)\s*(?:[:(]|$)/;
/** The hash CDK appends to a logical id (8 hex digits). */
const LOGICAL_ID_HASH = /[0-9A-F]{8}$/;
/** Construct ids that say nothing about the function (Stack/Worker/Function/Resource → worker). */
const GENERIC_IDS = new Set(['Resource', 'Default', 'Function', 'Handler', 'Lambda']);

/** Letters, digits, dots and dashes only: a name that is a file name on every system. */
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
}

/** "JobsApiHandler" → "jobs-api-handler". */
function kebab(name: string): string {
  return fileSafe(
    name
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
      .toLowerCase(),
  );
}

/**
 * A readable file name (without .log) for a function: jobline's own functions by their description
 * ("jobline worker for transfer jobs" → transfer-worker, "jobline API: ..." → api, "jobline sweeper: ..."
 * → sweeper); any other by its FunctionName, its construct path without the stack and generic ids
 * (Images/Resizer/Resource → resizer), or its logical id without CDK's hash (ImagesResizerAB12CD34 →
 * images-resizer).
 */
export function readableFunctionName(fn: FunctionIdentity): string {
  const worker = fn.description === undefined ? null : WORKER_DESCRIPTION.exec(fn.description);
  if (worker && fileSafe(worker[1]!)) return `${fileSafe(worker[1]!)}-worker`;
  const own = fn.description === undefined ? null : JOBLINE_DESCRIPTION.exec(fn.description);
  if (own && kebab(own[1]!)) return kebab(own[1]!);
  if (fn.functionName && fileSafe(fn.functionName)) return fileSafe(fn.functionName);
  if (fn.constructPath) {
    const ids = fn.constructPath.split('/').slice(1);
    while (ids.length > 1 && GENERIC_IDS.has(ids.at(-1)!)) ids.pop();
    const name = kebab(ids.join('-'));
    if (name) return name;
  }
  return kebab(fn.logicalId.replace(LOGICAL_ID_HASH, '')) || fileSafe(fn.logicalId) || 'function';
}

/**
 * Each function of a template by the name the local runtime gives it (`prefix` + FunctionName or logical
 * id, as onFunctionLog reports it) → its log file's name. Two functions that would share a name are told
 * apart by their logical ids.
 */
export function functionLogNames(template: CfnTemplate, prefix = ''): Map<string, string> {
  const functions = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const p = r.Properties ?? {};
      const functionName = typeof p.FunctionName === 'string' ? p.FunctionName : undefined;
      const identity: FunctionIdentity = {
        logicalId,
        ...(functionName !== undefined ? { functionName } : {}),
        ...(typeof p.Description === 'string' ? { description: p.Description } : {}),
        ...(typeof r.Metadata?.['aws:cdk:path'] === 'string' ? { constructPath: r.Metadata['aws:cdk:path'] } : {}),
      };
      return { key: `${prefix}${functionName ?? logicalId}`, logicalId, name: readableFunctionName(identity) };
    });
  const count = new Map<string, number>();
  for (const f of functions) count.set(f.name, (count.get(f.name) ?? 0) + 1);
  return new Map(functions.map((f) => [f.key, count.get(f.name)! > 1 ? `${f.name}-${fileSafe(f.logicalId)}` : f.name]));
}

/** The log files of one run: opened as the first line for each arrives, each starting with the run's separator. */
export class FunctionLogs {
  private names = new Map<string, string>();
  private readonly streams = new Map<string, WriteStream>();
  private closed = false;
  private readonly separator: string;

  constructor(
    readonly dir: string,
    startedAt: Date = new Date(),
  ) {
    mkdirSync(dir, { recursive: true });
    this.separator = runSeparator(startedAt);
  }

  /** The file names of the stack's functions (functionLogNames); a function not named here gets its own name. */
  useNames(names: ReadonlyMap<string, string>): void {
    this.names = new Map(names);
  }

  /** The file a function's lines go to. */
  fileOf(functionName: string): string {
    return path.join(this.dir, `${this.names.get(functionName) ?? (fileSafe(functionName) || 'function')}.log`);
  }

  /** Appends a line to the function's log (the runtime's onFunctionLog). Lines after close() are dropped. */
  readonly write = (functionName: string, line: string): void => {
    if (this.closed) return;
    const file = this.fileOf(functionName);
    let stream = this.streams.get(file);
    if (!stream) {
      this.streams.set(file, (stream = createWriteStream(file, { flags: 'a' })));
      let said = false;
      stream.on('error', (error) => {
        if (!said) console.error(`jobline: cannot write the function log ${file}: ${error.message}`);
        said = true;
      });
      stream.write(`${this.separator}\n`);
    }
    stream.write(`${line}\n`);
  };

  /** Ends every file; resolves once what was written is on disk. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.streams.values()].map((stream) => new Promise<void>((resolve) => stream.end(resolve))));
    this.streams.clear();
  }
}

/** The function logs of a `jobline dev` run in `projectDir` (see logDirectory). */
export function openFunctionLogs(projectDir: string, env: NodeJS.ProcessEnv = process.env): FunctionLogs {
  return new FunctionLogs(logDirectory(projectDir, env));
}
