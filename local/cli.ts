/**
 * The `jobline` command (the package's bin). `jobline dev` runs the current directory's CDK app locally
 * (local/dev.ts), `jobline new job <name>` writes a job type (local/scaffold.ts); `jobline --help` lists
 * the commands. Exit codes: 0 done, 1 failed, 2 wrong usage.
 *
 * No `#!` line here: the package build puts it on dist/cli.js (scripts/build-package.ts). In a source file it
 * costs the type-aware lint a second TypeScript program (ESLint hands the parser the text with the `#!` line
 * turned into a comment, which the project service takes for an edit of the file).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../infra/paths';

const USAGE = `usage: jobline <command> [options]

commands:
  dev       run this directory's CDK app on this machine (no Docker, no AWS account):
            synthesize it, start DynamoDB Local and an SQS emulator, run its functions,
            serve its HTTP API, poll its queues. jobline dev --help lists its options.
  new       jobline new job <name> [--kind leased|transactional]: write a job type (type.ts,
            handler.ts, a test) and register it. jobline new --help lists its options.

options:
  -h, --help     this help
  -v, --version  jobline's version`;

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'dev': {
    const { dev } = await import('./dev');
    await dev(rest);
    break;
  }
  case 'new': {
    const { newCommand } = await import('./scaffold');
    process.exitCode = newCommand(rest);
    break;
  }
  case undefined:
  case '-h':
  case '--help':
  case 'help':
    console.log(USAGE);
    break;
  case '-v':
  case '--version': {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    console.log(pkg.version);
    break;
  }
  default:
    console.error(`jobline: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    process.exit(2);
}
