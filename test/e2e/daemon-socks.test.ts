/*
 * A `kind: socks` tunnel in `ssm-tunnel up`: curl through it, its destinations in /status and
 * /metrics, one log line per request, every session ended on SIGTERM. Needs `npm run build`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { DaemonStatus } from '../../src/daemon/tunnel-status.js';
import { startEmulator } from '../../src/emulator/index.js';
import { spawnCli } from '../helpers/cli.js';
import { curl, CURL_SOCKS_REFUSED, curlSkipReason } from '../helpers/curl.js';

const TARGET = 'i-0123456789abcdef0';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(curlSkipReason !== undefined)('a kind: socks tunnel in the daemon', () => {
  it('proxies, reports its destinations in /status and /metrics, logs each request, and ends its sessions on SIGTERM', async () => {
    const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    cleanups.push(() => emulator.close());
    const server: Server = createServer((_req, res) => res.end('hello through the daemon'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => Promise.resolve(server.closeAllConnections()));
    const webPort = (server.address() as AddressInfo).port;

    const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-socks-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'config.yaml');
    await writeFile(
      configFile,
      stringify({
        defaults: {
          region: emulator.region,
          endpoint: emulator.endpoint,
          credentials: { accessKeyId: emulator.credentials.accessKeyId, secretAccessKey: emulator.credentials.secretAccessKey },
          reconnect: { initialDelay: '50ms', maxDelay: '500ms', factor: 2 },
        },
        log: { level: 'info', format: 'json' },
        status: { listen: '127.0.0.1:0' },
        shutdownGrace: '1s',
        tunnels: [{ name: 'proxy', kind: 'socks', target: TARGET, listen: '127.0.0.1:0', allow: [`127.0.0.1:${webPort}`], idleTimeout: '1m' }],
      }),
      { mode: 0o600 },
    );
    const daemon = spawnCli(['up', '--config', configFile]);
    cleanups.push(() => daemon.kill());
    const listening = await daemon.waitForLog((log) => log.msg === 'status endpoint listening', 'the status endpoint');
    const statusUrl = new URL(String(listening.url)).origin;
    const readStatus = async (): Promise<DaemonStatus> => (await (await fetch(`${statusUrl}/status`)).json()) as DaemonStatus;
    const proxyPort = (await readStatus()).tunnels[0]!.local.port;

    expect(await curl(['--socks5-hostname', `127.0.0.1:${proxyPort}`, `http://127.0.0.1:${webPort}/`])).toMatchObject({ code: 0, stdout: 'hello through the daemon' });
    expect(await curl(['--socks5-hostname', `127.0.0.1:${proxyPort}`, `http://localhost:${webPort}/`])).toMatchObject({ code: CURL_SOCKS_REFUSED });

    const status = (await readStatus()).tunnels[0]!;
    const sessionId = emulator.record.sessions[0]!.sessionId;
    expect(emulator.record.sessions).toHaveLength(1);
    expect(status).toMatchObject({
      name: 'proxy',
      kind: 'socks',
      state: 'ready',
      totalConnections: 2,
      destinations: [{ destination: `127.0.0.1:${webPort}`, state: 'ready', sessionId, targetId: TARGET }],
    });
    const metrics = await (await fetch(`${statusUrl}/metrics`)).text();
    expect(metrics).toContain('ssm_tunnel_proxy_destinations{tunnel="proxy"} 1\n');
    expect(metrics).toContain(`ssm_tunnel_proxy_destination_connections_open{tunnel="proxy",destination="127.0.0.1:${webPort}"} `);
    await daemon.waitForLog((log) => log.msg === `CONNECT 127.0.0.1:${webPort} -> session ${sessionId}`, 'the request log line');
    await daemon.waitForLog((log) => typeof log.msg === 'string' && log.msg.includes(`localhost:${webPort} is not in the proxy's allow list`), 'the denial log line');

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    expect(emulator.record.sessions.map((s) => s.state)).toEqual(['terminated']);
  });
});
