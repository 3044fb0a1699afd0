/*
 * Basic mode serves one connection at a time; the rest wait their turn. A local client that opens
 * thousands of connections may not hold them all open forever: at most 1024 wait, and a waiting
 * connection is closed after connectTimeout, as when no session is up.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { connectTo, roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';
const MAX_WAITING = 1024;
const CONNECTIONS = 2000;

let emulator: Emulator | undefined;
let echo: Destination | undefined;
let tunnel: Tunnel | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await tunnel?.close();
  await Promise.all([emulator?.close(), echo?.close()]);
});

describe('connections waiting their turn in basic mode', () => {
  it(`are capped at ${MAX_WAITING} and closed after connectTimeout; the active one carries on`, async () => {
    emulator = await startEmulator({ agentVersion: '3.0.0.0', pacing: false, targets: { [TARGET]: {} } });
    echo = await echoServer();
    tunnel = await openTunnel({
      target: TARGET,
      remotePort: echo.port,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
      connectTimeoutMs: 10_000,
    });
    expect(tunnel.stats.mode).toBe('basic');
    const active = await connectTo(tunnel.localPort);
    sockets.push(active);
    const echoed = new Promise<Buffer>((resolve) => active.once('data', resolve));
    active.write('first');
    expect((await echoed).toString()).toBe('first');

    let closed = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const socket = await connectTo(tunnel.localPort);
      socket.on('error', () => undefined);
      socket.on('close', () => (closed += 1));
      sockets.push(socket);
    }
    // Those past the cap are refused at once; the cap's worth wait.
    await waitFor(() => closed >= CONNECTIONS - MAX_WAITING, 'the connections past the cap to be refused');
    expect(tunnel.stats.openConnections).toBeLessThanOrEqual(1 + MAX_WAITING);
    // The waiting ones are closed when connectTimeout runs out, none is left open.
    await waitFor(() => closed === CONNECTIONS, 'every waiting connection to be closed', 40_000);
    expect(tunnel.stats.openConnections).toBe(1);
    expect(tunnel.stats.failedConnections).toBe(CONNECTIONS);
    const reply = new Promise<Buffer>((resolve) => active.once('data', resolve));
    active.write('still here');
    expect((await reply).toString()).toBe('still here');
    active.destroy();
    // The next connection gets its turn once the active one is gone.
    await waitFor(() => tunnel!.stats.openConnections === 0, 'the active connection to close');
    expect((await roundTrip(tunnel.localPort, Buffer.from('next'))).toString()).toBe('next');
  });
});
