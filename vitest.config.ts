import { defineConfig } from 'vitest/config';

// One pair of real Kafka + QuestDB servers is started for the whole run (test/global-setup.ts).
// ISOSCOPE_TEST_NO_SERVICES=1 skips that for quick runs of unit tests; the integration tests then
// fail with a message saying so instead of silently passing.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'data/**', '.isoscope/**'],
    globalSetup: process.env.ISOSCOPE_TEST_NO_SERVICES ? [] : ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    env: { ISOSCOPE_LOG_LEVEL: process.env.ISOSCOPE_LOG_LEVEL ?? 'error' },
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
