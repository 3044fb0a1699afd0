/*
 * Session pools against the emulator: `sessions: N` starts N sessions, spreads connections over
 * them (least-loaded), keeps each alive on its own, and ends them all at close. Throughput gains
 * are the benchmark's business (bench/session-pool.ts), not asserted here.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { bulkServer, echoServer, type Destination } from '../helpers/destinations.js';
import { bulkTransfer, connectTo, roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(sessions: number, emulatorOptions: EmulatorOptions = {}, destination?: Destination) {
  const dest = destination ?? (await echoServer());
  const emulator: Emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} }, ...emulatorOptions });
  cleanups.push(() => dest.close(), () => emulator.close());
  const tunnel: Tunnel = await openTunnel({
    target: TARGET,
    remoteHost: '127.0.0.1',
    remotePort: dest.port,
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials: emulator.credentials,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    sessions,
  });
  cleanups.push(() => tunnel.close());
  await waitFor(() => tunnel.stats.sessions.every((s) => s.state === 'ready'), `all ${sessions} sessions to be ready`);
  return { emulator, tunnel, dest };
}

/** Writes one byte and waits for its echo: the connection is carried end to end. */
async function echoOnce(socket: Socket): Promise<void> {
  const back = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.write('x');
  await back;
}

describe('session pools', () => {
  it('starts N sessions and spreads connections over them, least-loaded first', async () => {
    const { emulator, tunnel } = await setup(3);
    expect(emulator.record.sessions).toHaveLength(3);
    const sockets: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = await connectTo(tunnel.localPort);
      sockets.push(socket);
      await echoOnce(socket);
    }
    expect(tunnel.stats.sessions.map((s) => s.openConnections)).toEqual([2, 2, 2]);
    expect(emulator.record.sessions.map((s) => s.connections.length)).toEqual([2, 2, 2]);
    expect(tunnel.stats.openConnections).toBe(6);

    // Free two connections on the first session: the next two go there.
    const onFirst = emulator.record.sessions[0]!.connections.map((c) => c.id);
    expect(onFirst).toHaveLength(2);
    for (const socket of [sockets[0]!, sockets[3]!]) socket.destroy();
    await waitFor(() => tunnel.stats.sessions[0]!.openConnections === 0, 'the first session to be idle');
    for (let i = 0; i < 2; i++) {
      const socket = await connectTo(tunnel.localPort);
      sockets.push(socket);
      await echoOnce(socket);
    }
    expect(tunnel.stats.sessions.map((s) => s.openConnections)).toEqual([2, 2, 2]);
    expect(emulator.record.sessions.map((s) => s.connections.length)).toEqual([4, 2, 2]);
    for (const socket of sockets) socket.destroy();
  });

  it('carries parallel bulk transfers byte for byte across the pool', async () => {
    const server = await bulkServer();
    const { emulator, tunnel } = await setup(4, {}, server);
    const size = 2 * 1024 * 1024;
    const results = await Promise.all(Array.from({ length: 8 }, () => bulkTransfer(tunnel.localPort, size, size)));
    await waitFor(() => server.records.length === 8, 'the destination to see 8 finished connections');
    expect(new Set(server.records.map((r) => r.receivedSha256))).toEqual(new Set(results.map((r) => r.sentSha256)));
    expect(new Set(server.records.map((r) => r.sentSha256))).toEqual(new Set(results.map((r) => r.receivedSha256)));
    expect(emulator.record.sessions.map((s) => s.connections.length)).toEqual([2, 2, 2, 2]);
    await waitFor(() => tunnel.stats.bytesDown === 8 * size, 'the aggregated byte count');
    expect(tunnel.stats.bytesUp).toBe(8 * size + 8 * 8);
  });

  it('replaces a lost session on its own while the others keep serving', async () => {
    const { emulator, tunnel } = await setup(2);
    const kept = await connectTo(tunnel.localPort);
    await echoOnce(kept);
    const [first, second] = tunnel.stats.sessions.map((s) => s.sessionId!);
    const keptOn = tunnel.stats.sessions.findIndex((s) => s.openConnections === 1);
    const lost = keptOn === 0 ? second! : first!;
    emulator.session(lost).end('terminated');
    await waitFor(() => tunnel.stats.reconnects === 1 && tunnel.stats.sessions.every((s) => s.state === 'ready'), 'the lost session to be replaced');
    await echoOnce(kept);
    expect(tunnel.stats.sessions[keptOn]!.sessionId).toBe(keptOn === 0 ? first : second);
    expect(emulator.record.sessions).toHaveLength(3);
    const payload = randomBytes(20_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    kept.destroy();
  });

  it('serves two connections at once in basic mode, one per session', async () => {
    const { emulator, tunnel } = await setup(2, { agentVersion: '3.0.0.0' });
    const a = await connectTo(tunnel.localPort);
    const b = await connectTo(tunnel.localPort);
    await Promise.all([echoOnce(a), echoOnce(b)]);
    expect(emulator.record.sessions.map((s) => s.mode)).toEqual(['basic', 'basic']);
    expect(emulator.record.sessions.map((s) => s.connections.length)).toEqual([1, 1]);
    a.destroy();
    b.destroy();
  });

  it('ends every session of the pool at close', async () => {
    const { emulator, tunnel } = await setup(3);
    await tunnel.close();
    await waitFor(() => emulator.record.sessions.every((s) => s.state === 'terminated'), 'every session to be terminated');
    expect(emulator.record.sessions).toHaveLength(3);
    for (const session of emulator.record.sessions) {
      const byFlag = session.flags.some((f) => f.name === 'TerminateSession');
      const byApi = emulator.record.apiCalls.some((c) => c.operation === 'TerminateSession' && c.sessionId === session.sessionId);
      expect(byFlag || byApi).toBe(true);
    }
  });

  it('rejects a pool size out of range', async () => {
    await expect(openTunnel({ target: TARGET, remotePort: 1, sessions: 0 })).rejects.toThrow('openTunnel: sessions must be an integer 1–64, got 0');
  });
});
