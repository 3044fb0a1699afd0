/*
 * A real HTTP forward proxy on loopback (the `proxy` package) for end-to-end tests: it records each
 * CONNECT, can require Basic credentials, and can cut the tunnels it carries to one host.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createProxy } from 'proxy';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`; no credentials). */
  readonly url: string;
  readonly port: number;
  /** Every CONNECT target (`host:port`) in arrival order, accepted or not. */
  readonly connects: string[];
  /** CONNECTs refused for missing or wrong credentials. */
  readonly refused: string[];
  /** Destroys the client side of every open tunnel to `target` (`host:port`); returns how many. */
  dropTunnels(target: string): number;
  close(): Promise<void>;
}

/**
 * With `credentials`, CONNECTs must carry `Proxy-Authorization: Basic user:password`; with `tls`,
 * clients speak TLS to the proxy itself (an `https://` proxy URL).
 */
export async function startForwardProxy(credentials?: { user: string; password: string }, tls?: { key: string; cert: string }): Promise<ForwardProxy> {
  const server = createProxy(tls === undefined ? createServer() : createTlsServer(tls));
  const connects: string[] = [];
  const refused: string[] = [];
  const tunnels = new Map<Socket, string>();
  const expected = credentials && `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  if (expected !== undefined) {
    server.authenticate = (req: IncomingMessage) => {
      const ok = req.headers['proxy-authorization'] === expected;
      if (!ok) refused.push(req.url ?? '');
      return ok;
    };
  }
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    connects.push(req.url ?? '');
    tunnels.set(socket, req.url ?? '');
    socket.once('close', () => tunnels.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    connects,
    refused,
    dropTunnels(target) {
      let dropped = 0;
      for (const [socket, to] of tunnels) {
        if (to !== target) continue;
        socket.destroy();
        dropped += 1;
      }
      return dropped;
    },
    async close() {
      for (const socket of tunnels.keys()) socket.destroy();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
