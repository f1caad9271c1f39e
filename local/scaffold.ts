/**
 * `jobline new job <name> [--kind leased|transactional] [--dir <jobs dir>]`: writes a job type's folder
 * (type.ts, handler.ts, handler.test.ts; templates in local/scaffold-templates.ts) and registers it.
 *
 * - In jobline's own repository (app/jobs/index.ts and shared/jobs/define.ts exist) the jobs directory is
 *   app/jobs, the modules import the sources by relative paths, and the job is added to app/jobs/index.ts
 *   (the app's stack adds every job type listed there).
 * - In another app the jobs directory is lib/jobs, the modules import `jobline`, and the command prints the
 *   import and the `jobs.addJobType(...)` line to add to the stack (the file that calls `new Jobline(...)`).
 *
 * The name follows defineJobType's rule. A wrong usage (an unknown option, no name, an invalid name or kind)
 * is one line of cause and one of fix and exit code 2; an existing folder is refused the same way, exit 1.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_QUEUE_OPTIONS, validateJobType } from '../shared/jobs/define';
import { DEFAULT_PORTS, formatProblem, type Problem } from './preflight';
import { findRuntimeFile } from './runtime-file';
import { handlerModule, testModule, typeModule, type ScaffoldKind, type TemplateContext } from './scaffold-templates';

export const NEW_USAGE = `usage: jobline new job <name> [options]

Writes a job type: <jobs dir>/<name>/type.ts (its payload schema and queue options), handler.ts (what a job
does) and handler.test.ts (a test of it), and registers it: in jobline's own repository in app/jobs/index.ts;
in another app it prints the import and the jobs.addJobType(...) line to add to the stack.

<name>: 2-40 lower-case letters, digits or dashes, starting with a letter (it names the route, the queue and
the worker), e.g. send-email.

options:
  --kind leased|transactional  leased (default): effects outside DynamoDB (an HTTP call, an email), run under
                               a lease; transactional: DynamoDB writes only, committed with the job's completion
  --dir DIR                    the jobs directory (default: app/jobs in jobline's repository, else lib/jobs)
  -h, --help                   this help`;

const KINDS: readonly ScaffoldKind[] = ['leased', 'transactional'];

/** JavaScript's reserved words and the names the generated modules use: a handler is not named any of these. */
const TAKEN = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null ' +
    'return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await ' +
    'arguments eval undefined z defineJob defineJobType JobType JobClient JobContext jobTypes findJobType type table queues client context quiet assert ' +
    'describe it expect beforeEach processBatch acknowledge createJobQueues createJobsTable invocation receiveRecords workerDeps dynamoClient GetItemCommand ' +
    'itemKey jobs'
  ).split(' '),
);

/** The handler's identifier for a job type's name: send-email → sendEmail (sendEmailJob when that is taken). */
export function identifierFor(name: string): string {
  const camel = name
    .split('-')
    .filter(Boolean)
    .map((part, i) => (i === 0 ? part : part[0]!.toUpperCase() + part.slice(1)))
    .join('');
  return TAKEN.has(camel) || TAKEN.has(`${camel}Type`) ? `${camel}Job` : camel;
}

/** A module specifier from `fromDir` to `file` (no extension), as an import writes it. */
function specifier(fromDir: string, file: string): string {
  const relative = path.relative(fromDir, file).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

export interface ScaffoldLayout {
  projectDir: string;
  /** jobline's own repository: relative imports of its sources, registration in <jobs dir>/index.ts. */
  ownRepo: boolean;
  jobsDir: string;
}

export function detectLayout(projectDir: string, dir?: string): ScaffoldLayout {
  const ownRepo = existsSync(path.join(projectDir, 'app', 'jobs', 'index.ts')) && existsSync(path.join(projectDir, 'shared', 'jobs', 'define.ts'));
  const jobsDir = path.resolve(projectDir, dir ?? (ownRepo ? path.join('app', 'jobs') : path.join('lib', 'jobs')));
  return { projectDir, ownRepo, jobsDir };
}

/**
 * app/jobs/index.ts with the job added: its handler imported after the other job imports and appended to
 * the `jobTypes` list. Undefined when the file does not have that shape (then the caller says what to add).
 */
export function registerInIndex(source: string, ident: string, importPath: string): string | undefined {
  const list = /(export const jobTypes\b[^=]*=\s*\[)([^\]]*)(\])/.exec(source);
  if (!list) return undefined;
  const importLine = `import { ${ident} } from '${importPath}';`;
  if (source.includes(`'${importPath}'`)) return undefined;
  const lines = source.split('\n');
  let lastImport = -1;
  for (let i = 0; i < lines.length; i++) if (/^import\b.*from\s+'[^']+';\s*$/.test(lines[i]!)) lastImport = i;
  if (lastImport === -1) return undefined;
  lines.splice(lastImport + 1, 0, importLine);
  const withImport = lines.join('\n');
  return withImport.replace(/(export const jobTypes\b[^=]*=\s*\[)([^\]]*)(\])/, (_match, open: string, items: string, close: string) => {
    const trimmed = items.replace(/[\s,]+$/, '');
    const trailing = items.slice(trimmed.length);
    if (trimmed.trim() === '') return `${open}${ident}${close}`;
    // A list written one per line keeps that form.
    if (trailing.includes('\n')) {
      const indent = /\n([ \t]*)\S[^\n]*$/.exec(trimmed)?.[1] ?? '  ';
      return `${open}${trimmed},\n${indent}${ident},${trailing.slice(trailing.lastIndexOf('\n'))}${close}`;
    }
    return `${open}${trimmed}, ${ident}${trailing}${close}`;
  });
}

