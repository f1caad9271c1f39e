import { defineConfig } from 'vitest/config';

// `npm test`: unit, infra and integration tests. The emulators the integration tests need (DynamoDB Local,
// SQS) are started once by the global setup on free ports, and stopped at the end.
//
// Two test files at a time: most integration files spend their time waiting on child processes (a local
// runtime's workers, a CLI), so one worker left a core idle (Vitest's default on two cores is one). The
// files that measure time against a model run afterwards, alone, so that no other file's load moves what
// they measure.
const MEASURES_TIME = ['test/integration/plan-reality.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/support/emulators.global.ts'],
    setupFiles: ['test/support/aws-env.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts', 'test/integration/**/*.test.ts', 'app/jobs/**/*.test.ts'],
          exclude: MEASURES_TIME,
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: 'measured alone', include: MEASURES_TIME, sequence: { groupOrder: 1 } } },
    ],
  },
});
