import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ErrorCode, InvalidOptionError, openTunnel, SsmTunnelError, type ConnectionSummary, type Tunnel } from '../../src/index.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { bulkServer, closedPort, echoServer, type Destination } from '../helpers/destinations.js';
import { captureLogs } from '../helpers/logs.js';
import { bulkTransfer, connectTo, roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(emulatorOptions: EmulatorOptions = {}, destination?: Destination) {
  const dest = destination ?? (await echoServer());
  const emulator: Emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} }, ...emulatorOptions });
  cleanups.push(() => dest.close(), () => emulator.close());
  const logs = captureLogs();
  const open = async (extra: Partial<Parameters<typeof openTunnel>[0]> = {}): Promise<Tunnel> => {
    const tunnel = await openTunnel({
      target: TARGET,
      remoteHost: '127.0.0.1',
      remotePort: dest.port,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      logger: logs.logger,
      ...extra,
    });
    cleanups.push(() => tunnel.close());
    return tunnel;
  };
  return { dest, emulator, open, logs };
}

describe('openTunnel against the emulator', () => {
  it('forwards a connection byte for byte in mux mode and reports its state', async () => {
    const { open, emulator } = await setup();
    const tunnel = await open();
    expect(tunnel.state).toBe('ready');
    expect(tunnel.localAddress.address).toBe('127.0.0.1');
    const payload = randomBytes(100_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    const session = emulator.record.sessions[0]!;
    expect(session.mode).toBe('mux');
    expect(session.clientVersion).toBe('1.2.677.0');
    expect(session.smuxKeepAlive).toBe(false);
  });

  it('carries 200 concurrent connections of 1 MiB each way in one session, sha256 equal on both ends', async () => {
    const server = await bulkServer();
    const { open, emulator } = await setup({}, server);
    const tunnel = await open();
    const size = 1024 * 1024;
    const results = await Promise.all(Array.from({ length: 200 }, () => bulkTransfer(tunnel.localPort, size, size)));
    await waitFor(() => server.records.length === 200, 'the destination to see 200 finished connections');
    const uploads = new Set(results.map((r) => r.sentSha256));
    const downloads = new Set(results.map((r) => r.receivedSha256));
    expect(results.every((r) => r.received === size)).toBe(true);
    expect(server.records.every((r) => r.received === size)).toBe(true);
    expect(new Set(server.records.map((r) => r.receivedSha256))).toEqual(uploads);
    expect(new Set(server.records.map((r) => r.sentSha256))).toEqual(downloads);
    expect(emulator.record.sessions).toHaveLength(1);
  });

  it('uses basic mode with an old agent: three sequential connections, each byte-exact', async () => {
    const { open, emulator } = await setup({ agentVersion: '3.0.0.0' });
    const tunnel = await open();
    for (let i = 0; i < 3; i++) {
      const payload = randomBytes(50_000 + i);
      expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    }
    const session = emulator.record.sessions[0]!;
    expect(session.mode).toBe('basic');
    await waitFor(() => emulator.record.sessions[0]!.flags.filter((f) => f.name === 'DisconnectToPort').length === 3, 'three DisconnectToPort flags');
  });

  it('fails only the connection whose destination refuses, with a logged reason and ERR_DESTINATION_REFUSED', async () => {
    const { open, logs } = await setup();
    const refused = await closedPort();
    const tunnel = await open();
    const dead = await open({ remotePort: refused });
    const summaries: ConnectionSummary[] = [];
    dead.on('connectionClosed', (summary) => summaries.push(summary));
    const ok = await connectTo(tunnel.localPort);
    const failing = await connectTo(dead.localPort);
    const closed = new Promise<void>((resolve) => failing.on('close', () => resolve()));
    failing.on('error', () => {});
    await closed;
    const payload = randomBytes(10_000);
    const echoed: Buffer[] = [];
    ok.on('data', (c: Buffer) => echoed.push(c));
    ok.write(payload);
    await waitFor(() => Buffer.concat(echoed).length === payload.length, 'echo on the healthy connection');
    expect(Buffer.concat(echoed).equals(payload)).toBe(true);
    ok.destroy();
    await waitFor(() => logs.lines.some((l) => l.msg === 'connection failed' && String(l.reason).includes('ConnectToPortError')), 'a logged reason');
    expect(dead.state).toBe('ready');
    expect(summaries).toEqual([expect.objectContaining({ code: ErrorCode.DESTINATION_REFUSED })]);
  });

  it('finishes a 64 MiB transfer byte-exact across a WebSocket drop (ResumeSession)', async () => {
    const server = await bulkServer();
    const { open, emulator } = await setup({}, server);
    const tunnel = await open();
    const size = 64 * 1024 * 1024;
    const transfer = bulkTransfer(tunnel.localPort, size / 4, size);
    const sessionId = tunnel.sessionId!;
    await waitFor(() => tunnel.stats.openConnections === 1 && (emulator.sessionRecord(sessionId)?.connections[0]?.bytesFromDestination ?? 0) > size / 4, 'a quarter of the download');
    emulator.session(sessionId).dropConnection();
    const result = await transfer;
    await waitFor(() => server.records.length === 1, 'the destination to finish');
    expect(result.receivedSha256).toBe(server.records[0]!.sentSha256);
    expect(server.records[0]!.receivedSha256).toBe(result.sentSha256);
    expect(tunnel.stats.resumes).toBeGreaterThanOrEqual(1);
    expect(tunnel.sessionId).toBe(sessionId);
    expect(emulator.record.apiCalls.some((c) => c.operation === 'ResumeSession')).toBe(true);
  });

  it('stays byte-exact with 5% of messages dropped and 5% duplicated each way', async () => {
    const server = await bulkServer();
    const faults = { drop: { fromClient: 0.05, toClient: 0.05 }, duplicate: { fromClient: 0.05, toClient: 0.05 }, seed: 42 };
    const { open } = await setup({ faults }, server);
    const tunnel = await open();
    const size = 4 * 1024 * 1024;
    const result = await bulkTransfer(tunnel.localPort, size, size);
    await waitFor(() => server.records.length === 1, 'the destination to finish');
    expect(result.receivedSha256).toBe(server.records[0]!.sentSha256);
    expect(server.records[0]!.receivedSha256).toBe(result.sentSha256);
  });

  it('starts a new session after the service ends one (idle timeout, then TerminateSession), and the next connection works', async () => {
    const { open, emulator } = await setup();
    const tunnel = await open();
    const first = tunnel.sessionId!;
    emulator.session(first).end('timed-out');
    await waitFor(() => tunnel.state === 'ready' && tunnel.sessionId !== first, 'a new session after the idle timeout');
    const payload = randomBytes(5000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    const second = tunnel.sessionId!;
    emulator.session(second).end('terminated');
    await waitFor(() => tunnel.state === 'ready' && tunnel.sessionId !== second && tunnel.sessionId !== undefined, 'a new session after TerminateSession');
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    expect(tunnel.stats.reconnects).toBe(2);
  });

  it('makes a connection that arrives while no session is up wait for the next one', async () => {
    const { open, emulator } = await setup();
    const tunnel = await open();
    emulator.rejectNextResumeSessions(0);
    const first = tunnel.sessionId!;
    emulator.session(first).end('terminated');
    const payload = randomBytes(2000);
    const echoed = roundTrip(tunnel.localPort, payload);
    expect((await echoed).equals(payload)).toBe(true);
    expect(tunnel.sessionId).not.toBe(first);
  });

  it('close() sends TerminateSession and frees the port', async () => {
    const { open, emulator } = await setup();
    const tunnel = await open();
    const port = tunnel.localPort;
    const sessionId = tunnel.sessionId!;
    await tunnel.close();
    expect(tunnel.state).toBe('closed');
    await waitFor(() => emulator.sessionRecord(sessionId)?.flags.some((f) => f.name === 'TerminateSession') ?? false, 'the TerminateSession flag');
    await expect(connectTo(port)).rejects.toThrow(/ECONNREFUSED/);
    const again = await open({ localPort: port });
    expect(again.localPort).toBe(port);
  });

  it('listens on IPv6 loopback when asked, and writes the client address the same way in both connection events', async () => {
    const { open } = await setup();
    const tunnel = await open({ localHost: '::1' });
    expect(tunnel.localAddress.address).toBe('::1');
    const opened: string[] = [];
    const closed: string[] = [];
    tunnel.on('connection', (info) => opened.push(info.remoteAddress));
    tunnel.on('connectionClosed', (summary) => closed.push(summary.remoteAddress));
    const payload = randomBytes(3000);
    expect((await roundTrip(tunnel.localPort, payload, '::1')).equals(payload)).toBe(true);
    await waitFor(() => closed.length === 1, 'the connection to close');
    expect(opened[0]).toMatch(/^\[::1\]:\d+$/);
    expect(closed).toEqual(opened);
  });

  it('rejects at once with the service error when the target is unknown, logging that it will not retry', async () => {
    const { open, logs } = await setup();
    const error = await open({ target: 'i-00000000000000000' }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(SsmTunnelError);
    expect(error).toMatchObject({ code: 'TargetNotConnected', name: 'TargetNotConnected', retryable: false, cause: expect.objectContaining({ name: 'TargetNotConnected' }) as unknown });
    const said = logs.lines.filter((line) => String(line.msg).startsWith('cannot start'));
    expect(said).toEqual([expect.objectContaining({ msg: 'cannot start the session; not retrying: the error is permanent', code: 'TargetNotConnected' })]);
  });

  it('rejects with ERR_CONNECT_TIMEOUT when no session comes up in time, and leaves no session open', async () => {
    const { open, emulator } = await setup({ targets: { [TARGET]: { agent: { handshakeDelayMs: 60_000 } } } });
    await expect(open({ connectTimeoutMs: 300 })).rejects.toMatchObject({ code: ErrorCode.CONNECT_TIMEOUT, retryable: true });
    expect(emulator.record.sessions.length).toBeGreaterThan(0);
    expect(emulator.record.sessions.filter((session) => session.state !== 'terminated')).toEqual([]);
  });

  it('rejects ready() on a closed tunnel with ERR_TUNNEL_CLOSED', async () => {
    const { open } = await setup();
    const tunnel = await open();
    await tunnel.close();
    await expect(tunnel.ready()).rejects.toMatchObject({ code: ErrorCode.TUNNEL_CLOSED, retryable: false });
  });

  it('names the invalid option with ERR_INVALID_OPTION, a TypeError', async () => {
    const { open } = await setup();
    const error = await open({ remotePort: 70000 }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_OPTION, retryable: false });
    await expect(open({ remotePort: 70000 })).rejects.toThrow('openTunnel: remotePort must be an integer 1–65535, got 70000');
    await expect(open({ target: '' })).rejects.toThrow(/openTunnel: target must be/);
    await expect(open({ localHost: 'not a host' })).rejects.toThrow(/openTunnel: localHost must be a host name or IP address/);
  });
});
