import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'e2e/**/*.test.ts'],
    // The e2e tests need the built web app (web/dist); this builds it when missing or stale.
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start their own servers on ephemeral ports; two workers keep a 2-core machine responsive.
    maxWorkers: 2,
  },
});
