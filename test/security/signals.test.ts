/*
 * Signals a local user or the terminal can send: SIGHUP (the terminal closed) must end `open` as
 * Ctrl-C does, with TerminateSession, and SIGUSR1 must not open Node's inspector in the daemon.
 * Real processes (the built CLI) against the emulator. Needs `npm run build`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { daemonConfigYaml } from '../helpers/daemon-config.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

let emulator: Emulator;
let echo: Destination;
let cli: CliProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  await cli?.kill();
  await Promise.all([emulator.close(), echo.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function setup(): Promise<void> {
  emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
  echo = await echoServer();
}

describe('SIGHUP', () => {
  it('ends `open` like Ctrl-C: the TerminateSession flag reaches the agent and the exit status is 0', async () => {
    await setup();
    cli = spawnCli(['open', '--target', TARGET, '--remote-port', String(echo.port), '--endpoint', emulator.endpoint, '--region', emulator.region], {
      env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey },
    });
    const open = cli;
    await waitFor(() => open.stdout.includes('Waiting for connections...'), 'the tunnel to open');
    const sessionId = /\(session (emulator-[0-9a-f]+)\)/.exec(open.stdout)![1]!;
    open.child.kill('SIGHUP');
    expect(await open.exited).toEqual({ code: 0, signal: null });
    expect(emulator.sessionRecord(sessionId)?.flags.map((flag) => flag.name)).toContain('TerminateSession');
  });
});

describe('SIGUSR1', () => {
  it('does not open the inspector in the daemon, which carries on and stops on SIGTERM', async () => {
    await setup();
    dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-signals-'));
    const file = join(dir, 'daemon.yaml');
    await writeFile(file, daemonConfigYaml({ emulator, tunnels: [{ name: 'db', target: TARGET, remotePort: echo.port }], shutdownGrace: '0s' }), { mode: 0o600 });
    cli = spawnCli(['up', '--config', file]);
    const daemon = cli;
    await daemon.waitForLog((log) => log.msg === 'daemon started', 'the daemon to start');
    daemon.child.kill('SIGUSR1');
    await daemon.waitForLog((log) => typeof log.msg === 'string' && log.msg.startsWith('SIGUSR1 ignored'), 'the daemon to ignore SIGUSR1');
    expect(daemon.stderr).not.toContain('Debugger listening');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.stderr).not.toContain('Debugger listening');
  });
});
