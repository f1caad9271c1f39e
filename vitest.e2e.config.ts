import { defineConfig } from 'vitest/config';

// `npm run test:e2e`: the acceptance suite, over HTTP only. It targets JOBLINE_API_URL when set (LocalStack,
// or a deployed stack), and otherwise starts the local runtime itself (embedded emulators, like npm start).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/e2e/target.global.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
