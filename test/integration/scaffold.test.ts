// `jobline new job <name>` as a developer runs it: in a copy of this repository (its app/jobs copied, the rest
// linked) and in another CDK app (test/consumer-app, with `jobline` resolving to this repository's sources).
// What it writes typechecks, is formatted, and its generated tests pass as written; nothing lands in app/jobs.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/paths';

const R = PACKAGE_ROOT;
const bin = {
  jobline: [path.join(R, 'node_modules/tsx/dist/cli.mjs'), path.join(R, 'cli/bin.ts')],
  tsc: [path.join(R, 'node_modules/typescript/bin/tsc')],
  prettier: [path.join(R, 'node_modules/prettier/bin/prettier.cjs')],
  vitest: [path.join(R, 'node_modules/vitest/vitest.mjs')],
};

interface Ended {
  code: number | null;
  output: string;
}

function run(args: string[], cwd: string, timeoutMs = 240_000): Promise<Ended> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  // The generated tests start their own emulators (vitest's global setup), as in a developer's shell.
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_OPTIONS']) delete env[name];
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, output: stripVTControlCharacters(output) });
    });
  });
}

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

const appJobs = () => ({ entries: readdirSync(path.join(R, 'app/jobs')).sort(), index: readFileSync(path.join(R, 'app/jobs/index.ts'), 'utf8') });

describe("jobline new job, in jobline's repository", () => {
  it('writes a leased and a transactional job type, registers them, and they typecheck, are formatted and their tests pass', async () => {
    const before = appJobs();
    // A copy of the repository: app/jobs copied (the index is edited there), the rest linked.
    const copy = tempDir('jobline-scaffold-repo-');
    for (const dir of ['node_modules', 'shared', 'test', 'infra', 'local']) symlinkSync(path.join(R, dir), path.join(copy, dir));
    mkdirSync(path.join(copy, 'app'));
    cpSync(path.join(R, 'app/jobs'), path.join(copy, 'app/jobs'), { recursive: true });
    for (const file of ['package.json', '.prettierrc.json']) cpSync(path.join(R, file), path.join(copy, file));
    writeFileSync(path.join(copy, 'tsconfig.json'), JSON.stringify({ extends: path.join(R, 'tsconfig.json'), include: ['app/jobs'], exclude: ['node_modules'] }));
    // The repository's vitest settings, looking for tests under app/jobs as well.
    writeFileSync(
      path.join(copy, 'vitest.config.ts'),
      [
        "import { defineConfig } from 'vitest/config';",
        "export default defineConfig({ test: { include: ['app/jobs/**/*.test.ts'], globalSetup: ['test/support/emulators.global.ts'], setupFiles: ['test/support/aws-env.setup.ts'], testTimeout: 60_000, hookTimeout: 120_000, pool: 'forks' } });",
        '',
      ].join('\n'),
    );

    const leased = await run([...bin.jobline, 'new', 'job', 'greet-user'], copy);
    expect(leased.code).toBe(0);
    expect(leased.output.split('\n').slice(0, 4)).toEqual([
      'created app/jobs/greet-user/type.ts',
      'created app/jobs/greet-user/handler.ts',
      'created app/jobs/greet-user/handler.test.ts',
      'registered greet-user in app/jobs/index.ts (the stack adds every job type listed there)',
    ]);
    expect(leased.output).toContain('test it: npx vitest run app/jobs/greet-user/handler.test.ts');
    const transactional = await run([...bin.jobline, 'new', 'job', 'add-points', '--kind', 'transactional'], copy);
    expect(transactional.code).toBe(0);

    // Relative imports of the repository's modules, as app/jobs/transfer's.
    const type = readFileSync(path.join(copy, 'app/jobs/greet-user/type.ts'), 'utf8');
    expect(type).toContain("import { defineJobType } from '../../../shared/jobs/define';");
    expect(type).toContain("name: 'greet-user',");
    expect(type).toContain("kind: 'leased',");
    const handler = readFileSync(path.join(copy, 'app/jobs/add-points/handler.ts'), 'utf8');
    expect(handler).toContain("import { defineJob } from '../../../shared/jobs/define';");
    expect(handler).toContain('TableName: ctx.tableName,');
    const index = readFileSync(path.join(copy, 'app/jobs/index.ts'), 'utf8');
    expect(index).toContain("import { greetUser } from './greet-user/handler';\nimport { addPoints } from './add-points/handler';\n");
    expect(index).toMatch(/export const jobTypes: readonly JobType\[\] = \[transfer, webhook, greetUser, addPoints\];/);

    // An existing folder is refused, and so is an invalid name: one line of cause, one of fix.
    const again = await run([...bin.jobline, 'new', 'job', 'greet-user'], copy);
    expect(again.code).toBe(1);
    expect(again.output.trim().split('\n')).toEqual(['jobline: app/jobs/greet-user exists already', '  fix: choose another name, or move that folder away first']);
    const invalid = await run([...bin.jobline, 'new', 'job', 'Greet_User'], copy);
    expect(invalid.code).toBe(2);
    expect(invalid.output.trim().split('\n')).toHaveLength(2);

    const files = ['app/jobs/greet-user', 'app/jobs/add-points', 'app/jobs/index.ts'];
    const [typecheck, format] = await Promise.all([run([...bin.tsc, '--noEmit', '-p', 'tsconfig.json'], copy), run([...bin.prettier, '--check', ...files], copy)]);
    expect(typecheck.output).toBe('');
    expect(typecheck.code).toBe(0);
    expect(format.code, format.output).toBe(0);

    const tests = await run([...bin.vitest, 'run', '--root', copy, '--config', path.join(copy, 'vitest.config.ts')], copy);
    expect(tests.code, tests.output).toBe(0);
    expect(tests.output).toMatch(/Tests\s+4 passed \(4\)/);

    // Nothing was written into this repository's app/jobs.
    expect(appJobs()).toEqual(before);
  }, 600_000);
});

