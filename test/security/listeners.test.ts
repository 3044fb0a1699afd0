import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openTunnel } from '../../src/index.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { echoServer, type Destination } from '../helpers/destinations.js';

/*
 * Listeners bind loopback unless told otherwise in so many words; an address other machines can
 * reach is only ever one written in the config or on the command line, and it is warned about.
 * (No test binds a non-loopback address: the warning is checked where the config is read.)
 */

const TARGET = 'i-0123456789abcdef0';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ emulator: Emulator; destination: Destination; warnings: string[]; open: (extra?: object) => ReturnType<typeof openTunnel> }> {
  const destination = await echoServer();
  const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
  cleanups.push(() => destination.close(), () => emulator.close());
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const log = JSON.parse(line) as { level: number; msg: string };
        if (log.level >= 40) warnings.push(log.msg);
      }
      done();
    },
  });
  const open = async (extra: object = {}) => {
    const tunnel = await openTunnel({
      target: TARGET,
      remoteHost: '127.0.0.1',
      remotePort: destination.port,
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.credentials,
      logger: pino({ level: 'info' }, sink),
      ...extra,
    });
    cleanups.push(() => tunnel.close());
    return tunnel;
  };
  return { emulator, destination, warnings, open };
}

describe('listeners', () => {
  it('openTunnel listens on 127.0.0.1 when no address is given, without a warning', async () => {
    const { open, warnings } = await setup();
    const tunnel = await open();
    expect(tunnel.localAddresses.map((a) => a.address)).toEqual(['127.0.0.1']);
    expect(warnings).toEqual([]);
  });

  it('openTunnel with localhost listens on both loopback addresses only, without a warning', async () => {
    const { open, warnings } = await setup();
    const tunnel = await open({ localHost: 'localhost' });
    expect(tunnel.localAddresses.map((a) => a.address).sort()).toEqual(['127.0.0.1', '::1']);
    expect(warnings).toEqual([]);
  });

  it('a config tunnel listens on 127.0.0.1 unless its host is written, and check warns about one that is not loopback', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-listen-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'tunnels.yaml');
    await writeFile(
      path,
      [
        'tunnels:',
        '  - { name: quiet, target: i-1, remote: { port: 5432 }, local: { port: 15432 } }',
        '  - { name: open-to-all, target: i-2, remote: { port: 80 }, local: { host: 0.0.0.0, port: 18080 } }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['check', '--config', path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/quiet\s+127\.0\.0\.1:15432/);
    const warnings = result.stdout.split('\n').filter((line) => line.startsWith('Warning:'));
    expect(warnings).toEqual(['Warning: open-to-all listens on 0.0.0.0, which other machines can reach']);
  });
});
