/*
 * The SOCKS5 / HTTP CONNECT proxy end to end: real clients (curl, a SOCKS5 client written here, pg)
 * through openProxy() and the emulator to real destinations on loopback, one session per
 * destination as the emulator records it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { openProxy, type ProxyOptions, type ProxyServer } from '../../src/index.js';
import { socksConnect } from '../helpers/socks-client.js';
import { waitFor } from '../helpers/wait.js';
import { CURL, curl, CURL_SOCKS_REFUSED, curlSkipReason, type CurlResult } from '../helpers/curl.js';

const TARGET = 'i-0123456789abcdef0';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface WebServer {
  port: number;
  /** Requests served, by path. */
  requests: string[];
}

/** An HTTP server on loopback answering `GET /name` with `hello from <name>` and `GET /bytes/N` with N random bytes (sha256 in a header). */
async function webServer(name: string, host = '127.0.0.1'): Promise<WebServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const bytes = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (bytes !== null) {
      const body = randomBytes(Number(bytes[1]));
      res.writeHead(200, { 'content-length': body.length, 'x-sha256': createHash('sha256').update(body).digest('hex') });
      res.end(body);
      return;
    }
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      req.on('end', () => res.end(`${length} ${hash.digest('hex')}`));
      return;
    }
    res.end(`hello from ${name}`);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => Promise.resolve(server.closeAllConnections()));
  return { port: (server.address() as AddressInfo).port, requests };
}

async function setup(options: Partial<ProxyOptions> = {}, emulatorOptions: EmulatorOptions = {}): Promise<{ emulator: Emulator; proxy: ProxyServer; proxyUrl: string }> {
  const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} }, ...emulatorOptions });
  cleanups.push(() => emulator.close());
  const proxy = await openProxy({
    target: TARGET,
    localPort: 0,
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials: emulator.credentials,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    refusalWaitMs: 300,
    ...options,
  });
  cleanups.push(() => proxy.close());
  return { emulator, proxy, proxyUrl: `127.0.0.1:${proxy.localPort}` };
}

/** The destination (`host:port`) each session the emulator saw was started for. */
function sessionDestinations(emulator: Emulator): string[] {
  return emulator.record.sessions.map((s) => `${s.parameters.host?.[0]}:${s.parameters.portNumber?.[0]}`);
}

