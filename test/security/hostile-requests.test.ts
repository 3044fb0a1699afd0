/*
 * Hostile HTTP requests from a local user against the daemon's status endpoint and the emulator,
 * both run as real processes (the built CLI): one bad request line, a WebSocket upgrade with an
 * absolute-form target, a rebinding Host name. The process must stay up, answer 400 or 403, and
 * serve the next request. Needs `npm run build`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { daemonConfigYaml } from '../helpers/daemon-config.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

/** Sends `request` as raw bytes and resolves with the status line of the answer (or '' if the socket closed first). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(request));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('\r\n')) {
        socket.destroy();
        resolve(received.slice(0, received.indexOf('\r\n')));
      }
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-hostile-requests-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the daemon's status endpoint", () => {
  let emulator: Emulator;
  let echo: Destination;
  let daemon: CliProcess;
  let statusPort: number;

  beforeAll(async () => {
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    echo = await echoServer();
    const file = join(dir, 'daemon.yaml');
    await writeFile(file, daemonConfigYaml({ emulator, tunnels: [{ name: 'db', target: TARGET, remotePort: echo.port }], status: '127.0.0.1:0', shutdownGrace: '0s' }), {
      mode: 0o600,
    });
    daemon = spawnCli(['up', '--config', file]);
    const listening = await daemon.waitForLog((log) => log.msg === 'status endpoint listening', 'the status endpoint');
    statusPort = Number(new URL(String(listening.url)).port);
  });

  afterAll(async () => {
    await daemon.kill();
    await Promise.all([emulator.close(), echo.close()]);
  });

  const healthy = (): Promise<string> => rawRequest(statusPort, 'GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');

  it('answers 400 to an absolute-form target that does not parse, and serves the next request', async () => {
    expect(await rawRequest(statusPort, 'GET http://[/ HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawRequest(statusPort, 'GET http://127.0.0.1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawRequest(statusPort, 'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawRequest(statusPort, 'GET http://[/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await healthy()).toBe('HTTP/1.1 200 OK');
    expect(daemon.child.exitCode).toBeNull();
  });

  it('answers 403 to a Host name other than an address, localhost or the listen host (DNS rebinding)', async () => {
    expect(await rawRequest(statusPort, 'GET /status HTTP/1.1\r\nHost: attacker.example:80\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 403 Forbidden');
    expect(await rawRequest(statusPort, `GET /status HTTP/1.1\r\nHost: localhost:${statusPort}\r\nConnection: close\r\n\r\n`)).toBe('HTTP/1.1 200 OK');
    expect(await rawRequest(statusPort, `GET /status HTTP/1.1\r\nHost: [::1]:${statusPort}\r\nConnection: close\r\n\r\n`)).toBe('HTTP/1.1 200 OK');
  });
});

describe('the emulator', () => {
  let emulator: CliProcess;
  let port: number;

  beforeAll(async () => {
    emulator = spawnCli(['emulator', '--port', '0']);
    await waitFor(() => /listening on http:\/\/127\.0\.0\.1:\d+ /.test(emulator.stdout), 'the emulator to listen');
    port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(emulator.stdout)![1]);
  });

  afterAll(async () => {
    await emulator.kill();
  });

  it('answers 400 to a WebSocket upgrade or an API request whose target is not a path, and serves the next request', async () => {
    const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    expect(await rawRequest(port, `GET http://[/ HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`)).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawRequest(port, 'POST http://[/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    // The next upgrade reaches the data-channel door (an unknown path there is a 404).
    expect(await rawRequest(port, `GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n${upgrade}\r\n`)).toBe('HTTP/1.1 404 Not Found');
    expect(emulator.child.exitCode).toBeNull();
  });
});
