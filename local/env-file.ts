/**
 * `jobline dev --env-file <file>` (default: `.env` when it exists): variables in dotenv syntax that reach
 * every local function as Lambda environment variables, on top of the template's. For what a developer
 * keeps out of the template locally, such as an API key for a sandbox; in AWS such values are secrets the
 * handler reads (docs/local.md). Values are never printed: only the names of the variables loaded.
 *
 * Syntax: `NAME=value` lines, `export NAME=value`, blank lines and `#` comments. A value in single, double
 * or back quotes is taken as written and may span lines; in double quotes `\n` is a newline. An unquoted
 * value is trimmed and ends at a `#`. Node's `util.parseEnv` (Node 20.12+) reads the values when it is
 * there, after the file has been checked line by line here; `parseDotenv` reads them on older Node.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as util from 'node:util';
import type { Problem } from './preflight';

/** What Lambda reserves (a function cannot set them) and what the local runtime sets to reach the emulators. */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_S3',
  'JOBLINE_LOCAL_RUNTIME',
  'PATH',
]);

/** Lambda's rule for a variable's name. */
const LAMBDA_NAME = /^[a-zA-Z][a-zA-Z0-9_]+$/;

export interface ParsedEnv {
  variables: Record<string, string>;
  /** Lines that are not `NAME=value` (1-based), with why; never with the value. */
  errors: { line: number; message: string }[];
}

const NAME_AND_REST = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$/;

/** Reads dotenv text. Later lines win over earlier ones with the same name. */
export function parseDotenv(text: string): ParsedEnv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const variables: Record<string, string> = {};
  const errors: ParsedEnv['errors'] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const match = NAME_AND_REST.exec(line);
    if (!match) {
      errors.push({ line: i + 1, message: 'is not NAME=value' });
      continue;
    }
    const name = match[1]!;
    const rest = match[2]!.trimStart();
    const quote = rest[0];
    if (quote === '"' || quote === "'" || quote === '`') {
      // The value runs to the matching quote, on this line or a later one.
      let body = rest.slice(1);
      const start = i;
      let end = body.indexOf(quote);
      while (end === -1 && i + 1 < lines.length) {
        i++;
        body += `\n${lines[i]}`;
        end = body.indexOf(quote);
      }
      if (end === -1) {
        errors.push({ line: start + 1, message: `has no closing ${quote} for the value of ${name}` });
        break;
      }
      const after = body.slice(end + 1);
      if (!/^\s*(#.*)?$/.test(after)) errors.push({ line: i + 1, message: `has text after the closing ${quote} of the value of ${name}` });
      const value = body.slice(0, end);
      variables[name] = quote === '"' ? value.replace(/\\n/g, '\n') : value;
    } else {
      variables[name] = rest.split('#')[0]!.trim();
    }
  }
  return { variables, errors };
}

/** Node's own reader (util.parseEnv, Node 20.12+), when there is one. */
const nodeParseEnv = (util as { parseEnv?: (content: string) => Record<string, string | undefined> }).parseEnv;

export interface LoadedEnv {
  /** The file read, relative to the project when inside it. */
  file: string;
  /** What every function gets (valid names, none reserved). */
  variables: Record<string, string>;
  /** Names left out, each with why. */
  skipped: { name: string; why: string }[];
}

export type EnvFileResult = { kind: 'none' } | { kind: 'loaded'; env: LoadedEnv } | { kind: 'problem'; problem: Problem };

/**
 * The variables of `given` (--env-file, relative to the project), or of `.env` in the project when it
 * exists. A given file that cannot be read, or a line that is not NAME=value, is a problem (one line of
 * cause, one of fix); a missing `.env` is nothing.
 */
export function loadEnvFile(projectDir: string, given?: string): EnvFileResult {
  const file = path.resolve(projectDir, given ?? '.env');
  const shown = path.relative(projectDir, file).startsWith('..') ? file : path.relative(projectDir, file) || file;
  const flag = given !== undefined ? `--env-file ${given}` : '.env';
  if (!existsSync(file)) {
    if (given === undefined) return { kind: 'none' };
    return {
      kind: 'problem',
      problem: { cause: `--env-file ${given}: there is no file ${file}`, fix: `create it (NAME=value lines), or give the path of an existing file, relative to ${projectDir}` },
    };
  }
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return {
      kind: 'problem',
      problem: { cause: `${flag}: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, fix: `make ${shown} a readable file` },
    };
  }
  const parsed = parseDotenv(text);
  if (parsed.errors.length > 0) {
    const first = parsed.errors[0]!;
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more lines)` : '';
    return {
      kind: 'problem',
      problem: {
        cause: `${shown}: line ${first.line} ${first.message}${more}`,
        fix: `write each variable as NAME=value (quote a value with spaces, # or line breaks) in ${shown}`,
      },
    };
  }
  const read = nodeParseEnv ? nodeParseEnv(text) : parsed.variables;
  const variables: Record<string, string> = {};
  const skipped: LoadedEnv['skipped'] = [];
  for (const [name, value] of Object.entries(read)) {
    if (value === undefined) continue;
    if (RESERVED_VARIABLES.has(name)) skipped.push({ name, why: 'reserved by Lambda or set by the local runtime' });
    else if (!LAMBDA_NAME.test(name)) skipped.push({ name, why: 'not a Lambda variable name (a letter, then letters, digits or _)' });
    else variables[name] = value;
  }
  return { kind: 'loaded', env: { file: shown, variables, skipped } };
}

/** What `jobline dev` prints about the file: the names, never the values. */
export function describeEnv(env: LoadedEnv): string[] {
  const names = Object.keys(env.variables).sort();
  const lines = [
    names.length > 0
      ? `environment: ${names.length} variable${names.length === 1 ? '' : 's'} from ${env.file} for every function (values not shown): ${names.join(', ')}`
      : `environment: ${env.file} has no variables`,
  ];
  if (env.skipped.length > 0) lines.push(`  not passed on: ${env.skipped.map((s) => `${s.name} (${s.why})`).join(', ')}`);
  return lines;
}