/** The stack file of another app (the one that calls `new Jobline(`) and the variable it keeps it in. */
export function findStack(projectDir: string): { file: string; variable: string } | undefined {
  const visit = (dir: string, depth: number): { file: string; variable: string } | undefined => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth > 0 && !['node_modules', 'cdk.out', 'dist', '.git', '.jobline'].includes(entry.name) && !entry.name.startsWith('.')) {
          const found = visit(full, depth - 1);
          if (found) return found;
        }
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.(test|spec)\./.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const text = readFileSync(full, 'utf8');
        const match = /(?:(?:const|let|var)\s+|this\.)(\w+)\s*=\s*new\s+Jobline\s*\(/.exec(text);
        if (match) return { file: full, variable: match[1]! };
      }
    }
    return undefined;
  };
  for (const top of ['lib', 'src', 'bin', '.']) {
    const found = visit(path.join(projectDir, top), top === '.' ? 0 : 3);
    if (found) return found;
  }
  return undefined;
}

function hasVitest(projectDir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as { dependencies?: object; devDependencies?: object };
    return 'vitest' in { ...pkg.dependencies, ...pkg.devDependencies };
  } catch {
    return false;
  }
}

export interface ScaffoldRequest {
  name: string;
  kind: ScaffoldKind;
  projectDir: string;
  /** --dir: the jobs directory (relative to the project). */
  dir?: string;
}

export interface ScaffoldResult {
  /** The files written, absolute. */
  files: string[];
  /** The index edited, when the job was registered there. */
  registeredIn?: string;
  /** What to tell the user, line by line. */
  lines: string[];
}

/** Checks a request; a problem is one line of cause and one of fix, with the exit code it ends with. */
export function checkRequest(request: ScaffoldRequest): (Problem & { exitCode: 1 | 2 }) | undefined {
  const nameProblems = validateJobType(request.name, DEFAULT_QUEUE_OPTIONS, false);
  if (nameProblems.length > 0) {
    const suggestion = request.name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^[^a-z]+|-+$/g, '')
      .slice(0, 40);
    return {
      cause: `invalid job type name ${JSON.stringify(request.name)}: ${nameProblems.join('; ')}`,
      fix: `jobline new job ${/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(suggestion) ? suggestion : 'send-email'}${request.kind === 'leased' ? '' : ` --kind ${request.kind}`}`,
      exitCode: 2,
    };
  }
  const layout = detectLayout(request.projectDir, request.dir);
  const folder = path.join(layout.jobsDir, request.name);
  if (existsSync(folder)) {
    return {
      cause: `${path.relative(request.projectDir, folder) || folder} exists already`,
      fix: `choose another name, or move that folder away first`,
      exitCode: 1,
    };
  }
  return undefined;
}

