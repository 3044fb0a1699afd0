/*
 * The daemon stopped (SIGTERM) or reloaded without a tunnel (SIGHUP) at any stage of that tunnel's
 * session start leaves no session of it open at the service. Needs `npm run build`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { writeDaemonConfig, type TestTunnel } from '../helpers/daemon-config.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { handshakenSession, sessionsNotTerminated, START_STAGES, type StartStage } from '../helpers/start-stages.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';
const OTHER_TARGET = 'i-0fedcba9876543210';

describe('the daemon stopping a tunnel while its session starts', () => {
  let emulator: Emulator | undefined;
  let destination: Destination | undefined;
  let daemon: CliProcess | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await daemon?.kill();
    await emulator?.close();
    await destination?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Starts the daemon with one tunnel to TARGET and waits until its start is in `stage`. */
  async function startInStage(stage: StartStage): Promise<{ service: Emulator; write: (tunnels: TestTunnel[]) => Promise<void> }> {
    destination = await echoServer();
    const service = await startEmulator({ pacing: false, targets: { [TARGET]: {}, [OTHER_TARGET]: {} } });
    emulator = service;
    stage.arrange(service);
    dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-stop-'));
    const file = join(dir, 'tunnels.yaml');
    const write = (tunnels: TestTunnel[]): Promise<void> =>
      writeDaemonConfig(file, { emulator: { endpoint: service.endpoint, region: service.region, credentials: service.credentials }, tunnels, shutdownGrace: '1s' });
    await write([{ name: 'db', target: TARGET, remoteHost: '127.0.0.1', remotePort: destination.port }]);
    daemon = spawnCli(['up', '--config', file]);
    if (stage.provoke !== undefined) {
      await waitFor(() => handshakenSession(service) !== undefined, 'the session to be up');
      stage.provoke(service, handshakenSession(service)!);
    }
    await waitFor(() => stage.reached(service), stage.name);
    return { service, write };
  }

  for (const stage of START_STAGES) {
    it(`SIGTERM during "${stage.name}" exits 0 and terminates every session the emulator created`, async () => {
      const { service } = await startInStage(stage);
      daemon!.child.kill('SIGTERM');
      expect(await daemon!.exited).toEqual({ code: ExitCode.OK, signal: null });
      expect(service.record.sessions.length).toBeGreaterThan(0);
      expect(sessionsNotTerminated(service)).toEqual([]);
    });

    it(`a reload that removes the tunnel during "${stage.name}" terminates its sessions`, async () => {
      const { service, write } = await startInStage(stage);
      await write([{ name: 'other', target: OTHER_TARGET, remoteHost: '127.0.0.1', remotePort: destination!.port }]);
      daemon!.child.kill('SIGHUP');
      await daemon!.waitForLog((log) => typeof log.msg === 'string' && log.msg.startsWith('reloaded:'), 'the reload');
      expect(service.record.sessions.filter((session) => session.target === TARGET).length).toBeGreaterThan(0);
      expect(sessionsNotTerminated(service, TARGET)).toEqual([]);
      daemon!.child.kill('SIGTERM');
      expect(await daemon!.exited).toEqual({ code: ExitCode.OK, signal: null });
    });
  }
});
