/*
 * The daemon's companion commands as real processes: `check`, `up` with an invalid config,
 * `status`, a second SIGTERM, and `demo --once`. Needs `npm run build`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/tunnel-status.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { daemonConfigYaml } from '../helpers/daemon-config.js';
import { closedPort, echoServer, type Destination } from '../helpers/destinations.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { waitFor } from '../helpers/wait.js';

const EXAMPLE = fileURLToPath(new URL('../../config.example.yaml', import.meta.url));
const ONLINE = 'i-0000000000000000a';
const OFFLINE = 'i-0000000000000000b';

/** An invalid config with two errors; `54x2` is on line 6, column 11. */
const INVALID = ['tunnels:', '  - name: db', '    target: i-0123456789abcdef0', '    local: { port: 15432 }', '    remote:', '      port: 54x2', '  - name: db', '    target: i-2', '    remote: { port: 1 }', '    local: { port: 1 }', ''].join('\n');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-e2e-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ssm-tunnel check', () => {
  it('prints the tunnels of config.example.yaml and exits 0', async () => {
    const result = await runCli(['check', '--config', EXAMPLE]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('ssm-tunnel');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`${EXAMPLE}: valid, 6 tunnels`);
    expect(lines[2]).toMatch(/^NAME\s+LISTEN\s+TARGET\s+REMOTE$/);
    expect(lines[3]).toMatch(/^orders-db\s+127\.0\.0\.1:15432\s+i-0123456789abcdef0\s+orders\.cluster-abc\.eu-west-1\.rds\.amazonaws\.com:5432$/);
    expect(lines[4]).toMatch(/^admin-ui\s+127\.0\.0\.1:18080\s+i-0fedcba9876543210\s+\(target\):8080$/);
    expect(lines[5]).toMatch(/^reporting-redis\s+\[::1\]:16379\s+mi-0123456789abcdef0\s+reporting\.abc123\.0001\.euw2\.cache\.amazonaws\.com:6379$/);
    expect(lines[6]).toMatch(/^bastion-db\s+unix:\/run\/ssm-tunnel\/\.s\.PGSQL\.5432 \(mode 0660\)\s+name:bastion \(4 sessions\)\s+orders\.cluster-abc\.eu-west-1\.rds\.amazonaws\.com:5432$/);
    expect(lines[7]).toMatch(/^ecs-db\s+127\.0\.0\.1:25432\s+ecs:prod\/api\/app\s+orders\.cluster-abc\.eu-west-1\.rds\.amazonaws\.com:5432$/);
    expect(lines[8]).toMatch(/^tagged-api\s+localhost:18443\s+tag:Role=api,Env=prod\s+\(target\):8443$/);
    expect(result.stdout).toContain('Status endpoint: http://127.0.0.1:9170/status\n');
  });

  it('prints every error with file:line:column and exits 2', async () => {
    const file = join(dir, 'invalid.yaml');
    await writeFile(file, INVALID);
    const result = await runCli(['check', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const errors = result.stderr.trimEnd().split('\n');
    expect(errors[0]).toBe(`${file}:6:13 tunnels[0].remote.port: expected an integer 1–65535, got "54x2"`);
    expect(errors[1]).toMatch(new RegExp(`^${file}:7:\\d+ tunnels\\[1\\]\\.name: "db" is already used`));
    expect(errors.at(-1)).toBe(`${file}: invalid (${errors.length - 1} errors)`);
  });

  it('names a missing file and exits 2', async () => {
    const file = join(dir, 'missing.yaml');
    const result = await runCli(['check', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: cannot read the config: no such file\n`);
  });
});

describe('ssm-tunnel up', () => {
  it('starts nothing and exits 2 when the config is invalid', async () => {
    const file = join(dir, 'invalid-up.yaml');
    await writeFile(file, INVALID);
    const result = await runCli(['up', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${file}:6:13 tunnels[0].remote.port: expected an integer 1–65535, got "54x2"\n`);
    expect(result.stderr).toContain(`ssm-tunnel: ${file} is invalid`);
    expect(result.stderr).toContain('nothing started');
  });
});

describe('ssm-tunnel status, and a second SIGTERM', () => {
  let emulator: Emulator;
  let echo: Destination;

  beforeAll(async () => {
    emulator = await startEmulator({ pacing: false, targets: { [ONLINE]: {}, [OFFLINE]: { pingStatus: 'ConnectionLost' } } });
    echo = await echoServer();
  });

  afterAll(async () => {
    await Promise.all([emulator.close(), echo.close()]);
  });

  it('prints the table from the address in the config, exits NOT_READY (4) while a tunnel is not ready, and UNREACHABLE (3) when nobody answers', async () => {
    const statusPort = await closedPort();
    const file = join(dir, 'status.yaml');
    await writeFile(
      file,
      daemonConfigYaml({
        emulator,
        tunnels: [
          { name: 'up', target: ONLINE, remotePort: echo.port },
          { name: 'down', target: OFFLINE, remotePort: echo.port },
        ],
        status: statusPort,
        shutdownGrace: '60s',
      }),
    );
    const daemon = spawnCli(['up', '--config', file]);
    try {
      const statusOf = async (): Promise<DaemonStatus> => (await (await fetch(`http://127.0.0.1:${statusPort}/status`)).json()) as DaemonStatus;
      await daemon.waitForLog((log) => log.msg === 'daemon started', 'the daemon to start');
      await waitFor(async () => {
        const { tunnels } = await statusOf();
        return tunnels[0]?.state === 'ready' && tunnels[1]?.lastError !== null;
      }, 'up ready and down failing');

      const result = await runCli(['status', '--config', file]);
      expect(result.code).toBe(ExitCode.NOT_READY);
      const lines = result.stdout.split('\n');
      expect(lines[1]).toMatch(/^up\s+ready\s+127\.0\.0\.1:\d+\s+i-0+a\s+\(target\):\d+\s+emulator-[0-9a-f]+\s+0\s+0\s+0 B\s+0 B\s+0\s+0$/);
      expect(lines[2]).toMatch(/^down\s+connecting\s+127\.0\.0\.1:\d+\s+i-0+b\s+\(target\):\d+\s+-\s/);
      expect(result.stdout).toMatch(/\ndown: last error: .*i-0000000000000000b.*\n$/);

      const json = await runCli(['status', '--url', `http://127.0.0.1:${statusPort}`, '--json']);
      expect((JSON.parse(json.stdout) as DaemonStatus).tunnels.map((t) => t.name)).toEqual(['up', 'down']);

      const nobody = await runCli(['status', '--url', `http://127.0.0.1:${await closedPort()}`]);
      expect(nobody.code).toBe(ExitCode.UNREACHABLE);
      expect(nobody.stderr).toMatch(/^ssm-tunnel: no status from http:\/\/127\.0\.0\.1:\d+\/status: fetch failed: .*ECONNREFUSED/);

      // An open connection holds the 60 s grace; the second signal does not wait for it.
      const upPort = (await statusOf()).tunnels[0]!.local.port;
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: upPort }, () => resolve(s));
        s.once('error', reject);
      });
      socket.on('error', () => {});
      await waitFor(async () => (await statusOf()).tunnels[0]!.openConnections === 1, 'the connection to be forwarded');
      daemon.child.kill('SIGTERM');
      await daemon.waitForLog((log) => log.msg === 'shutting down', 'the shutdown to begin');
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toEqual({ code: 143, signal: null });
      expect(daemon.logs).toContainEqual(expect.objectContaining({ msg: 'second signal: exiting at once', signal: 'SIGTERM' }));
      socket.destroy();
    } finally {
      await daemon.kill();
    }
  });
});

describe('ssm-tunnel demo --once', () => {
  it('brings up the emulator, a web server and a tunnel, fetches a page through it and exits 0', async () => {
    const result = await runCli(['demo', '--once']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^1\. A web server .* listens on 127\.0\.0\.1:\d+\.$/);
    expect(lines[2]).toMatch(/^3\. A tunnel listens on 127\.0\.0\.1:\d+: SSM session emulator-[0-9a-f]+, agent 3\.3\.1142\.0, mux mode\.$/);
    expect(lines[3]).toMatch(/^4\. Self-check: GET http:\/\/127\.0\.0\.1:\d+\/ through the tunnel\.\.\.$/);
    expect(lines[4]).toBe('   Hello from the web server behind i-0123456789abcdef0: GET /, request #1, carried by SSM Session Manager (emulated).');
  });
});
