// `jobline dev --env-file` / .env: dotenv syntax, a missing or malformed file as one line of cause and fix,
// names only in what is printed (the values may be secrets), Lambda's reserved variables left out.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as util from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEnv, loadEnvFile, parseDotenv } from '../../local/env-file';
import { formatProblem } from '../../local/preflight';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function project(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-env-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

const WELL_FORMED = [
  'A=1',
  'export B=2',
  '# a comment',
  '',
  '  C = spaced  ',
  'D="double # not a comment"',
  "E='single \\n stays'",
  'F=`back`',
  'G="line\\nbreak"',
  'H=unquoted # comment',
  'I=a=b=c',
  'J=',
  'K="multi',
  'line"',
  'A=later wins',
].join('\n');

describe('parseDotenv', () => {
  it('reads names and values: export, comments, quotes, multi-line values, later lines win', () => {
    expect(parseDotenv(WELL_FORMED)).toEqual({
      variables: {
        A: 'later wins',
        B: '2',
        C: 'spaced',
        D: 'double # not a comment',
        E: 'single \\n stays',
        F: 'back',
        G: 'line\nbreak',
        H: 'unquoted',
        I: 'a=b=c',
        J: '',
        K: 'multi\nline',
      },
      errors: [],
    });
  });

  it('reads CRLF files and a leading byte order mark', () => {
    expect(parseDotenv('\uFEFFA=1\r\nB="2"\r\n').variables).toEqual({ A: '1', B: '2' });
  });

  it("reads well-formed files as Node's util.parseEnv does", () => {
    const parseEnv = (util as { parseEnv?: (text: string) => Record<string, string> }).parseEnv;
    if (!parseEnv) return; // Node before 20.12: parseDotenv is the reader
    expect(parseDotenv(WELL_FORMED).variables).toEqual({ ...parseEnv(WELL_FORMED) });
  });

  it('names each line that is not NAME=value, and never its value', () => {
    const { errors } = parseDotenv('OK=1\nthis is not a variable\nSECRET="s3cr3t-value\n');
    expect(errors).toEqual([
      { line: 2, message: 'is not NAME=value' },
      { line: 3, message: 'has no closing " for the value of SECRET' },
    ]);
    expect(JSON.stringify(errors)).not.toContain('s3cr3t');
    expect(parseDotenv('A="x" trailing').errors).toEqual([{ line: 1, message: 'has text after the closing " of the value of A' }]);
  });
});

describe('loadEnvFile', () => {
  it('.env is optional', () => {
    expect(loadEnvFile(project())).toEqual({ kind: 'none' });
  });

  it('reads .env of the project, or the file given (relative to the project)', () => {
    const dir = project({ '.env': 'API_KEY=from-dotenv\n', 'other.env': 'OTHER=1\n' });
    expect(loadEnvFile(dir)).toEqual({ kind: 'loaded', env: { file: '.env', variables: { API_KEY: 'from-dotenv' }, skipped: [] } });
    expect(loadEnvFile(dir, 'other.env')).toEqual({ kind: 'loaded', env: { file: 'other.env', variables: { OTHER: '1' }, skipped: [] } });
  });

  it('a missing --env-file is one line of cause and one of fix', () => {
    const dir = project();
    const result = loadEnvFile(dir, 'missing.env');
    expect(result.kind).toBe('problem');
    if (result.kind !== 'problem') return;
    expect(result.problem.cause).toBe(`--env-file missing.env: there is no file ${path.join(dir, 'missing.env')}`);
    expect(result.problem.fix).toMatch(/^create it/);
    expect(formatProblem(result.problem).split('\n')).toHaveLength(2);
  });

  it('a directory, or a malformed line, is a problem that shows no value', () => {
    const dir = project({ '.env': 'GOOD=1\nBAD LINE s3cr3t\n' });
    mkdirSync(path.join(dir, 'env-dir'));
    const directory = loadEnvFile(dir, 'env-dir');
    expect(directory.kind === 'problem' && directory.problem.cause).toMatch(/cannot be read \(EISDIR\)/);
    const malformed = loadEnvFile(dir);
    expect(malformed).toEqual({
      kind: 'problem',
      problem: { cause: '.env: line 2 is not NAME=value', fix: 'write each variable as NAME=value (quote a value with spaces, # or line breaks) in .env' },
    });
  });

  it("leaves out Lambda's reserved variables, the runtime's endpoints and names Lambda refuses", () => {
    const dir = project({ '.env': 'AWS_REGION=eu-west-1\nAWS_ACCESS_KEY_ID=x\nAWS_ENDPOINT_URL_SQS=http://x\nmy.name=1\nGOOD_ONE=ok\nAWS_PROFILE=dev\n' });
    const result = loadEnvFile(dir);
    expect(result.kind).toBe('loaded');
    if (result.kind !== 'loaded') return;
    expect(result.env.variables).toEqual({ GOOD_ONE: 'ok', AWS_PROFILE: 'dev' });
    expect(result.env.skipped.map((s) => s.name).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL_SQS', 'AWS_REGION', 'my.name']);
  });
});

describe('describeEnv', () => {
  it('prints the names, never the values', () => {
    const lines = describeEnv({ file: '.env', variables: { API_KEY: 'sk-live-123', DB_PASSWORD: 'hunter2' }, skipped: [{ name: 'AWS_REGION', why: 'reserved' }] });
    expect(lines).toEqual(['environment: 2 variables from .env for every function (values not shown): API_KEY, DB_PASSWORD', '  not passed on: AWS_REGION (reserved)']);
    expect(lines.join('\n')).not.toMatch(/sk-live|hunter2/);
  });
});
