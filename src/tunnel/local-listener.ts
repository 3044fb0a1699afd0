import { chmod } from 'node:fs/promises';
import { createServer, type AddressInfo, type ListenOptions, type Server, type Socket } from 'node:net';
import { ErrorCode, SsmTunnelError } from '../errors.js';
import { formatHostPort } from '../util/net.js';
import { checkSocketDirectory, removeStaleSocket } from './unix-socket-file.js';

/** Where a tunnel accepts local connections. */
export type ListenTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string; mode: number | undefined };

/** `localhost` means both loopback addresses: clients resolve it to either, depending on their resolver. */
const LOCALHOST_ADDRESSES = ['127.0.0.1', '::1'];
/** Codes that say this machine has no such address (e.g. IPv6 disabled): that half of `localhost` is skipped. */
const ADDRESS_UNAVAILABLE = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);
/** Port 0 on two addresses: the port the first one got may be taken on the second; try a few. */
const SHARED_PORT_ATTEMPTS = 8;

/**
 * The local side of a tunnel: one TCP server, two for `localhost` (127.0.0.1 and ::1 on one port),
 * or a unix socket with its permission bits. Accepted sockets arrive paused.
 */
export class LocalListener {
  private constructor(
    readonly target: ListenTarget,
    private readonly servers: Server[],
  ) {}

  /** Listens; `onError` hears errors of the listening servers after that. */
  static async open(target: ListenTarget, onConnection: (socket: Socket) => void, onError: (error: Error) => void): Promise<LocalListener> {
    const servers = target.kind === 'unix' ? [await listenUnix(target.path, target.mode, onConnection)] : await listenTcp(target, onConnection);
    for (const server of servers) server.on('error', onError);
    return new LocalListener(target, servers);
  }

  /** The bound TCP addresses; empty for a unix socket. */
  get addresses(): AddressInfo[] {
    return this.target.kind === 'unix' ? [] : this.servers.map((server) => server.address() as AddressInfo);
  }

  get socketPath(): string | undefined {
    return this.target.kind === 'unix' ? this.target.path : undefined;
  }

  /** `127.0.0.1:5432`, `127.0.0.1:5432 and [::1]:5432`, or `unix:/run/db.sock`, for logs. */
  describe(): string {
    if (this.target.kind === 'unix') return `unix:${this.target.path}`;
    return this.addresses.map((address) => formatHostPort(address.address, address.port)).join(' and ');
  }

  /** Stops accepting; a unix socket file is removed (Node unlinks it when its server closes). */
  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function newServer(onConnection: (socket: Socket) => void): Server {
  return createServer({ pauseOnConnect: true, noDelay: true }, onConnection);
}

async function listenTcp(target: { host: string; port: number }, onConnection: (socket: Socket) => void): Promise<Server[]> {
  if (target.host !== 'localhost') return [await listenOne(newServer(onConnection), { host: target.host, port: target.port, ipv6Only: false })];
  for (let attempt = 1; ; attempt++) {
    const servers: Server[] = [];
    let port = target.port;
    try {
      for (const host of LOCALHOST_ADDRESSES) {
        const server = await listenOne(newServer(onConnection), { host, port }).catch((error: NodeJS.ErrnoException) => {
          // 127.0.0.1 always exists; ::1 may not on a machine without IPv6.
          if (servers.length > 0 && ADDRESS_UNAVAILABLE.has(String((error.cause as NodeJS.ErrnoException | undefined)?.code))) return undefined;
          throw error;
        });
        if (server === undefined) continue;
        servers.push(server);
        port = (server.address() as AddressInfo).port;
      }
      return servers;
    } catch (error) {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (target.port !== 0 || code !== 'EADDRINUSE' || attempt >= SHARED_PORT_ATTEMPTS) throw error;
    }
  }
}

async function listenUnix(path: string, mode: number | undefined, onConnection: (socket: Socket) => void): Promise<Server> {
  await checkSocketDirectory(path);
  await removeStaleSocket(path);
  // Until the mode is set the file has the umask's bits: refuse whoever connects in that moment.
  let permitted = mode === undefined;
  const server = newServer((socket) => (permitted ? onConnection(socket) : socket.destroy()));
  await listenOne(server, { path });
  if (mode !== undefined) {
    try {
      await chmod(path, mode);
    } catch (error) {
      await new Promise((resolve) => server.close(resolve));
      throw new SsmTunnelError(ErrorCode.LISTEN, `cannot set mode ${mode.toString(8)} on unix socket ${path}: ${(error as Error).message}`, { cause: error });
    }
    permitted = true;
  }
  return server;
}

/** Listens; the error names the address and says why in words, with the system error as its cause. */
function listenOne(server: Server, options: ListenOptions): Promise<Server> {
  const where = options.path ?? formatHostPort(options.host ?? '', options.port ?? 0);
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new SsmTunnelError(ErrorCode.LISTEN, `cannot listen on ${where}: ${why}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

