/*
 * `ssm-tunnel open` stopped with Ctrl-C (SIGINT) or SIGTERM at any stage of its session's start
 * exits 0 and leaves no session open at the service. Needs `npm run build`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { handshakenSession, sessionsNotTerminated, START_STAGES } from '../helpers/start-stages.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

describe('ssm-tunnel open stopped while its session starts', () => {
  let emulator: Emulator | undefined;
  let destination: Destination | undefined;
  let cli: CliProcess | undefined;

  afterEach(async () => {
    await cli?.kill();
    await emulator?.close();
    await destination?.close();
  });

  for (const stage of START_STAGES) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal} during "${stage.name}" exits 0 and terminates every session the emulator created`, async () => {
        destination = await echoServer();
        const service = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
        emulator = service;
        stage.arrange(service);
        cli = spawnCli(
          ['open', '--target', TARGET, '--remote-host', '127.0.0.1', '--remote-port', String(destination.port), '--endpoint', service.endpoint, '--region', service.region],
          { env: { AWS_ACCESS_KEY_ID: service.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: service.credentials.secretAccessKey } },
        );
        if (stage.provoke !== undefined) {
          await waitFor(() => handshakenSession(service) !== undefined, 'the session to be up');
          stage.provoke(service, handshakenSession(service)!);
        }
        await waitFor(() => stage.reached(service), stage.name);
        cli.child.kill(signal);
        expect(await cli.exited).toEqual({ code: ExitCode.OK, signal: null });
        expect(service.record.sessions.length).toBeGreaterThan(0);
        expect(sessionsNotTerminated(service)).toEqual([]);
      });
    }
  }
});