/** Writes the job type's folder and registers it (or says how). Call checkRequest first. */
export function scaffold(request: ScaffoldRequest): ScaffoldResult {
  const layout = detectLayout(request.projectDir, request.dir);
  const folder = path.join(layout.jobsDir, request.name);
  const shown = (file: string) => {
    const relative = path.relative(request.projectDir, file);
    return relative.startsWith('..') ? file : relative;
  };
  const ident = identifierFor(request.name);
  const testFile = path.join(folder, 'handler.test.ts');
  const root = (relative: string) => specifier(folder, path.join(layout.projectDir, relative));
  const context: TemplateContext = {
    name: request.name,
    kind: request.kind,
    ident,
    ownRepo: layout.ownRepo,
    ...(layout.ownRepo
      ? {
          paths: {
            define: root('shared/jobs/define'),
            clients: root('shared/aws/clients'),
            jobClient: root('shared/client/job-client'),
            processBatch: root('shared/worker/process-batch'),
            resources: root('test/support/resources'),
          },
        }
      : {}),
    testRunner: hasVitest(layout.projectDir) ? 'vitest' : 'node',
    testPath: shown(testFile),
  };

  mkdirSync(folder, { recursive: true });
  const files = [
    [path.join(folder, 'type.ts'), typeModule(context)],
    [path.join(folder, 'handler.ts'), handlerModule(context)],
    [testFile, testModule(context)],
  ] as const;
  for (const [file, content] of files) writeFileSync(file, content, { flag: 'wx' });
  const lines = files.map(([file]) => `created ${shown(file)}`);

  // Registration: app/jobs/index.ts in jobline's repository (the stack reads that list, whatever --dir
  // says), else the stack's lines to add.
  const index = path.join(layout.projectDir, 'app', 'jobs', 'index.ts');
  const handlerFromIndex = specifier(path.dirname(index), path.join(folder, 'handler'));
  let registeredIn: string | undefined;
  if (layout.ownRepo) {
    const edited = registerInIndex(readFileSync(index, 'utf8'), ident, handlerFromIndex);
    if (edited) {
      writeFileSync(index, edited);
      registeredIn = index;
      lines.push(`registered ${request.name} in ${shown(index)} (the stack adds every job type listed there)`);
    }
  }
  if (!registeredIn) {
    const stack = layout.ownRepo ? undefined : findStack(layout.projectDir);
    const from = stack ? path.dirname(stack.file) : layout.ownRepo ? path.dirname(index) : path.dirname(layout.jobsDir);
    const where = stack ? shown(stack.file) : layout.ownRepo ? shown(index) : 'your stack (the file that calls new Jobline(...))';
    lines.push(
      `register it: add to ${where}`,
      `  import { ${ident} } from '${specifier(from, path.join(folder, 'handler'))}';`,
      layout.ownRepo ? `  and ${ident} to the jobTypes list` : `  ${stack?.variable ?? 'jobs'}.addJobType(${ident});`,
    );
  }

  const payload = request.kind === 'leased' ? '{"id":"first"}' : '{"id":"first","by":2}';
  const start = layout.ownRepo ? 'npm start' : 'npx jobline dev';
  const curl = (apiUrl: string) => `curl -X POST ${apiUrl}/jobs/${request.name} -H 'content-type: application/json' -d '${payload}'`;
  // A jobline dev running here reloads with the new type: the command is for its API, wherever it listens.
  const running = findRuntimeFile(layout.projectDir);
  if (running.kind === 'running') lines.push(`try it (jobline dev reloads with it): ${curl(running.info.apiUrl)}`);
  else lines.push(`try it: ${start}, then ${curl(`http://127.0.0.1:${process.env.PORT || DEFAULT_PORTS.api}`)}`);
  if (layout.ownRepo || context.testRunner === 'vitest') {
    lines.push(`test it: npx vitest run ${shown(testFile)}`);
    const note = layout.ownRepo ? vitestIncludeNote(layout.projectDir, shown(layout.jobsDir)) : undefined;
    if (note) lines.push(`  ${note}`);
  } else {
    lines.push(`test it: node --import tsx --test ${shown(testFile)}`);
  }
  return { files: files.map(([file]) => file), ...(registeredIn ? { registeredIn } : {}), lines };
}

/** A note when the project's vitest config does not look for tests under the jobs directory. */
function vitestIncludeNote(projectDir: string, jobsDir: string): string | undefined {
  const config = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js'].map((f) => path.join(projectDir, f)).find((f) => existsSync(f));
  if (!config) return undefined;
  const text = readFileSync(config, 'utf8');
  const top = jobsDir.split(/[\\/]/)[0]!;
  if (!/\binclude\s*:/.test(text) || text.includes(`'${top}/`) || text.includes(`"${top}/`)) return undefined;
  return `(${path.basename(config)}'s include does not cover ${jobsDir}: add '${jobsDir.split(path.sep).join('/')}/**/*.test.ts' to it, or vitest will not find the test)`;
}

/** `jobline new ...`: returns the exit code. */
export function newCommand(
  argv: readonly string[],
  projectDir: string = process.cwd(),
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): number {
  const usageError = (message: string) => {
    err(`jobline new: ${message}\n  see jobline new --help`);
    return 2;
  };
  let parsed: ReturnType<typeof parseNew>;
  try {
    parsed = parseNew(argv);
  } catch (error) {
    return usageError((error as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(NEW_USAGE);
    return 0;
  }
  const [what, name, ...extra] = positionals;
  if (what === undefined) return usageError('what to create? jobline new job <name>');
  if (what !== 'job') return usageError(`unknown kind of thing ${JSON.stringify(what)}: jobline new job <name>`);
  if (name === undefined) {
    err(formatProblem({ cause: 'jobline new job needs the job type name', fix: 'jobline new job <name>, e.g. jobline new job send-email' }));
    return 2;
  }
  if (extra.length > 0) return usageError(`unexpected argument ${extra[0]}`);
  const kind = values.kind ?? 'leased';
  if (!KINDS.includes(kind as ScaffoldKind)) {
    err(
      formatProblem({ cause: `--kind must be leased or transactional, not ${JSON.stringify(kind)}`, fix: `jobline new job ${name} --kind transactional (or leased, the default)` }),
    );
    return 2;
  }
  if (values.dir !== undefined && values.dir.trim() === '') return usageError('option --dir needs a directory');
  const request: ScaffoldRequest = { name, kind: kind as ScaffoldKind, projectDir: path.resolve(projectDir), ...(values.dir !== undefined ? { dir: values.dir } : {}) };
  const problem = checkRequest(request);
  if (problem) {
    err(formatProblem(problem));
    return problem.exitCode;
  }
  for (const line of scaffold(request).lines) out(line);
  return 0;
}

function parseNew(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: { kind: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
  });
}
