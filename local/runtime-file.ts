/**
 * `.jobline/runtime.json`: where a running `jobline dev` listens, for the operator's CLI (cli/target.ts) and
 * anything else on this machine that wants to reach it. Written once the stack runs (again after a reload
 * changes the job types), removed when it stops; a file left behind by a killed run names a pid that no
 * longer runs, which the reader treats as no runtime at all.
 *
 * Credentials are written only when they are the embedded emulators' placeholders (`local`): with an
 * external endpoint (LocalStack) the runtime uses the caller's environment, and the file says so
 * (`"credentials": "environment"`) instead of copying a secret to disk.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';

export const RUNTIME_FILE = path.join('.jobline', 'runtime.json');

const runtimeInfo = z.object({
  version: z.literal(1),
  pid: z.number(),
  startedAt: z.string(),
  projectDir: z.string(),
  stackName: z.string(),
  apiUrl: z.string(),
  region: z.string(),
  endpoints: z.object({ dynamodb: z.string(), sqs: z.string(), s3: z.optional(z.string()) }),
  credentials: z.union([z.literal('environment'), z.object({ accessKeyId: z.string(), secretAccessKey: z.string() })]),
  tables: z.array(z.string()),
  jobTypes: z.array(z.object({ type: z.string(), queueUrl: z.string(), dlqUrl: z.string(), tableName: z.string() })),
  /** Where the function logs go (local/function-logs.ts): the dashboard shows a job's lines from them. */
  logDir: z.optional(z.string()),
  /** The dashboard that this jobline dev serves, when it serves one. */
  dashboardUrl: z.optional(z.string()),
});

export type RuntimeInfo = z.infer<typeof runtimeInfo>;

/**
 * JOBLINE_RUNTIME_FILE names another file than `.jobline/runtime.json` of the project, for both sides
 * (tests that run several jobline dev in one directory give each its own).
 */
export const runtimeFileFromEnv = (env: NodeJS.ProcessEnv = process.env): string | undefined => env.JOBLINE_RUNTIME_FILE || undefined;

const fileOf = (projectDir: string) => path.resolve(projectDir, runtimeFileFromEnv() ?? RUNTIME_FILE);

/** What another running jobline dev had in a file when this process took it over, by file. */
const displaced = new Map<string, RuntimeInfo>();

/**
 * Writes this runtime's file. A second jobline dev in the same directory takes the file over; the first
 * one's is kept, to be put back when the second stops (the CLI then reaches the first again instead of
 * finding no runtime).
 */
export function writeRuntimeFile(projectDir: string, info: RuntimeInfo): string {
  const file = fileOf(projectDir);
  const before = findRuntimeFile(projectDir, file);
  if (before.kind === 'running' && before.info.pid !== info.pid && !displaced.has(file)) displaced.set(file, before.info);
  writeAtomically(file, info);
  return file;
}

/** The jobline dev whose file this process took over, when one was running. */
export function displacedRuntime(projectDir: string): RuntimeInfo | undefined {
  return displaced.get(fileOf(projectDir));
}

/** Writes the file atomically (a reader never sees half of it), readable by its owner only. */
function writeAtomically(file: string, info: RuntimeInfo): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/**
 * Removes the file if it is this process's (another run in the same directory may have written it since),
 * or puts back the one it displaced when that run still runs.
 */
export function removeRuntimeFile(projectDir: string, pid: number = process.pid): void {
  const file = fileOf(projectDir);
  try {
    const written = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    if (written.pid !== pid) return;
    const previous = displaced.get(file);
    if (previous && isRunning(previous.pid)) writeAtomically(file, previous);
    else rmSync(file, { force: true });
  } catch {
    // No file, or not one we can read: nothing of ours to remove.
  }
}

export type RuntimeLookup =
  | { kind: 'running'; file: string; info: RuntimeInfo }
  | { kind: 'missing'; searched: string }
  | { kind: 'stale'; file: string; pid: number }
  | { kind: 'invalid'; file: string; reason: string };

/**
 * Finds the runtime file of `dir` or its nearest parent that has one (as git finds .git), or `file` when
 * given, and checks that its process still runs.
 */
export function findRuntimeFile(dir: string, file?: string): RuntimeLookup {
  let found = file ? path.resolve(dir, file) : undefined;
  if (!found) {
    for (let at = path.resolve(dir); ; at = path.dirname(at)) {
      if (existsSync(path.join(at, RUNTIME_FILE))) {
        found = path.join(at, RUNTIME_FILE);
        break;
      }
      if (path.dirname(at) === at) return { kind: 'missing', searched: path.join(path.resolve(dir), RUNTIME_FILE) };
    }
  }
  let text: string;
  try {
    text = readFileSync(found, 'utf8');
  } catch {
    return { kind: 'missing', searched: found };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid', file: found, reason: error instanceof Error ? error.message : String(error) };
  }
  const parsed = runtimeInfo.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', file: found, reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (!isRunning(parsed.data.pid)) return { kind: 'stale', file: found, pid: parsed.data.pid };
  return { kind: 'running', file: found, info: parsed.data };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
