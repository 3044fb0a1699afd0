/*
 * A library tunnel stopped at any stage of its session's start (close(), or openTunnel's signal)
 * leaves no session open at the service.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { openTunnel, Tunnel } from '../../src/tunnel/tunnel.js';
import type { TunnelOptions } from '../../src/tunnel/options.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { handshakenSession, sessionsNotTerminated, START_STAGES, type StartStage } from '../helpers/start-stages.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

describe('a library tunnel stopped while its session starts', () => {
  let emulator: Emulator | undefined;
  let destination: Destination | undefined;
  const tunnels: Tunnel[] = [];

  afterEach(async () => {
    await Promise.all(tunnels.splice(0).map((tunnel) => tunnel.close()));
    await emulator?.close();
    await destination?.close();
  });

  async function setUp(stage: StartStage): Promise<TunnelOptions> {
    destination = await echoServer();
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    stage.arrange(emulator);
    return {
      target: TARGET,
      remoteHost: '127.0.0.1',
      remotePort: destination.port,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: { ...emulator.credentials },
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    };
  }

  /** Waits until the stage is reached, after provoking it once the session is up where it needs that. */
  async function reach(stage: StartStage): Promise<void> {
    const service = emulator!;
    if (stage.provoke !== undefined) {
      await waitFor(() => handshakenSession(service) !== undefined, 'the session to be up');
      stage.provoke(service, handshakenSession(service)!);
    }
    await waitFor(() => stage.reached(service), stage.name);
  }

  for (const stage of START_STAGES) {
    it(`close() during "${stage.name}" terminates every session the emulator created`, async () => {
      const options = await setUp(stage);
      const tunnel = await Tunnel.start(options);
      tunnels.push(tunnel);
      await reach(stage);
      await tunnel.close();
      expect(emulator!.record.sessions.length).toBeGreaterThan(0);
      expect(sessionsNotTerminated(emulator!)).toEqual([]);
      expect(tunnel.state).toBe('closed');
    });

    if (stage.provoke !== undefined) continue;
    it(`openTunnel's signal during "${stage.name}" rejects with ERR_ABORTED after terminating the session`, async () => {
      const options = await setUp(stage);
      const controller = new AbortController();
      const opening = openTunnel({ ...options, signal: controller.signal });
      const settled = opening.then(
        () => undefined,
        (error: unknown) => error,
      );
      await reach(stage);
      controller.abort();
      expect(await settled).toMatchObject({ code: ErrorCode.ABORTED, retryable: false });
      expect(sessionsNotTerminated(emulator!)).toEqual([]);
    });
  }
});
