import { defineConfig } from 'vitest/config';

// `npm run test:browser`: the web dashboard driven in headless Chromium (Debian's chromium-headless-shell with
// playwright-core) against a `jobline dev` the suite starts itself (embedded emulators, free ports).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 200_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
