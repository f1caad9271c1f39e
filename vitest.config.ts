import { defineConfig } from 'vitest/config';

// `npm test`: unit, infra and integration tests. The emulators the integration tests need (DynamoDB Local,
// SQS) are started once by the global setup on free ports, and stopped at the end.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts', 'test/integration/**/*.test.ts', 'app/jobs/**/*.test.ts'],
    globalSetup: ['test/support/emulators.global.ts'],
    setupFiles: ['test/support/aws-env.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
