import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { optionalTool } from '../helpers/tools.js';

const run = promisify(execFile);

/** The real server the test run started (test/helpers/postgres-server.ts), or SSM_TUNNEL_TEST_PG's. */
const DATABASE_URL = new URL(inject('postgresUrl'));
const psql = optionalTool('psql', 'apt-get install postgresql-client');
const TARGET = 'i-0a1b2c3d4e5f60718';

function throughTunnel(tunnel: Tunnel): string {
  const url = new URL(DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(tunnel.localPort);
  return url.toString();
}

describe('PostgreSQL through a tunnel', () => {
  let emulator: Emulator;
  let tunnel: Tunnel;

  beforeAll(async () => {
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: { allowedDestinations: [`${DATABASE_URL.hostname}:${DATABASE_URL.port || 5432}`] } } });
    tunnel = await openTunnel({
      target: TARGET,
      remoteHost: DATABASE_URL.hostname,
      remotePort: Number(DATABASE_URL.port || 5432),
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
    });
  });

  afterAll(async () => {
    await tunnel?.close();
    await emulator?.close();
  });

  it.skipIf(psql.skipReason !== undefined)('answers psql queries', async () => {
    const { stdout } = await run(psql.path!, [throughTunnel(tunnel), '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', "select 'through ' || 'ssm', 6 * 7;", '-c', 'select count(*) from generate_series(1, 100000);']);
    expect(stdout.trim().split('\n')).toEqual(['through ssm|42', '100000']);
  });

  it('serves 16 concurrent pg clients in one mux session, each result exact', async () => {
    // Connections the psql test made before this one, if it ran.
    const earlier = emulator.record.sessions.reduce((n, session) => n + session.connections.length, 0);
    const clients = Array.from({ length: 16 }, () => new pg.Client({ connectionString: throughTunnel(tunnel) }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const results = await Promise.all(
        clients.map(async (client, i) => {
          const rows: number[] = [];
          for (let round = 0; round < 10; round++) {
            const { rows: [row] } = await client.query<{ n: number; s: string }>(
              'select $1::int * 1000 + $2::int as n, md5(repeat($1::text, 1000 * ($2::int + 1))) as s',
              [i, round],
            );
            rows.push(row!.n);
          }
          const big = await client.query<{ payload: string }>("select repeat('x', 1000000) || $1::text as payload", [String(i)]);
          return { rows, big: big.rows[0]!.payload };
        }),
      );
      results.forEach((result, i) => {
        expect(result.rows).toEqual(Array.from({ length: 10 }, (_, round) => i * 1000 + round));
        expect(result.big === 'x'.repeat(1_000_000) + String(i)).toBe(true);
      });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const sessions = emulator.record.sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.mode).toBe('mux');
    expect(sessions[0]!.connections.length - earlier).toBe(16);
  });
});
