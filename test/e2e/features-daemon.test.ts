/*
 * The features beyond the official client as the daemon config writes them: targets by name or
 * tag, unix sockets with a mode, session pools; the daemon running them against the emulator; and
 * the pre-flight `ssm-tunnel check --connect` as a real process (needs `npm run build`).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigError, parseConfig, type DaemonConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { closedPort, echoServer, type Destination } from '../helpers/destinations.js';
import { waitFor } from '../helpers/wait.js';

const BASTION = 'i-0aaaaaaaaaaaaaaa1';
const LOCKED = 'i-0bbbbbbbbbbbbbbb2';

let emulator: Emulator;
let echo: Destination;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({
    pacing: false,
    targets: {
      [BASTION]: { tags: { Name: 'bastion', Env: 'prod' }, computerName: 'bastion-1' },
      [LOCKED]: { tags: { Name: 'locked' }, allowedDestinations: ['127.0.0.1:1'] },
    },
  });
  echo = await echoServer();
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-features-'));
});

afterAll(async () => {
  await Promise.all([emulator.close(), echo.close()]);
  await rm(dir, { recursive: true, force: true });
});

function yamlWith(tunnels: Record<string, unknown>[]): string {
  return stringify({
    defaults: {
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: emulator.credentials.accessKeyId, secretAccessKey: emulator.credentials.secretAccessKey },
      reconnect: { initialDelay: '50ms', maxDelay: '500ms' },
    },
    tunnels,
  });
}

function valid(text: string): DaemonConfig {
  const result = parseConfig(text, 'tunnels.yaml');
  if ('errors' in result) throw new Error(result.errors.map(formatConfigError).join('\n'));
  return result.config;
}

function errorsOf(text: string): string[] {
  const result = parseConfig(text, 'tunnels.yaml');
  return 'errors' in result ? result.errors.map(formatConfigError) : [];
}

describe('config: targets by name or tag, unix sockets, session pools', () => {
  it('reads each new form', () => {
    const config = valid(`
tunnels:
  - name: by-name
    target: name:bastion
    remote: { port: 5432 }
    local: { port: 15432 }
  - name: by-tags
    target: { tag: { Role: db, Env: "2024" } }
    remote: { port: 5432 }
    local: { socket: /run/ssm-tunnel/db.sock, mode: "0660" }
    sessions: 4
`);
    expect(config.tunnels[0]).toMatchObject({ target: 'name:bastion', localHost: '127.0.0.1', localPort: 15432, exposed: false });
    expect(config.tunnels[0]!.sessions).toBeUndefined();
    expect(config.tunnels[1]).toMatchObject({ target: { tag: { Role: 'db', Env: '2024' } }, localSocket: { path: '/run/ssm-tunnel/db.sock', mode: 0o660 }, sessions: 4, exposed: false });
    expect(config.tunnels[1]!.localHost).toBeUndefined();
    expect(config.tunnels[1]!.localPort).toBeUndefined();
  });

  it('reports what is wrong with each, at the field', () => {
    expect(
      errorsOf(`
tunnels:
  - name: a
    target: { tag: {} }
    remote: { port: 1 }
    local: { socket: /run/a.sock, port: 5 }
  - name: b
    target: { tag: { Env: 2024 } }
    remote: { port: 1 }
    local: { socket: relative.sock, mode: 0660 }
    sessions: 0
  - name: c
    target: name:x
    remote: { port: 1 }
    local: { port: 7, mode: "0600" }
  - name: d
    target: { Name: x }
    remote: { port: 1 }
    local: { socket: /run/a.sock }
  - name: e
    target: i-1
    remote: { port: 1 }
    local: { socket: /run/a.sock }
`),
    ).toEqual([
      'tunnels.yaml:4:20 tunnels[0].target.tag: expected at least one tag, e.g. { Name: bastion }',
      'tunnels.yaml:6:35 tunnels[0].local.port: a tunnel listens on a unix socket or on TCP: set socket or host/port, not both',
      'tunnels.yaml:8:27 tunnels[1].target.tag.Env: expected a tag value: text of 1–256 characters (quote numbers and true/false), got 2024',
      'tunnels.yaml:10:22 tunnels[1].local.socket: expected an absolute path of at most 107 bytes, e.g. /run/ssm-tunnel/db.sock, got "relative.sock"',
      'tunnels.yaml:10:43 tunnels[1].local.mode: expected octal permission bits as quoted text, like "0660", got 660',
      'tunnels.yaml:11:15 tunnels[1].sessions: expected an integer 1–64, got 0',
      'tunnels.yaml:15:23 tunnels[2].local.mode: mode applies to a unix socket only; add socket: or remove mode',
      'tunnels.yaml:17:5 tunnels[3].target.tag: missing; expected a mapping of tag keys to values, e.g. { Name: bastion }',
      'tunnels.yaml:17:15 tunnels[3].target.Name: unknown key "Name"; expected one of: tag, ecs',
      'tunnels.yaml:23:22 tunnels[4].local.socket: /run/a.sock is already the socket of tunnel "d"',
    ]);
  });
});

describe('the daemon with these features', () => {
  it('runs a tunnel to name:bastion on a unix socket with a pool of two sessions, shows them in its status, and removes the socket at shutdown', async () => {
    const socketPath = join(dir, 'db.sock');
    const config = valid(
      yamlWith([{ name: 'db', target: 'name:bastion', remote: { host: '127.0.0.1', port: echo.port }, local: { socket: socketPath, mode: '0600' }, sessions: 2 }]),
    );
    const daemon = await Daemon.start(config, { configFile: join(dir, 'daemon.yaml'), logger: pino({ level: 'silent' }) });
    try {
      await waitFor(() => daemon.status().tunnels[0]?.state === 'ready', 'the tunnel to be ready');
      const status = daemon.status().tunnels[0]!;
      expect(status).toMatchObject({ localSocket: socketPath, target: 'name:bastion', targetId: BASTION });
      expect((await lstat(socketPath)).mode & 0o777).toBe(0o600);
      const payload = randomBytes(30_000);
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = connect({ path: socketPath });
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (Buffer.concat(chunks).length >= payload.length) {
            socket.end();
            resolve(Buffer.concat(chunks));
          }
        });
        socket.on('error', reject);
        socket.write(payload);
      });
      expect(echoed.equals(payload)).toBe(true);
      await waitFor(() => emulator.record.sessions.filter((s) => s.target === BASTION).length >= 2, 'both pool sessions');
    } finally {
      await daemon.shutdown();
    }
    await expect(lstat(socketPath)).rejects.toThrow(/ENOENT/);
  });
});

describe('ssm-tunnel check --connect', () => {
  it('reports reachable, refused, denied and failed per tunnel, ends every session, and exits 1', async () => {
    const file = join(dir, 'preflight.yaml');
    await writeFile(
      file,
      yamlWith([
        { name: 'web', target: { tag: { Name: 'bastion', Env: 'prod' } }, remote: { host: '127.0.0.1', port: echo.port }, local: { port: 0 } },
        { name: 'closed', target: BASTION, remote: { host: '127.0.0.1', port: await closedPort() }, local: { port: 0 } },
        { name: 'locked', target: 'name:locked', remote: { host: '127.0.0.1', port: echo.port }, local: { port: 0 } },
        { name: 'gone', target: 'name:nobody', remote: { port: 22 }, local: { port: 0 } },
      ]),
    );
    const before = emulator.record.sessions.length;
    const result = await runCli(['check', '--config', file, '--connect']);
    expect(result.code).toBe(1);
    const rows = result.stdout.split('\n').filter((line) => /^(web|closed|locked|gone)\s/.test(line) && /reachable|refused|denied|failed/.test(line));
    expect(rows.map((row) => row.split(/\s+/).slice(0, 3))).toEqual([
      ['web', 'reachable', BASTION],
      ['closed', 'refused', BASTION],
      ['locked', 'denied', 'name:locked'],
      ['gone', 'failed', 'name:nobody'],
    ]);
    expect(rows[3]).toContain('no online managed node with tag Name=nobody');
    const probed = emulator.record.sessions.slice(before);
    expect(probed).toHaveLength(2);
    await waitFor(() => emulator.record.sessions.slice(before).every((s) => s.state === 'terminated'), 'the probe sessions to be terminated');
  });

  it('exits 0 when every destination is reachable', async () => {
    const file = join(dir, 'reachable.yaml');
    await writeFile(file, yamlWith([{ name: 'web', target: 'name:bastion', remote: { host: '127.0.0.1', port: echo.port }, local: { port: 0 } }]));
    const result = await runCli(['check', '--config', file, '--connect']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^web\s+reachable\s+i-0aaaaaaaaaaaaaaa1\s+the agent kept the connection open for 2000 ms$/m);
  });
});