describe('jobline new job, in another app', () => {
  it("writes job types that import jobline, prints the stack's exact lines, and they typecheck and their tests pass", async () => {
    const app = tempDir('jobline-scaffold-app-');
    cpSync(path.join(R, 'test/consumer-app'), app, { recursive: true });
    // node_modules: this repository's, with `jobline` resolving to its sources (as the installed package would).
    mkdirSync(path.join(app, 'node_modules/jobline'), { recursive: true });
    for (const entry of readdirSync(path.join(R, 'node_modules'))) symlinkSync(path.join(R, 'node_modules', entry), path.join(app, 'node_modules', entry));
    writeFileSync(path.join(app, 'node_modules/jobline/package.json'), JSON.stringify({ name: 'jobline', type: 'module', exports: { '.': './index.ts', './cdk': './cdk.ts' } }));
    writeFileSync(path.join(app, 'node_modules/jobline/index.ts'), `export * from '${path.join(R, 'index')}';\n`);
    writeFileSync(path.join(app, 'node_modules/jobline/cdk.ts'), `export * from '${path.join(R, 'cdk')}';\n`);

    // Without vitest in the app, the test is a node:test one.
    const leased = await run([...bin.jobline, 'new', 'job', 'send-email'], app);
    expect(leased.code).toBe(0);
    expect(leased.output.split('\n').slice(0, 6)).toEqual([
      'created lib/jobs/send-email/type.ts',
      'created lib/jobs/send-email/handler.ts',
      'created lib/jobs/send-email/handler.test.ts',
      'register it: add to lib/stack.ts',
      "  import { sendEmail } from './jobs/send-email/handler';",
      '  jobs.addJobType(sendEmail);',
    ]);
    expect(leased.output).toContain('test it: node --import tsx --test lib/jobs/send-email/handler.test.ts');
    // With vitest in the app, a vitest one.
    const pkg = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8'));
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ ...pkg, devDependencies: { vitest: '*' } }));
    const transactional = await run([...bin.jobline, 'new', 'job', 'add-points', '--kind', 'transactional'], app);
    expect(transactional.code).toBe(0);
    expect(transactional.output).toContain("  import { addPoints } from './jobs/add-points/handler';\n  jobs.addJobType(addPoints);\n");
    expect(transactional.output).toContain('test it: npx vitest run lib/jobs/add-points/handler.test.ts');
    for (const file of ['send-email/type.ts', 'send-email/handler.ts', 'add-points/handler.ts'])
      expect(readFileSync(path.join(app, 'lib/jobs', file), 'utf8')).toMatch(/from 'jobline';/);
    expect(existsSync(path.join(app, 'lib/jobs/index.ts'))).toBe(false);

    // The printed lines, added to the stack as printed, typecheck with the rest.
    const stackFile = path.join(app, 'lib/stack.ts');
    const stack = readFileSync(stackFile, 'utf8');
    const printed = (output: string) => output.split('\n').filter((l) => l.startsWith('  '));
    const [importEmail, addEmail] = printed(leased.output).map((l) => l.trim());
    const [importPoints, addPoints] = printed(transactional.output).map((l) => l.trim());
    writeFileSync(
      stackFile,
      stack
        .replace("import { tally } from './jobs/tally/handler';", `import { tally } from './jobs/tally/handler';\n${importEmail}\n${importPoints}`)
        .replace('jobs.addJobType(tally);', `jobs.addJobType(tally);\n    ${addEmail}\n    ${addPoints}`),
    );
    expect(readFileSync(stackFile, 'utf8')).toContain('jobs.addJobType(sendEmail);');

    const [typecheck, nodeTest, vitest] = await Promise.all([
      run([...bin.tsc, '--noEmit', '-p', 'tsconfig.json'], app),
      run(['--import', 'tsx', '--test', 'lib/jobs/send-email/handler.test.ts'], app),
      run([...bin.vitest, 'run', '--root', app, 'lib/jobs/add-points'], app),
    ]);
    expect(typecheck.output).toBe('');
    expect(typecheck.code).toBe(0);
    expect(nodeTest.code, nodeTest.output).toBe(0);
    expect(nodeTest.output).toMatch(/# pass 2\n# fail 0/);
    expect(vitest.code, vitest.output).toBe(0);
    expect(vitest.output).toMatch(/Tests\s+2 passed \(2\)/);
  }, 600_000);
});