describe.skipIf(curlSkipReason !== undefined)('the proxy with curl', () => {
  it('serves curl over SOCKS5 and HTTP CONNECT on one port, with a session per destination', async () => {
    const { emulator, proxy, proxyUrl } = await setup();
    const one = await webServer('one');
    const two = await webServer('two');
    const viaSocks = await curl(['--socks5-hostname', proxyUrl, `http://localhost:${one.port}/one`]);
    expect(viaSocks).toMatchObject({ code: 0, stdout: 'hello from one' });
    const viaHttp = await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, `http://localhost:${two.port}/two`]);
    expect(viaHttp).toMatchObject({ code: 0, stdout: 'hello from two' });
    // The same destinations again, crossed over: the sessions are shared, none is added.
    expect(await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, `http://localhost:${one.port}/one`])).toMatchObject({ stdout: 'hello from one' });
    expect(await curl(['--socks5-hostname', proxyUrl, `http://localhost:${two.port}/two`])).toMatchObject({ stdout: 'hello from two' });
    // The names were resolved by the agent, not here: the sessions carry `localhost`.
    expect(sessionDestinations(emulator).sort()).toEqual([`localhost:${one.port}`, `localhost:${two.port}`].sort());
    expect(emulator.record.sessions.every((s) => s.documentName === 'AWS-StartPortForwardingSessionToRemoteHost')).toBe(true);
    expect(proxy.stats.destinations.map((d) => d.destination).sort()).toEqual([`localhost:${one.port}`, `localhost:${two.port}`].sort());
  });

  it('starts one session for 20 requests that arrive together for a new destination', async () => {
    const { emulator, proxyUrl } = await setup();
    const web = await webServer('many');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => curl(['--socks5-hostname', proxyUrl, `http://127.0.0.1:${web.port}/many?${i}`])));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, () => 'hello from many'));
    expect(emulator.record.sessions).toHaveLength(1);
    expect(web.requests).toHaveLength(20);
  });

  it('carries a 4 MiB body each way byte for byte', async () => {
    const { proxyUrl } = await setup();
    const web = await webServer('bulk');
    const size = 4 * 1024 * 1024;
    const down = await curl(['--socks5-hostname', proxyUrl, '--include', `http://127.0.0.1:${web.port}/bytes/${size}`]);
    expect(down.code).toBe(0);
    const split = down.stdout.indexOf('\r\n\r\n');
    const body = Buffer.from(down.stdout.slice(split + 4), 'latin1');
    expect(body.length).toBe(size);
    const header = /x-sha256: ([0-9a-f]{64})/i.exec(down.stdout.slice(0, split))?.[1];
    expect(createHash('sha256').update(body).digest('hex')).toBe(header);

    const upload = randomBytes(size);
    const up = await new Promise<CurlResult>((resolve) => {
      const child = execFile(CURL, ['--silent', '--show-error', '--proxytunnel', '-x', `http://${proxyUrl}`, '--data-binary', '@-', `http://127.0.0.1:${web.port}/upload`], (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : 1, stdout, stderr }),
      );
      child.stdin!.end(upload);
    });
    expect(up).toMatchObject({ code: 0, stdout: `${size} ${createHash('sha256').update(upload).digest('hex')}` });
  });

  it('fails a request to a refused destination quickly and keeps serving others', async () => {
    const { proxy, proxyUrl } = await setup();
    const web = await webServer('alive');
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const { reply, socket } = await socksConnect(proxy.localPort, '127.0.0.1', deadPort);
    socket.destroy();
    expect(reply).toBe(0x05);
    const viaHttp = await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, '--include', `http://127.0.0.1:${deadPort}/`]);
    expect(viaHttp.code).not.toBe(0);
    expect(viaHttp.stdout).toMatch(/^HTTP\/1\.1 502/);
    expect(await curl(['--socks5-hostname', proxyUrl, `http://127.0.0.1:${web.port}/x`])).toMatchObject({ code: 0, stdout: 'hello from alive' });
    expect(proxy.state).toBe('listening');
  });

  it('denies destinations outside the allow list before any session starts', async () => {
    const web = await webServer('private');
    const { emulator, proxy, proxyUrl } = await setup({ allow: [`localhost:${web.port}`, '10.0.0.0/8:5432'] });
    const { reply, socket } = await socksConnect(proxy.localPort, '127.0.0.1', web.port);
    socket.destroy();
    expect(reply).toBe(0x02);
    const denied = await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, '--include', `http://127.0.0.1:${web.port}/`]);
    expect(denied.stdout).toMatch(/^HTTP\/1\.1 403/);
    expect(emulator.record.sessions).toHaveLength(0);
    expect(await curl(['--socks5-hostname', proxyUrl, `http://localhost:${web.port}/ok`])).toMatchObject({ code: 0, stdout: 'hello from private' });
    expect(emulator.record.sessions).toHaveLength(1);
  });

  it('reaches an IPv6 destination', async () => {
    const { emulator, proxyUrl } = await setup();
    const web = await webServer('six', '::1');
    expect(await curl(['--socks5-hostname', proxyUrl, `http://[::1]:${web.port}/`])).toMatchObject({ code: 0, stdout: 'hello from six' });
    expect(await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, `http://[::1]:${web.port}/`])).toMatchObject({ code: 0, stdout: 'hello from six' });
    expect(sessionDestinations(emulator)).toEqual([`::1:${web.port}`]);
  });

  it('fails requests at once with 0x04 / 502 when the target cannot take a session', async () => {
    const { proxy, proxyUrl } = await setup({}, { targets: { [TARGET]: { pingStatus: 'ConnectionLost' } } });
    const { reply, socket } = await socksConnect(proxy.localPort, '127.0.0.1', 80);
    socket.destroy();
    expect(reply).toBe(0x04);
    const viaHttp = await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, '--include', 'http://127.0.0.1:80/']);
    expect(viaHttp.stdout).toMatch(/^HTTP\/1\.1 502 /);
    expect(proxy.stats.failedRequests).toBe(2);
    expect(proxy.stats.destinations).toEqual([]);
  });

  it('keeps serving a destination across a dropped WebSocket (resumed) and a session the service ended (replaced)', async () => {
    const { emulator, proxyUrl } = await setup();
    const web = await webServer('durable');
    const get = (): Promise<CurlResult> => curl(['--socks5-hostname', proxyUrl, `http://127.0.0.1:${web.port}/`]);
    expect(await get()).toMatchObject({ stdout: 'hello from durable' });
    const first = emulator.record.sessions[0]!.sessionId;
    emulator.session(first).dropConnection();
    await waitFor(() => (emulator.sessionRecord(first)?.webSockets.length ?? 0) >= 2, 'the session to be resumed');
    expect(await get()).toMatchObject({ stdout: 'hello from durable' });
    expect(emulator.record.sessions).toHaveLength(1);
    emulator.session(first).end('terminated');
    await waitFor(() => emulator.record.sessions.length === 2, 'a replacement session');
    expect(await get()).toMatchObject({ stdout: 'hello from durable' });
  });

  it('lets connections to one destination take turns on a basic-mode agent', async () => {
    const { emulator, proxyUrl } = await setup({}, { agentVersion: '3.0.0.0' });
    const web = await webServer('basic');
    const results = await Promise.all(Array.from({ length: 3 }, () => curl(['--socks5-hostname', proxyUrl, `http://127.0.0.1:${web.port}/`])));
    expect(results.map((r) => r.stdout)).toEqual(['hello from basic', 'hello from basic', 'hello from basic']);
    expect(emulator.record.sessions).toHaveLength(1);
    expect(emulator.record.sessions[0]!.mode).toBe('basic');
  });

  it('ends a destination session after idleTimeout and starts a new one when asked again', async () => {
    const { emulator, proxy, proxyUrl } = await setup({ idleTimeoutMs: 200 });
    const web = await webServer('idle');
    expect(await curl(['--socks5-hostname', proxyUrl, `http://127.0.0.1:${web.port}/a`])).toMatchObject({ stdout: 'hello from idle' });
    await waitFor(() => emulator.record.sessions[0]?.state === 'terminated', 'the idle session to be terminated');
    expect(proxy.stats.destinations).toEqual([]);
    expect(await curl(['--socks5-hostname', proxyUrl, `http://127.0.0.1:${web.port}/b`])).toMatchObject({ stdout: 'hello from idle' });
    expect(emulator.record.sessions).toHaveLength(2);
  });
});

