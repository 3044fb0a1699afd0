import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { roundTrip } from '../helpers/transfer.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0fedcba9876543210';

describe('ssm-tunnel open', () => {
  let emulator: Emulator;
  let destination: Destination;
  let cli: CliProcess | undefined;

  afterEach(async () => {
    await cli?.kill();
    await emulator?.close();
    await destination?.close();
  });

  async function start(extra: string[] = []): Promise<CliProcess> {
    destination = await echoServer();
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    cli = spawnCli(
      ['open', '--target', TARGET, '--remote-host', '127.0.0.1', '--remote-port', String(destination.port), '--endpoint', emulator.endpoint, '--region', emulator.region, ...extra],
      { env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey } },
    );
    return cli;
  }

  it('prints the local address, forwards byte-exact, and ends the session on Ctrl-C with exit 0', async () => {
    const open = await start(['--log-format', 'json']);
    await waitFor(() => open.stdout.includes('Waiting for connections...'), 'the ready line');
    const match = /^Forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+) \(session (emulator-[0-9a-f]+)\)$/m.exec(open.stdout);
    expect(match, open.stdout).not.toBeNull();
    const [, localPort, remotePort, sessionId] = match!;
    expect(Number(remotePort)).toBe(destination.port);
    const payload = randomBytes(64 * 1024);
    expect((await roundTrip(Number(localPort), payload)).equals(payload)).toBe(true);
    open.child.kill('SIGINT');
    expect(await open.exited).toEqual({ code: 0, signal: null });
    expect(emulator.sessionRecord(sessionId!)?.flags.map((f) => f.name)).toContain('TerminateSession');
    expect(open.stderr).not.toContain(emulator.credentials.secretAccessKey);
    expect(open.stderr).not.toContain('NodeVersionSupportWarning');
  });

  it('exits 1 naming the service error when the target is unknown', async () => {
    const open = await start();
    open.child.kill('SIGKILL');
    await open.exited;
    cli = spawnCli(['open', '--target', 'i-00000000000000000', '--remote-port', '5432', '--endpoint', emulator.endpoint, '--region', emulator.region], {
      env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey },
    });
    const exit = await cli.exited;
    expect(exit.code).toBe(1);
    expect(cli.stderr).toMatch(/ssm-tunnel: .*TargetNotConnected/);
  });

  it('rejects a bad port before doing anything, with exit status 2', async () => {
    destination = await echoServer();
    emulator = await startEmulator({ targets: {} });
    cli = spawnCli(['open', '--target', TARGET, '--remote-port', 'abc']);
    const exit = await cli.exited;
    expect(exit.code).toBe(2);
    expect(cli.stderr).toMatch(/remote-port/);
  });
});

describe('ssm-tunnel open, beyond the official client', () => {
  let emulator: Emulator;
  let destination: Destination;
  let cli: CliProcess | undefined;

  afterEach(async () => {
    await cli?.kill();
    await emulator?.close();
    await destination?.close();
  });

  it('finds the target by tag, listens on a unix socket with the given mode, and spreads connections over sessions', async () => {
    destination = await echoServer();
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: { tags: { Role: 'bastion', Env: 'test' } }, 'i-0aaaaaaaaaaaaaaaa': { tags: { Role: 'web' } } } });
    const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-open-'));
    const socketPath = join(dir, 'echo.sock');
    cli = spawnCli(
      ['open', '--tag', 'Role=bastion', '--tag', 'Env=test', '--remote-host', '127.0.0.1', '--remote-port', String(destination.port), '--local-socket', socketPath, '--socket-mode', '0600', '--sessions', '2', '--endpoint', emulator.endpoint, '--region', emulator.region],
      { env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey } },
    );
    try {
      await waitFor(() => cli!.stdout.includes('Waiting for connections...'), 'the ready line');
      expect(cli.stdout).toContain(`Forwarding unix:${socketPath} -> 127.0.0.1:${destination.port}`);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      const payload = randomBytes(20_000);
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const socket = createConnection(socketPath, () => socket.write(payload));
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => {
          chunks.push(c);
          if (Buffer.concat(chunks).length >= payload.length) {
            socket.end();
            resolve(Buffer.concat(chunks));
          }
        });
        socket.on('error', reject);
      });
      expect(echoed.equals(payload)).toBe(true);
      await waitFor(() => emulator.record.sessions.length === 2, 'two sessions');
      expect(new Set(emulator.record.sessions.map((s) => s.target))).toEqual(new Set([TARGET]));
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).toBe(0);
      await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
