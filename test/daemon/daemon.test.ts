import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigError, loadConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus, TunnelStatus } from '../../src/daemon/tunnel-status.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { writeDaemonConfig, type TestTunnel } from '../helpers/daemon-config.js';
import { closedPort, echoServer, type Destination } from '../helpers/destinations.js';
import { connectTo, echoRoundTrip, echoThrough } from '../helpers/transfer.js';
import { captureLogs } from '../helpers/logs.js';
import { waitFor } from '../helpers/wait.js';

const ONLINE = 'i-0000000000000000a';
const OFFLINE = 'i-0000000000000000b';

let emulator: Emulator;
let echo: Destination;
let otherEcho: Destination;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ pacing: false, targets: { [ONLINE]: {}, [OFFLINE]: { pingStatus: 'ConnectionLost' } } });
  echo = await echoServer();
  otherEcho = await echoServer();
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-daemon-'));
});

afterAll(async () => {
  await Promise.all([emulator.close(), echo.close(), otherEcho.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Daemons a test started; shut down after it even when it fails. */
const running: Daemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((daemon) => daemon.shutdown()));
});

interface Started {
  daemon: Daemon;
  file: string;
  logs: Record<string, unknown>[];
  write: (tunnels: TestTunnel[]) => Promise<void>;
}

async function startDaemon(name: string, tunnels: TestTunnel[]): Promise<Started> {
  const file = join(dir, `${name}.yaml`);
  const write = (list: TestTunnel[]): Promise<void> => writeDaemonConfig(file, { emulator, tunnels: list, status: '127.0.0.1:0', shutdownGrace: '0s' });
  await write(tunnels);
  const loaded = await loadConfig(file);
  if ('errors' in loaded) throw new Error(loaded.errors.map(formatConfigError).join('\n'));
  const { logger, lines: logs } = captureLogs();
  const daemon = await Daemon.start(loaded.config, { configFile: file, logger });
  running.push(daemon);
  return { daemon, file, logs, write };
}

function tunnelStatus(daemon: Daemon, name: string): TunnelStatus {
  const tunnel = daemon.status().tunnels.find((t) => t.name === name);
  if (tunnel === undefined) throw new Error(`no tunnel ${name} in ${JSON.stringify(daemon.status())}`);
  return tunnel;
}

async function waitReady(daemon: Daemon, name: string): Promise<TunnelStatus> {
  await waitFor(() => daemon.status().tunnels.some((t) => t.name === name && t.state === 'ready'), `tunnel ${name} ready`);
  return tunnelStatus(daemon, name);
}

async function get(daemon: Daemon, path: string, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const address = daemon.statusAddress;
  if (address === undefined) throw new Error('the status endpoint is not listening');
  const response = await fetch(`http://${address.host}:${address.port}${path}`, { method });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('Daemon', () => {
  it('keeps a tunnel whose target is offline retrying, reports it on /healthz, and a reload that removes it makes the daemon healthy', async () => {
    const { daemon, write } = await startDaemon('offline', [
      { name: 'good', target: ONLINE, remotePort: echo.port },
      { name: 'bad', target: OFFLINE, remotePort: echo.port },
    ]);
    const good = await waitReady(daemon, 'good');
    await waitFor(() => tunnelStatus(daemon, 'bad').lastError !== null, 'a failed StartSession for bad');
    expect(tunnelStatus(daemon, 'bad')).toMatchObject({ state: 'connecting', sessionId: null });
    expect(tunnelStatus(daemon, 'bad').lastError).toContain(OFFLINE);

    const unhealthy = await get(daemon, '/healthz');
    expect(unhealthy.status).toBe(503);
    expect(unhealthy.body).toBe('not ready: bad (connecting)\n');
    await echoThrough(good.local.port);

    await write([{ name: 'good', target: ONLINE, remotePort: echo.port }]);
    expect(await daemon.reload()).toEqual({ applied: { added: [], removed: ['bad'], changed: [], unchanged: ['good'] } });
    expect(await get(daemon, '/healthz')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' });
    expect(tunnelStatus(daemon, 'good').sessionId).toBe(good.sessionId);
  });

  it('retries a local port that is taken, without holding up the other tunnels, and binds it once it is free', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busyPort = (blocker.address() as AddressInfo).port;
    const { daemon, logs } = await startDaemon('busy', [
      { name: 'busy', target: ONLINE, remotePort: echo.port, localPort: busyPort },
      { name: 'free', target: ONLINE, remotePort: echo.port },
    ]);
    expect(tunnelStatus(daemon, 'busy')).toMatchObject({ state: 'unbound', local: { host: '127.0.0.1', port: busyPort } });
    expect(tunnelStatus(daemon, 'busy').lastError).toBe(`cannot listen on 127.0.0.1:${busyPort}: the address is already in use`);
    expect(logs).toContainEqual(expect.objectContaining({ tunnel: 'busy', level: 50, msg: 'cannot open the local listener; retrying' }));
    await echoThrough((await waitReady(daemon, 'free')).local.port);

    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    await waitReady(daemon, 'busy');
    expect(tunnelStatus(daemon, 'busy').lastError).toBeNull();
    await echoThrough(busyPort);
  });

  it('on reload restarts a changed tunnel on the same port and leaves an unchanged one and its open connection alone', async () => {
    const fixedPort = await closedPort();
    const before: TestTunnel[] = [
      { name: 'kept', target: ONLINE, remotePort: echo.port },
      { name: 'moved', target: ONLINE, remotePort: echo.port, localPort: fixedPort },
    ];
    const { daemon, write, logs } = await startDaemon('change', before);
    const kept = await waitReady(daemon, 'kept');
    const moved = await waitReady(daemon, 'moved');
    const socket = await connectTo(kept.local.port);
    await echoRoundTrip(socket, 10_000);
    // Byte counts include connections that are still open.
    await waitFor(() => tunnelStatus(daemon, 'kept').bytesDown >= 10_000, 'live byte counts');
    expect(tunnelStatus(daemon, 'kept')).toMatchObject({ openConnections: 1, bytesUp: 10_000, bytesDown: 10_000 });

    const otherConnections = otherEcho.connections;
    await write([before[0]!, { ...before[1]!, remotePort: otherEcho.port }]);
    expect(await daemon.reload()).toEqual({ applied: { added: [], removed: [], changed: ['moved'], unchanged: ['kept'] } });
    const restarted = await waitReady(daemon, 'moved');
    expect(restarted.local.port).toBe(fixedPort);
    expect(restarted.sessionId).not.toBe(moved.sessionId);
    expect(logs.filter((log) => log.tunnel === 'moved' && log.msg === 'cannot open the local listener; retrying')).toEqual([]);
    await echoThrough(fixedPort);
    expect(otherEcho.connections).toBe(otherConnections + 1);
    expect(emulator.sessionRecord(moved.sessionId!)?.flags.map((flag) => flag.name)).toContain('TerminateSession');

    await echoRoundTrip(socket, 10_000);
    expect(tunnelStatus(daemon, 'kept').sessionId).toBe(kept.sessionId);
    socket.destroy();
    expect(logs.filter((log) => log.msg === 'reloaded: 0 added, 0 removed, 1 changed, 1 unchanged')).toHaveLength(1);
  });

  it('rejects an invalid config on reload and keeps every tunnel running', async () => {
    const { daemon, file, logs } = await startDaemon('invalid', [{ name: 'steady', target: ONLINE, remotePort: echo.port }]);
    const steady = await waitReady(daemon, 'steady');
    await writeFile(file, 'tunnels:\n  - name: steady\n    target: i-1\n    remote: { port: 70000 }\n    local: { port: 0 }\n');
    const result = await daemon.reload();
    expect(result).toEqual({ rejected: [expect.objectContaining({ file, line: 4, path: 'tunnels[0].remote.port' })] });
    expect(logs).toContainEqual(expect.objectContaining({ level: 50, msg: `${file}:4:21 tunnels[0].remote.port: expected an integer 1–65535, got 70000` }));
    expect(tunnelStatus(daemon, 'steady')).toMatchObject({ state: 'ready', sessionId: steady.sessionId });
    await echoThrough(steady.local.port);
  });

  it('keeps reloading and shuts down after a reload that failed part-way (its log destination threw)', async () => {
    const file = join(dir, 'failing-reload.yaml');
    await writeDaemonConfig(file, { emulator, tunnels: [{ name: 'first', target: ONLINE, remotePort: echo.port }], shutdownGrace: '0s' });
    const loaded = await loadConfig(file);
    if ('errors' in loaded) throw new Error(loaded.errors.map(formatConfigError).join('\n'));
    // A destination that fails once, on the reload's summary line: the reload fails after applying.
    let failed = false;
    const destination = {
      write(line: string): void {
        if (!failed && line.includes('"reloaded:')) {
          failed = true;
          throw new Error('log destination failed');
        }
      },
    };
    const daemon = await Daemon.start(loaded.config, { configFile: file, logger: pino({ level: 'info' }, destination) });
    running.push(daemon);
    await writeDaemonConfig(file, { emulator, tunnels: [{ name: 'second', target: ONLINE, remotePort: echo.port }], shutdownGrace: '0s' });
    const first = await daemon.reload();
    expect(first).toMatchObject({ failed: { message: 'log destination failed' } });
    await writeDaemonConfig(file, { emulator, tunnels: [{ name: 'third', target: ONLINE, remotePort: echo.port }], shutdownGrace: '0s' });
    expect(await daemon.reload()).toEqual({ applied: { added: ['third'], removed: ['second'], changed: [], unchanged: [] } });
    await echoThrough((await waitReady(daemon, 'third')).local.port);
    await daemon.shutdown();
  });

  it('serves /status, /metrics and refuses other methods and paths', async () => {
    const { daemon } = await startDaemon('http', [{ name: 'web', target: ONLINE, remotePort: echo.port, remoteHost: '127.0.0.1' }]);
    const web = await waitReady(daemon, 'web');
    await echoThrough(web.local.port);
    await waitFor(() => tunnelStatus(daemon, 'web').openConnections === 0, 'the connection to be closed');

    const status = await get(daemon, '/status');
    expect(status.type).toBe('application/json; charset=utf-8');
    const body = JSON.parse(status.body) as DaemonStatus;
    expect(body).toMatchObject({ pid: process.pid, configFile: join(dir, 'http.yaml') });
    expect(body.tunnels).toEqual([
      {
        name: 'web',
        state: 'ready',
        since: expect.any(String) as string,
        local: { host: '127.0.0.1', port: web.local.port },
        localSocket: null,
        target: ONLINE,
        targetId: ONLINE,
        remote: { host: '127.0.0.1', port: echo.port },
        sessionId: web.sessionId,
        agentVersion: '3.3.1142.0',
        mode: 'mux',
        openConnections: 0,
        waitingConnections: 0,
        totalConnections: 1,
        failedConnections: 0,
        bytesUp: 65536,
        bytesDown: 65536,
        reconnects: 0,
        resumes: 0,
        lastError: null,
        sessions: [{ state: 'ready', sessionId: web.sessionId, targetId: ONLINE, openConnections: 0 }],
        kind: 'forward',
        destinations: [],
      },
    ]);

    const metrics = await get(daemon, '/metrics');
    expect(metrics.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.body).toContain('# TYPE ssm_tunnel_up gauge\nssm_tunnel_up{tunnel="web"} 1\n');
    expect(metrics.body).toContain('ssm_tunnel_bytes_total{tunnel="web",direction="up"} 65536\n');

    expect((await get(daemon, '/nope')).status).toBe(404);
    const post = await get(daemon, '/status', 'POST');
    expect(post.status).toBe(405);
    expect(post.body).toBe('method POST not allowed; use GET\n');
  });

  it('shuts down: TerminateSession for every session, ports and the status endpoint closed', async () => {
    const { daemon } = await startDaemon('shutdown', [
      { name: 'one', target: ONLINE, remotePort: echo.port },
      { name: 'two', target: ONLINE, remotePort: echo.port },
    ]);
    const tunnels = [await waitReady(daemon, 'one'), await waitReady(daemon, 'two')];
    const statusPort = daemon.statusAddress!.port;
    await daemon.shutdown();
    for (const tunnel of tunnels) {
      const record = emulator.sessionRecord(tunnel.sessionId!);
      expect(record?.flags.map((flag) => flag.name)).toContain('TerminateSession');
      expect(record?.state).toBe('terminated');
      await expect(connectTo(tunnel.local.port)).rejects.toThrow(/ECONNREFUSED/);
    }
    await expect(connectTo(statusPort)).rejects.toThrow(/ECONNREFUSED/);
    expect(await daemon.reload()).toEqual({ skipped: 'shutting down' });
  });
});
