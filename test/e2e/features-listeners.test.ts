/*
 * Local listeners beyond one TCP address, against the emulator: unix sockets (mode, stale files,
 * unsafe directories), `localhost` on both loopback addresses, and `::` dual-stack.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { openTunnel, type Tunnel, type TunnelOptions } from '../../src/index.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { captureLogs } from '../helpers/logs.js';
import { roundTrip } from '../helpers/transfer.js';

const TARGET = 'i-0123456789abcdef0';

let emulator: Emulator;
let echo: Destination;
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  echo = await echoServer();
  emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
  // mkdtemp makes the directory 0700: a safe place for sockets, unlike /tmp itself.
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-listeners-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await emulator.close();
  await echo.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(local: Partial<TunnelOptions>, logger?: TunnelOptions['logger']): Promise<Tunnel> {
  const tunnel = await openTunnel({
    target: TARGET,
    remoteHost: '127.0.0.1',
    remotePort: echo.port,
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials: emulator.credentials,
    ...(logger === undefined ? {} : { logger }),
    ...local,
  });
  cleanups.push(() => tunnel.close());
  return tunnel;
}

/** Echo through a unix socket path: resolves with what came back. */
function roundTripUnix(path: string, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket = createConnection(path);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= payload.length) {
        socket.end();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', reject);
    socket.write(payload);
  });
}

/** A socket file left behind by a process killed while listening: nobody accepts on it. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((resolve) => child.once('exit', resolve));
  expect((await lstat(path)).isSocket()).toBe(true);
}

describe('unix socket listeners', () => {
  it('listens on a unix socket with the mode asked for, forwards byte for byte, and removes the file at close', async () => {
    const path = join(dir, 'db.sock');
    const tunnel = await open({ localSocket: { path, mode: 0o660 } });
    expect(tunnel.localSocketPath).toBe(path);
    expect(tunnel.localAddresses).toEqual([]);
    expect(() => tunnel.localPort).toThrow(/unix socket .*db\.sock, not on TCP/);
    const stats = await lstat(path);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o660);
    const from: string[] = [];
    tunnel.on('connection', (info) => from.push(info.remoteAddress));
    const payload = randomBytes(50_000);
    expect((await roundTripUnix(path, payload)).equals(payload)).toBe(true);
    expect(from).toEqual(['unix']);
    await tunnel.close();
    await expect(lstat(path)).rejects.toThrow(/ENOENT/);
  });

  it('removes a stale socket file left by a dead process, then listens there', async () => {
    const path = join(dir, 'stale.sock');
    await staleSocket(path);
    const tunnel = await open({ localSocket: { path } });
    const payload = randomBytes(1000);
    expect((await roundTripUnix(path, payload)).equals(payload)).toBe(true);
    expect(tunnel.state).toBe('ready');
  });

  it('refuses a socket another process is listening on, and leaves it alone', async () => {
    const path = join(dir, 'live.sock');
    const other: Server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end('other');
    });
    await new Promise<void>((resolve) => other.listen(path, resolve));
    cleanups.push(() => new Promise((resolve) => other.close(resolve)));
    await expect(open({ localSocket: { path } })).rejects.toThrow(`cannot listen on unix socket ${path}: the socket is in use by another process`);
    expect((await lstat(path)).isSocket()).toBe(true);
    expect(emulator.record.sessions).toHaveLength(0);
  });

  it('refuses a path where a file that is not a socket exists, and never removes it', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, 'keep me');
    await expect(open({ localSocket: { path } })).rejects.toThrow(`cannot listen on unix socket ${path}: a file that is not a socket exists there; it is left alone`);
    expect(await readFile(path, 'utf8')).toBe('keep me');
  });

  it('refuses a world-writable directory, the sticky kind like /tmp included, naming the directory', async () => {
    const open777 = join(dir, 'shared');
    const sticky = join(dir, 'sticky');
    await mkdir(open777);
    await mkdir(sticky);
    await chmod(open777, 0o777);
    await chmod(sticky, 0o1777);
    await expect(open({ localSocket: { path: join(open777, 'db.sock') } })).rejects.toThrow(
      `refusing to listen on unix socket ${join(open777, 'db.sock')}: its directory ${open777} is writable by every user (mode 0777)`,
    );
    await expect(open({ localSocket: { path: join(sticky, 'db.sock') } })).rejects.toThrow(`its directory ${sticky} is writable by every user (mode 1777)`);
  });

  it('rejects localSocket together with localHost or localPort', async () => {
    await expect(open({ localSocket: { path: join(dir, 'x.sock') }, localPort: 5000 })).rejects.toThrow(/localSocket must be given without localHost and localPort/);
  });
});

describe('IPv6 and dual-stack TCP listeners', () => {
  it('listens on 127.0.0.1 and ::1 with one port for localhost', async () => {
    const tunnel = await open({ localHost: 'localhost' });
    const addresses = tunnel.localAddresses.map((a) => a.address).sort();
    expect(addresses).toEqual(['127.0.0.1', '::1']);
    expect(new Set(tunnel.localAddresses.map((a) => a.port)).size).toBe(1);
    const payload = randomBytes(10_000);
    expect((await roundTrip(tunnel.localPort, payload, '127.0.0.1')).equals(payload)).toBe(true);
    expect((await roundTrip(tunnel.localPort, payload, '::1')).equals(payload)).toBe(true);
  });

  it('takes IPv4 and IPv6 connections on "::", with a warning that it is not loopback only', async () => {
    const logs = captureLogs('info');
    const tunnel = await open({ localHost: '::' }, logs.logger);
    expect(tunnel.localAddresses).toHaveLength(1);
    const payload = randomBytes(10_000);
    expect((await roundTrip(tunnel.localPort, payload, '127.0.0.1')).equals(payload)).toBe(true);
    expect((await roundTrip(tunnel.localPort, payload, '::1')).equals(payload)).toBe(true);
    expect(logs.lines.some((l) => l.level === 40 && String(l.msg).startsWith('listening on a non-loopback address'))).toBe(true);
  });

  it('frees both ports of localhost at close', async () => {
    const tunnel = await open({ localHost: 'localhost' });
    const port = tunnel.localPort;
    await tunnel.close();
    const again = await open({ localHost: 'localhost', localPort: port });
    expect(again.localPort).toBe(port);
  });
});
