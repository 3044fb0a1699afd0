import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openTunnel, type TunnelOptions } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';

/*
 * Ports, hosts and paths from the library, the CLI and the config file are checked before anything
 * listens or calls the service, and each refusal names the field, the value and what was expected.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(mode?: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-input-'));
  if (mode !== undefined) await chmod(dir, mode);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Nothing listens there: a call that got past validation would fail differently. */
const BASE: TunnelOptions = { target: 'i-0123456789abcdef0', remotePort: 5432, endpoint: 'http://127.0.0.1:9', region: 'us-east-1', reconnect: { maxRetries: 0 } };

describe('input validation', () => {
  it.each([
    [{ localPort: 65_536 }, /localPort.*65536/],
    [{ localPort: -1 }, /localPort.*-1/],
    [{ localPort: 80.5 }, /localPort.*80\.5/],
    [{ remotePort: 0 }, /remotePort.*0/],
    [{ remotePort: 70_000 }, /remotePort.*70000/],
    [{ localHost: 'not a host!' }, /localHost.*not a host!/],
    [{ remoteHost: 'db..internal' }, /remoteHost.*db\.\.internal/],
    [{ localSocket: { path: '' } }, /localSocket\.path/],
    [{ localSocket: { path: `/run/${'x'.repeat(120)}` } }, /localSocket\.path/],
    [{ localSocket: { path: '/run/x.sock', mode: 0o1777 } }, /localSocket\.mode/],
  ] as [Partial<TunnelOptions>, RegExp][])('openTunnel refuses %j, naming it', async (extra, message) => {
    await expect(openTunnel({ ...BASE, ...extra })).rejects.toThrow(message);
  });

  it('openTunnel refuses a unix socket in a world-writable directory, and says why', async () => {
    const open = await tempDir(0o777);
    await expect(openTunnel({ ...BASE, localSocket: { path: join(open, 'db.sock') } })).rejects.toThrow(/writable by every user \(mode 0777\)/);
    await expect(openTunnel({ ...BASE, localSocket: { path: join(tmpdir(), 'ssm-tunnel-test.sock') } })).rejects.toThrow(/writable by every user/);
  });

  it('the CLI refuses a bad port and a socket in a world-writable directory with exit 2 and a reason', async () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00', AWS_SECRET_ACCESS_KEY: 'example' };
    const common = ['open', '--target', 'i-0123456789abcdef0', '--remote-port', '5432', '--endpoint', 'http://127.0.0.1:9', '--region', 'us-east-1'];
    const badPort = await runCli([...common, '--local-port', '99999'], { env });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--local-port must be an integer 0–65535');
    const open = await tempDir(0o777);
    const badSocket = await runCli([...common, '--local-socket', join(open, 'db.sock')], { env });
    expect(badSocket.code).toBe(2);
    expect(badSocket.stderr).toMatch(/refusing to listen on unix socket .*writable by every user/);
  });

  it('the config file names the line and field of a bad port, host or socket path', async () => {
    const dir = await tempDir();
    const path = join(dir, 'tunnels.yaml');
    await writeFile(
      path,
      [
        'tunnels:',
        '  - { name: a, target: i-1, remote: { port: 70000 }, local: { port: 1 } }',
        '  - { name: b, target: i-1, remote: { host: "db..internal", port: 1 }, local: { port: 2 } }',
        '  - { name: c, target: i-1, remote: { port: 1 }, local: { socket: relative.sock } }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['check', '--config', path]);
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n');
    expect(lines.find((line) => line.includes(':2:') && line.includes('remote.port'))).toBeDefined();
    expect(lines.find((line) => line.includes(':3:') && line.includes('remote.host'))).toBeDefined();
    expect(lines.find((line) => line.includes(':4:') && line.includes('local.socket'))).toBeDefined();
  });
});
