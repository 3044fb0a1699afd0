/*
 * Pre-flight probes against the emulator: one session, one connection, one verdict, and the
 * session ended afterwards.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { probeTunnel, type ProbeResult } from '../../src/tunnel/probe.js';
import type { TunnelOptions } from '../../src/tunnel/options.js';
import { closedPort, echoServer } from '../helpers/destinations.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';
/** Long enough that a refusal on loopback always arrives first, even on a loaded machine. */
const QUIET_MS = 1500;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emulatorWith(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} }, ...options });
  cleanups.push(() => emulator.close());
  return emulator;
}

function probe(emulator: Emulator, options: Partial<TunnelOptions>): Promise<ProbeResult> {
  return probeTunnel(
    {
      target: TARGET,
      remoteHost: '127.0.0.1',
      remotePort: 1,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
      ...options,
    },
    { quietMs: QUIET_MS },
  );
}

async function allEnded(emulator: Emulator): Promise<void> {
  await waitFor(() => emulator.record.sessions.every((s) => ['terminated', 'failed', 'timed-out'].includes(s.state)), 'every probe session to end');
}

describe('probeTunnel', () => {
  it('reports a listening destination as reachable and ends the session', async () => {
    const emulator = await emulatorWith();
    const echo = await echoServer();
    cleanups.push(() => echo.close());
    const result = await probe(emulator, { remotePort: echo.port });
    expect(result).toEqual({ outcome: 'reachable', detail: `the agent kept the connection open for ${QUIET_MS} ms`, targetId: TARGET });
    expect(echo.connections).toBe(1);
    await allEnded(emulator);
  });

  it('reports a destination that speaks first as reachable at once', async () => {
    const emulator = await emulatorWith();
    const banner: Server = createServer((socket) => socket.write('SSH-2.0-test\r\n'));
    await new Promise<void>((resolve) => banner.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => banner.close(resolve)));
    const result = await probe(emulator, { remotePort: (banner.address() as AddressInfo).port });
    expect(result.outcome).toBe('reachable');
    expect(result.detail).toBe('the destination answered');
  });

  it('reports a closed port as refused (mux mode)', async () => {
    const emulator = await emulatorWith();
    const result = await probe(emulator, { remotePort: await closedPort() });
    expect(result.outcome).toBe('refused');
    expect(result.detail).toMatch(/ConnectToPortError/);
    await allEnded(emulator);
  });

  it('reports a closed port as refused (basic mode, where the session ends)', async () => {
    const emulator = await emulatorWith({ agentVersion: '3.0.0.0' });
    const result = await probe(emulator, { remotePort: await closedPort() });
    expect(result.outcome).toBe('refused');
    expect(result.detail).toMatch(/Unable to connect to specified port/);
  });

  it('reports a destination the target may not reach as denied', async () => {
    const emulator = await emulatorWith({ targets: { [TARGET]: { allowedDestinations: ['127.0.0.1:5432'] } } });
    const result = await probe(emulator, { remotePort: 6379 });
    expect(result.outcome).toBe('denied');
    expect(result.detail).toMatch(/^no session: .*AccessDeniedException/);
    expect(emulator.record.sessions).toHaveLength(0);
  });

  it('reports a destination on the agent deny list as denied', async () => {
    const emulator = await emulatorWith();
    const result = await probe(emulator, { remoteHost: '169.254.169.254', remotePort: 80 });
    expect(result.outcome).toBe('denied');
    expect(result.detail).toMatch(/forbidden/);
  });

  it('reports a target that cannot be found as failed', async () => {
    const emulator = await emulatorWith();
    const result = await probe(emulator, { target: 'name:nothing-here' });
    expect(result).toEqual({ outcome: 'failed', detail: 'no session: no online managed node with tag Name=nothing-here' });
  });
});
