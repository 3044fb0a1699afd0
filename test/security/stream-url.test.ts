/*
 * A service (or whoever answers in its place) that returns a StreamUrl pointing elsewhere: a unix
 * socket, a plain HTTP server, a ws: URL on another machine. The client must refuse before it
 * connects anywhere, with a permanent ERR_INSECURE_STREAM_URL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streamUrlRefusal } from '../../src/channel/stream-url.js';
import { ErrorCode, openTunnel, SsmTunnelError, type SessionApi } from '../../src/index.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A listener that counts the connections it gets. */
async function countingServer(listen: { port: 0; host: '127.0.0.1' } | { path: string }): Promise<{ server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { server, connections: () => connections };
}

/** A fake service that grants sessions with `streamUrl`, from `endpoint`. */
function fakeApi(streamUrl: string, endpoint: string | undefined): SessionApi & { terminated: string[] } {
  const terminated: string[] = [];
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    terminated,
    startSession: () => Promise.resolve({ sessionId: 'fake-session', streamUrl, tokenValue: 'fake-token' }),
    resumeSession: () => Promise.resolve({}),
    terminateSession: (id) => {
      terminated.push(id);
      return Promise.resolve();
    },
  };
}

async function refusal(streamUrl: string, endpoint: string | undefined): Promise<SsmTunnelError> {
  const api = fakeApi(streamUrl, endpoint);
  const error = await openTunnel({ target: 'i-0123456789abcdef0', remotePort: 5432, sessionApi: api, connectTimeoutMs: 60_000 }).then(
    () => {
      throw new Error(`openTunnel accepted ${streamUrl}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsmTunnelError);
  expect(api.terminated).toEqual(['fake-session']);
  return error as SsmTunnelError;
}

describe('a StreamUrl the client must not follow', () => {
  it('refuses ws+unix: without writing to the unix socket it names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-stream-url-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'victim.sock');
    const victim = await countingServer({ path: socketPath });
    const error = await refusal(`ws+unix://${socketPath}:/v1/data-channel/x`, 'http://127.0.0.1:1');
    expect(error.code).toBe(ErrorCode.INSECURE_STREAM_URL);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('ws+unix:');
    expect(victim.connections()).toBe(0);
  });

  it('refuses http: even on loopback without connecting', async () => {
    const victim = await countingServer({ port: 0, host: '127.0.0.1' });
    const { port } = victim.server.address() as AddressInfo;
    const error = await refusal(`http://127.0.0.1:${port}/v1/data-channel/x`, 'http://127.0.0.1:1');
    expect(error.code).toBe(ErrorCode.INSECURE_STREAM_URL);
    expect(error.message).toContain(`http: (host 127.0.0.1:${port})`);
    expect(victim.connections()).toBe(0);
  });

  it('refuses ws: to another machine, naming the host', async () => {
    const error = await refusal('ws://198.51.100.7:8080/v1/data-channel/x', 'http://127.0.0.1:1');
    expect(error.code).toBe(ErrorCode.INSECURE_STREAM_URL);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('ws: to 198.51.100.7:8080');
  });

  it('refuses ws: to loopback when the API is not a loopback http: endpoint', async () => {
    const victim = await countingServer({ port: 0, host: '127.0.0.1' });
    const { port } = victim.server.address() as AddressInfo;
    for (const endpoint of [undefined, 'https://ssm.eu-west-1.amazonaws.com', 'http://198.51.100.7']) {
      const error = await refusal(`ws://127.0.0.1:${port}/v1/data-channel/x`, endpoint);
      expect(error.code).toBe(ErrorCode.INSECURE_STREAM_URL);
    }
    expect(victim.connections()).toBe(0);
  });
});

describe('streamUrlRefusal', () => {
  const refused = (url: string, apiEndpoint?: string): string | undefined => streamUrlRefusal(url, { apiEndpoint })?.code;

  it('accepts wss: anywhere, and ws: to loopback from a loopback http: endpoint (the emulator)', () => {
    expect(refused('wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s?role=publish_subscribe')).toBeUndefined();
    expect(refused('ws://127.0.0.1:8443/v1/data-channel/s', 'http://127.0.0.1:8443')).toBeUndefined();
    expect(refused('ws://[::1]:8443/v1/data-channel/s', 'http://localhost:8443')).toBeUndefined();
  });

  it('refuses every other scheme, non-loopback ws:, and what does not parse', () => {
    for (const url of ['ws://10.0.0.1/x', 'http://127.0.0.1/x', 'https://127.0.0.1/x', 'ws+unix:///tmp/s:/x', 'file:///etc/passwd', 'not a url']) {
      expect(refused(url, 'http://127.0.0.1:8443')).toBe(ErrorCode.INSECURE_STREAM_URL);
    }
  });
});