describe('the proxy without outside clients', () => {
  it('ends every session at close', async () => {
    const { emulator, proxy } = await setup();
    const a = await webServer('a');
    const b = await webServer('b');
    for (const port of [a.port, b.port]) {
      const { reply, socket } = await socksConnect(proxy.localPort, '127.0.0.1', port);
      expect(reply).toBe(0);
      socket.destroy();
    }
    expect(emulator.record.sessions).toHaveLength(2);
    await proxy.close();
    expect(emulator.record.sessions.map((s) => s.state)).toEqual(['terminated', 'terminated']);
  });

  it('evicts the least recently used idle destination at maxSessions, and refuses when none is idle', async () => {
    const { emulator, proxy } = await setup({ maxSessions: 2 });
    const servers = await Promise.all(['a', 'b', 'c'].map((name) => webServer(name)));
    const first = await socksConnect(proxy.localPort, '127.0.0.1', servers[0]!.port);
    first.socket.destroy();
    const second = await socksConnect(proxy.localPort, '127.0.0.1', servers[1]!.port);
    await waitFor(() => proxy.stats.destinations.find((d) => d.destination.endsWith(`:${servers[0]!.port}`))?.inUse === 0, 'the first destination to be idle');
    const third = await socksConnect(proxy.localPort, '127.0.0.1', servers[2]!.port);
    expect(third.reply).toBe(0);
    expect(proxy.stats.destinations.map((d) => d.destination)).toEqual([`127.0.0.1:${servers[1]!.port}`, `127.0.0.1:${servers[2]!.port}`]);
    await waitFor(() => emulator.record.sessions[0]?.state === 'terminated', 'the evicted session to be terminated');
    // Both sessions carry an open connection now: a fourth destination is refused.
    const fourth = await socksConnect(proxy.localPort, '127.0.0.1', servers[0]!.port);
    expect(fourth.reply).toBe(0x01);
    for (const socket of [second.socket, third.socket, fourth.socket]) socket.destroy();
  });
});

