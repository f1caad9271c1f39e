// `jobline new job <name>`: its usage errors and refusals (one line of cause, one of fix, exit codes), the
// handler's identifier, the edit of app/jobs/index.ts (on a copy of its text) and the stack it finds in an app.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';
import { detectLayout, findStack, identifierFor, newCommand, registerInIndex } from '../../local/scaffold';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempApp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobline-new-'));
  dirs.push(dir);
  return dir;
};

function jobline(argv: string[], projectDir: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = newCommand(
    argv,
    projectDir,
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('identifierFor', () => {
  it.each([
    ['send-email', 'sendEmail'],
    ['transfer', 'transfer'],
    ['a1-b2', 'a1B2'],
    ['x--y', 'xY'],
    ['new', 'newJob'],
    ['delete', 'deleteJob'],
    ['job-types', 'jobTypesJob'],
    ['type', 'typeJob'],
    ['invocation', 'invocationJob'],
  ])('%s → %s', (name, ident) => expect(identifierFor(name)).toBe(ident));
});

describe('registerInIndex', () => {
  const index = readFileSync(path.join(PACKAGE_ROOT, 'app/jobs/index.ts'), 'utf8');

  it("adds the import after the jobs' imports and the job to jobTypes (on a copy of app/jobs/index.ts)", () => {
    const edited = registerInIndex(index, 'sendEmail', './send-email/handler')!;
    expect(edited).toBeDefined();
    const importLines = edited.split('\n').filter((l) => l.startsWith('import '));
    expect(importLines.at(-1)).toBe("import { sendEmail } from './send-email/handler';");
    expect(importLines.slice(0, -1)).toEqual(index.split('\n').filter((l) => l.startsWith('import ')));
    expect(edited).toMatch(/export const jobTypes: readonly JobType\[\] = \[[^\]]*, sendEmail\];/);
    // Nothing else changed.
    expect(edited.replace("import { sendEmail } from './send-email/handler';\n", '').replace(', sendEmail]', ']')).toBe(index);
  });

  it('keeps a list written one per line in that form', () => {
    const source = "import { a } from './a/handler';\n\nexport const jobTypes = [\n  a,\n];\n";
    expect(registerInIndex(source, 'b', './b/handler')).toBe("import { a } from './a/handler';\nimport { b } from './b/handler';\n\nexport const jobTypes = [\n  a,\n  b,\n];\n");
  });

  it('gives up (the caller prints what to add) on a file without a jobTypes list, or with the job already', () => {
    expect(registerInIndex("import { a } from './a/handler';\nexport default [a];\n", 'b', './b/handler')).toBeUndefined();
    expect(registerInIndex(index, 'transfer', './transfer/handler')).toBeUndefined();
  });
});

describe('layout', () => {
  it("jobline's repository: app/jobs; another app: lib/jobs; --dir wins", () => {
    expect(detectLayout(PACKAGE_ROOT)).toEqual({ projectDir: PACKAGE_ROOT, ownRepo: true, jobsDir: path.join(PACKAGE_ROOT, 'app/jobs') });
    const app = tempApp();
    expect(detectLayout(app)).toEqual({ projectDir: app, ownRepo: false, jobsDir: path.join(app, 'lib/jobs') });
    expect(detectLayout(app, 'src/jobs').jobsDir).toBe(path.join(app, 'src/jobs'));
  });

  it("finds another app's stack: the file that makes a Jobline, and its variable", () => {
    const consumer = path.join(PACKAGE_ROOT, 'test/consumer-app');
    expect(findStack(consumer)).toEqual({ file: path.join(consumer, 'lib/stack.ts'), variable: 'jobs' });
    expect(findStack(tempApp())).toBeUndefined();
  });
});

describe('jobline new', () => {
  it('--help, and new job --help, print the usage and exit 0', () => {
    for (const argv of [['--help'], ['-h'], ['job', '--help']]) {
      const { code, out } = jobline(argv, tempApp());
      expect(code).toBe(0);
      expect(out).toMatch(/^usage: jobline new job <name> \[options\]/);
      expect(out).toContain('--kind leased|transactional');
      expect(out).toContain('--dir DIR');
    }
  });

  it.each([
    [[], 'jobline new: what to create? jobline new job <name>\n  see jobline new --help'],
    [['thing', 'x'], 'jobline new: unknown kind of thing "thing": jobline new job <name>\n  see jobline new --help'],
    [['job'], 'jobline: jobline new job needs the job type name\n  fix: jobline new job <name>, e.g. jobline new job send-email'],
    [['job', 'a', 'b'], 'jobline new: unexpected argument b\n  see jobline new --help'],
    [['job', 'x1', '--bogus'], "jobline new: Unknown option '--bogus'\n  see jobline new --help"],
    [['job', 'x1', '--kind'], "jobline new: Option '--kind <value>' argument missing\n  see jobline new --help"],
    [['job', 'x1', '--kind', 'batch'], 'jobline: --kind must be leased or transactional, not "batch"\n  fix: jobline new job x1 --kind transactional (or leased, the default)'],
    [
      ['job', 'Send_Email'],
      'jobline: invalid job type name "Send_Email": name must be 2-40 lower-case letters, digits or dashes, starting with a letter\n  fix: jobline new job send-email',
    ],
    [
      ['job', '1x', '--kind', 'transactional'],
      'jobline: invalid job type name "1x": name must be 2-40 lower-case letters, digits or dashes, starting with a letter\n  fix: jobline new job send-email --kind transactional',
    ],
  ])('%j is a usage error: exit 2, one line of cause and one of fix', (argv, message) => {
    const app = tempApp();
    const { code, out, err } = jobline(argv, app);
    expect({ code, out, err }).toEqual({ code: 2, out: '', err: message });
    expect(existsSync(path.join(app, 'lib'))).toBe(false);
  });

  it('writes the three files of another app, and refuses an existing folder (exit 1)', () => {
    const app = tempApp();
    const made = jobline(['job', 'send-email', '--dir', 'src/jobs'], app);
    expect(made.code).toBe(0);
    for (const file of ['type.ts', 'handler.ts', 'handler.test.ts']) expect(existsSync(path.join(app, 'src/jobs/send-email', file))).toBe(true);
    expect(made.out).toContain(
      "register it: add to your stack (the file that calls new Jobline(...))\n  import { sendEmail } from './jobs/send-email/handler';\n  jobs.addJobType(sendEmail);",
    );

    mkdirSync(path.join(app, 'lib/jobs/taken'), { recursive: true });
    const refused = jobline(['job', 'taken'], app);
    expect(refused).toEqual({ code: 1, out: '', err: 'jobline: lib/jobs/taken exists already\n  fix: choose another name, or move that folder away first' });
  });

  it("jobline's repository with --dir: the job is registered in app/jobs/index.ts, the list the stack reads", () => {
    const repo = tempApp();
    mkdirSync(path.join(repo, 'shared/jobs'), { recursive: true });
    writeFileSync(path.join(repo, 'shared/jobs/define.ts'), '');
    cpSync(path.join(PACKAGE_ROOT, 'app/jobs/index.ts'), path.join(repo, 'app/jobs/index.ts'), { recursive: true });
    const made = jobline(['job', 'send-email', '--dir', 'other/jobs'], repo);
    expect(made.code).toBe(0);
    expect(existsSync(path.join(repo, 'other/jobs/send-email/handler.ts'))).toBe(true);
    expect(made.out).toContain('registered send-email in app/jobs/index.ts');
    expect(readFileSync(path.join(repo, 'app/jobs/index.ts'), 'utf8')).toContain("import { sendEmail } from '../../other/jobs/send-email/handler';");
  });
});
