/*
 * pg through the SOCKS5 proxy to a real PostgreSQL: the proxy carries a real protocol byte for byte,
 * many clients share the destination's one session.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { openProxy, type ProxyServer } from '../../src/index.js';
import { SocksStream } from '../helpers/socks-client.js';

/** The real server the test run started (test/helpers/postgres-server.ts), or SSM_TUNNEL_TEST_PG's. */
const DATABASE_URL = new URL(inject('postgresUrl'));
const TARGET = 'i-0a1b2c3d4e5f60718';

describe('PostgreSQL through the SOCKS5 proxy', () => {
  let emulator: Emulator;
  let proxy: ProxyServer;

  beforeAll(async () => {
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    proxy = await openProxy({
      target: TARGET,
      localPort: 0,
      allow: [`${DATABASE_URL.hostname}:${DATABASE_URL.port || 5432}`],
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
    });
  });

  afterAll(async () => {
    await proxy?.close();
    await emulator?.close();
  });

  it('serves 8 concurrent pg clients through one session of the destination, each result exact', async () => {
    const clients = Array.from({ length: 8 }, () => new pg.Client({ connectionString: DATABASE_URL.toString(), stream: () => new SocksStream(proxy.localPort) }));
    await Promise.all(clients.map((client) => client.connect()));
    try {
      const results = await Promise.all(
        clients.map((client, i) => client.query<{ n: number; total: string }>('select $1::int as n, sum(x)::text as total from generate_series(1, 20000) as x', [i])),
      );
      expect(results.map((r) => r.rows[0])).toEqual(clients.map((_, i) => ({ n: i, total: '200010000' })));
      const big = await clients[0]!.query<{ payload: string }>("select repeat('ssm', 400000) as payload");
      expect(big.rows[0]!.payload).toBe('ssm'.repeat(400_000));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    expect(emulator.record.sessions).toHaveLength(1);
    expect(emulator.record.sessions[0]!.parameters.host).toEqual([DATABASE_URL.hostname]);
  });
});
