import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // An unhandled rejection or exception anywhere in a test process fails the run even when every
    // test passed (vitest's default, stated so nobody turns it off). Child processes the tests
    // start (the CLI) exit with status 70 on one, and the tests check their exit status.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