/** Sends `bytes`, then collects what the proxy answers until it closes the connection. */
async function answerTo(proxyPort: number, bytes: Buffer): Promise<Buffer> {
  const socket = connect(proxyPort, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.write(bytes);
  await new Promise((resolve) => socket.once('close', resolve));
  return Buffer.concat(chunks);
}

describe('the proxy under hostile clients', () => {
  it('answers malformed and oversized handshakes with an error and closes them, and keeps serving', async () => {
    const { emulator, proxy } = await setup({ allow: ['localhost:1'], handshakeTimeoutMs: 100 });
    expect([...(await answerTo(proxy.localPort, Buffer.from([5, 0])))]).toEqual([5, 0xff]);
    expect([...(await answerTo(proxy.localPort, Buffer.from([5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80])))]).toEqual([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect([...(await answerTo(proxy.localPort, Buffer.from([5, 1, 0, 5, 1, 0, 9])))]).toEqual([5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect((await answerTo(proxy.localPort, Buffer.from('GET http://example.com/ HTTP/1.1\r\n\r\n'))).toString()).toMatch(/^HTTP\/1\.1 405 /);
    expect((await answerTo(proxy.localPort, Buffer.concat([Buffer.from('CONNECT a:1 HTTP/1.1\r\nX: '), Buffer.alloc(64 * 1024, 'x')]))).toString()).toMatch(/^HTTP\/1\.1 431 /);
    expect((await answerTo(proxy.localPort, Buffer.from([0x16, 3, 1]))).length).toBe(0);
    // A client that says half a request and nothing more is cut off after handshakeTimeoutMs.
    expect((await answerTo(proxy.localPort, Buffer.from('CONNECT a:1 HTTP/1.1\r\n'))).length).toBe(0);

    const socksish = fc.tuple(fc.constant(5), fc.uint8Array({ maxLength: 80 })).map(([v, rest]) => Buffer.from([v, ...rest]));
    const httpish = fc.string({ maxLength: 200 }).map((text) => Buffer.from(`CONNECT ${text}\r\n\r\n`));
    await fc.assert(
      fc.asyncProperty(fc.oneof(socksish, httpish, fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a))), async (bytes) => {
        await answerTo(proxy.localPort, bytes);
      }),
      { numRuns: 150 },
    );
    expect(emulator.record.sessions).toHaveLength(0);
    expect(proxy.state).toBe('listening');
    const { reply, socket } = await socksConnect(proxy.localPort, '127.0.0.1', 80);
    socket.destroy();
    expect(reply).toBe(0x02);
    expect(proxy.stats.rejectedHandshakes).toBeGreaterThan(150);
  });
});

describe.skipIf(curlSkipReason !== undefined)('the proxy with credentials', () => {
  it('requires the username and password over SOCKS5 (RFC 1929) and HTTP (Basic)', async () => {
    const { emulator, proxyUrl } = await setup({ auth: { username: 'alice', password: 's3cret' } });
    const web = await webServer('guarded');
    const url = `http://127.0.0.1:${web.port}/`;
    expect(await curl(['-x', `socks5h://alice:s3cret@${proxyUrl}`, url])).toMatchObject({ code: 0, stdout: 'hello from guarded' });
    expect(await curl(['--proxytunnel', '-x', `http://alice:s3cret@${proxyUrl}`, url])).toMatchObject({ code: 0, stdout: 'hello from guarded' });
    expect(await curl(['-x', `socks5h://alice:wrong@${proxyUrl}`, url])).toMatchObject({ code: CURL_SOCKS_REFUSED });
    expect(await curl(['--socks5-hostname', proxyUrl, url])).not.toMatchObject({ code: 0 });
    const noAuth = await curl(['--proxytunnel', '-x', `http://${proxyUrl}`, '--include', url]);
    expect(noAuth.stdout).toMatch(/^HTTP\/1\.1 407 /);
    expect(emulator.record.sessions).toHaveLength(1);
  });
});
