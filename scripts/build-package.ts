/**
 * Builds the npm package into dist/: ES modules bundled by esbuild with code splitting (so a job module's
 * `jobline` import and the worker runtime share one copy of every class, e.g. PermanentError), dependencies
 * left as imports; type declarations by tsc (tsconfig.build.json). `npm pack` runs it (prepack).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { PACKAGE_ROOT } from '../infra/paths';
import { PACKAGE_BUNDLE_OPTIONS } from './package-bundle-options';

const dist = path.join(PACKAGE_ROOT, 'dist');
rmSync(dist, { recursive: true, force: true });
await build({
  absWorkingDir: PACKAGE_ROOT,
  entryPoints: {
    index: 'index.ts',
    cdk: 'cdk.ts',
    cli: 'cli/bin.ts',
    // What the generated function entries import (infra/function-entries.ts).
    'runtime/worker': 'shared/worker/handler.ts',
    'runtime/api': 'shared/api/handler.ts',
    'runtime/sweeper': 'functions/sweeper.ts',
    'runtime/notifier': 'functions/notifier.ts',
    'runtime/callback': 'functions/callback.ts',
    'runtime/lambda-credentials': 'shared/aws/lambda-credentials.ts',
  },
  outdir: dist,
  ...PACKAGE_BUNDLE_OPTIONS,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
// The package's bin runs as an executable (npx jobline): its `#!` line is added here, not kept in cli/bin.ts.
const cli = path.join(dist, 'cli.js');
writeFileSync(cli, `#!/usr/bin/env node\n${readFileSync(cli, 'utf8')}`);
// The local runtime starts each function's execution environment from this file (local/lambda/function-pool.ts).
copyFileSync(path.join(PACKAGE_ROOT, 'local/lambda/bootstrap.mjs'), path.join(dist, 'bootstrap.mjs'));
execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
console.log(`built ${path.relative(process.cwd(), dist) || dist}`);
