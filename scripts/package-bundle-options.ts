/**
 * How the npm package's modules are bundled (scripts/build-package.ts), shared with the tests that run the
 * CLI as the package ships it (test/support/jobline-cli.ts): ES modules for Node 20 and later, dependencies
 * left as imports for the installing app to resolve.
 */
import type { BuildOptions } from 'esbuild';

export const PACKAGE_BUNDLE_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
} as const satisfies BuildOptions;
