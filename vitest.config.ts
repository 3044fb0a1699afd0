import { defineConfig } from 'vitest/config';

/** The tests that use a real PostgreSQL server as their destination (test/helpers/postgres-server.ts). */
const POSTGRES_TESTS = ['test/e2e/*postgres*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // An unhandled rejection or exception anywhere in a test process fails the run even when every
    // test passed (vitest's default, stated so nobody turns it off). Child processes the tests
    // start (the CLI) exit with status 70 on one, and the tests check their exit status.
    dangerouslyIgnoreUnhandledErrors: false,
    // Two projects so that the server is started only in runs that include a PostgreSQL test.
    projects: [
      { extends: true, test: { name: 'postgres', include: POSTGRES_TESTS, globalSetup: ['test/helpers/postgres-server.ts'] } },
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: POSTGRES_TESTS } },
    ],
  },
});
