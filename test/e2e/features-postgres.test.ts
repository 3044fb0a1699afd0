/*
 * PostgreSQL clients through the features beyond the official client: psql over a unix socket
 * (the `.s.PGSQL.<port>` name psql looks for), a target found by its Name tag, and pg clients
 * spread over a pool of sessions. Uses the real server the test run started
 * (test/helpers/postgres-server.ts), or SSM_TUNNEL_TEST_PG's.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { optionalTool } from '../helpers/tools.js';

const run = promisify(execFile);

const DATABASE_URL = new URL(inject('postgresUrl'));
const psql = optionalTool('psql', 'apt-get install postgresql-client');
const DB_NODE = 'i-0d0d0d0d0d0d0d0d1';
const PORT = Number(DATABASE_URL.port || 5432);

describe('PostgreSQL through a unix socket and a session pool', () => {
  let emulator: Emulator;
  let dir: string;
  let socketTunnel: Tunnel;
  let pooled: Tunnel;

  beforeAll(async () => {
    emulator = await startEmulator({
      pacing: false,
      targets: { [DB_NODE]: { tags: { Name: 'db-bastion' }, allowedDestinations: [`${DATABASE_URL.hostname}:${PORT}`] } },
    });
    dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-pg-'));
    const common = {
      target: 'name:db-bastion',
      remoteHost: DATABASE_URL.hostname,
      remotePort: PORT,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
    };
    socketTunnel = await openTunnel({ ...common, localSocket: { path: join(dir, `.s.PGSQL.${PORT}`), mode: 0o600 } });
    pooled = await openTunnel({ ...common, sessions: 3 });
  });

  afterAll(async () => {
    await socketTunnel?.close();
    await pooled?.close();
    await emulator?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(psql.skipReason !== undefined)('answers psql over the unix socket', async () => {
    const { stdout } = await run(
      psql.path!,
      ['-h', dir, '-p', String(PORT), '-U', decodeURIComponent(DATABASE_URL.username), '-d', DATABASE_URL.pathname.slice(1), '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', "select 'via ' || 'unix socket', 6 * 7;"],
      { env: { ...process.env, PGPASSWORD: decodeURIComponent(DATABASE_URL.password) } },
    );
    expect(stdout.trim()).toBe('via unix socket|42');
    expect(socketTunnel.stats.targetId).toBe(DB_NODE);
  });

  it('spreads 9 pg clients over 3 sessions, each result exact', async () => {
    const url = new URL(DATABASE_URL);
    url.hostname = '127.0.0.1';
    url.port = String(pooled.localPort);
    const clients = Array.from({ length: 9 }, () => new pg.Client({ connectionString: url.toString() }));
    for (const client of clients) await client.connect();
    try {
      expect(pooled.stats.sessions.map((s) => s.openConnections)).toEqual([3, 3, 3]);
      const results = await Promise.all(
        clients.map(async (client, i) => {
          const { rows } = await client.query<{ n: number }>('select $1::int * 7 as n', [i]);
          return rows[0]!.n;
        }),
      );
      expect(results).toEqual(clients.map((_, i) => i * 7));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });
});
