import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { SessionApi } from '../aws/session-api.js';
import { createSsmSessionApi } from '../aws/ssm-session-api.js';
import { formatTarget } from '../aws/target-resolver.js';
import { ErrorCode, errorCode, SsmTunnelError } from '../errors.js';
import type { ConnectionSummary } from '../forward/forwarding-channel.js';
import { silentLogger, type Logger } from '../logging.js';
import type { SlotState } from '../session/session-slot.js';
import { formatHostPort, isLoopbackHost, isValidHost } from '../util/net.js';
import { negotiate, type ProxyRequest, type RequestFailure } from './client-negotiation.js';
import { DestinationPool, type Lease } from './destination-pool.js';
import { DestinationSession } from './destination-session.js';
import { resolveProxyOptions, type ProxyOptions, type ResolvedProxyOptions } from './options.js';
import { ReplyGate } from './reply-gate.js';

/*
 * One local port serving SOCKS5 and HTTP CONNECT; each requested destination is reached through
 * its own AWS-StartPortForwardingSessionToRemoteHost session on the target (names resolved there),
 * shared by all connections to it, ended when idle and at close.
 */

export type ProxyState = 'listening' | 'closing' | 'closed';

export interface ProxyDestinationStats {
  /** `host:port` as requested. */
  destination: string;
  state: SlotState;
  sessionId: string | undefined;
  targetId: string | undefined;
  openConnections: number;
  /** Open connections plus requests waiting for the session. */
  inUse: number;
}

export interface ProxyStats {
  state: ProxyState;
  destinations: ProxyDestinationStats[];
  openConnections: number;
  /** Requests that got as far as naming a destination. */
  totalRequests: number;
  /** Requests refused after naming a destination (denied, refused, unreachable, busy). */
  failedRequests: number;
  /** Connections turned away before a complete request (malformed, oversized, wrong credentials, timeout). */
  rejectedHandshakes: number;
  /** Sessions started over the proxy's life (replacements included). */
  sessionsStarted: number;
  bytesUp: number;
  bytesDown: number;
}

/** What a person at a terminal follows (the same shapes as a tunnel's events). */
export interface ProxyEvents {
  /** A request was accepted and handed to its destination's session. */
  connection: [{ id: number; remoteAddress: string; destination: string }];
  connectionClosed: [ConnectionSummary];
}

export class ProxyServer extends EventEmitter<ProxyEvents> {
  readonly options: ResolvedProxyOptions;
  private readonly log: Logger;
  private readonly api: SessionApi;
  private readonly pool: DestinationPool<DestinationSession>;
  private server: Server | undefined;
  private currentState: ProxyState = 'listening';
  private readonly clients = new Set<Socket>();
  private nextRequestId = 1;
  private readonly counters = { totalRequests: 0, failedRequests: 0, rejectedHandshakes: 0, sessionsStarted: 0, bytesUp: 0, bytesDown: 0 };

  private constructor(options: ResolvedProxyOptions, api: SessionApi, log: Logger) {
    super();
    this.options = options;
    this.api = api;
    this.log = log;
    this.pool = new DestinationPool<DestinationSession>({
      maxSessions: options.maxSessions,
      idleTimeoutMs: options.idleTimeoutMs,
      start: (destination) => this.startDestination(destination),
      onEnded: (destination, reason) => this.log.info({ destination, reason }, reason === 'idle' ? 'destination idle; session ended' : `destination session ended (${reason})`),
    });
  }

  /** Listens; sessions start as destinations are requested. */
  static async start(options: ProxyOptions): Promise<ProxyServer> {
    const resolved = resolveProxyOptions(options);
    const log = (options.logger ?? silentLogger).child({ target: formatTarget(resolved.session.target), proxy: true });
    const { auth: _auth, allow: _allow, ...aws } = options;
    const api = options.sessionApi ?? createSsmSessionApi({ ...aws, logger: log });
    const proxy = new ProxyServer(resolved, api, log);
    await proxy.listen();
    return proxy;
  }

  get state(): ProxyState {
    return this.currentState;
  }

  get localPort(): number {
    const address = this.localAddresses[0];
    if (address === undefined) throw new SsmTunnelError(ErrorCode.TUNNEL_CLOSED, 'the proxy is not listening');
    return address.port;
  }

  /** The bound address (empty once closed). */
  get localAddresses(): AddressInfo[] {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? [address] : [];
  }

  get stats(): ProxyStats {
    const destinations = this.pool.stats.map(({ destination, member, leases }) => ({
      destination,
      state: member.state,
      sessionId: member.sessionId,
      targetId: member.targetId,
      openConnections: member.openConnections,
      inUse: leases,
    }));
    return {
      state: this.currentState,
      destinations,
      openConnections: destinations.reduce((sum, d) => sum + d.openConnections, 0),
      ...this.counters,
    };
  }

  /** Stops accepting, closes every client connection and ends every session (TerminateSession). */
  async close(): Promise<void> {
    if (this.currentState !== 'listening') return;
    this.currentState = 'closing';
    const server = this.server;
    const listenerClosed = server && new Promise<void>((resolve) => server.close(() => resolve()));
    for (const client of this.clients) client.destroy();
    await this.pool.close();
    await listenerClosed;
    this.server = undefined;
    this.currentState = 'closed';
    this.log.info('proxy closed');
  }

  // --- internals -------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const { localHost, localPort } = this.options;
    const where = formatHostPort(localHost, localPort);
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
        reject(new SsmTunnelError(ErrorCode.LISTEN, `cannot listen on ${where}: ${why}`, { cause: error }));
      });
      server.listen({ host: localHost, port: localPort }, () => resolve());
    });
    server.removeAllListeners('error');
    server.on('error', (error) => this.log.error({ err: error.message }, 'proxy listener failed'));
    this.server = server;
    if (!isLoopbackHost(localHost)) {
      this.log.warn({ localHost }, 'listening on a non-loopback address: anyone who can reach it can use this proxy to reach your private network');
    }
    const { address, port } = this.localAddresses[0]!;
    this.log.info({ local: formatHostPort(address, port) }, 'proxy listening');
  }

  private startDestination(destination: string): DestinationSession {
    const { host, port } = splitDestination(destination);
    return new DestinationSession(this.api, { ...this.options.session, remoteHost: host, remotePort: port }, this.log.child({ destination }), {
      connectTimeoutMs: this.options.connectTimeoutMs,
      onSession: () => {
        this.counters.sessionsStarted += 1;
      },
      onConnectionClosed: (summary) => this.onConnectionClosed(destination, summary),
    });
  }

  private accept(socket: Socket): void {
    if (this.currentState !== 'listening') {
      socket.destroy();
      return;
    }
    const id = this.nextRequestId++;
    this.clients.add(socket);
    // A client that resets mid-handshake must not take the process down.
    socket.on('error', (error) => this.log.debug({ request: id, err: error.message }, 'client socket error'));
    socket.once('close', () => this.clients.delete(socket));
    this.serve(socket, id).catch((error: Error) => {
      this.log.error({ request: id, err: error.message }, 'proxy request failed unexpectedly');
      socket.destroy();
    });
  }

  private async serve(socket: Socket, id: number): Promise<void> {
    const request = await negotiate(socket, {
      credentials: this.options.auth,
      timeoutMs: this.options.handshakeTimeoutMs,
      onRejected: (reason) => {
        this.counters.rejectedHandshakes += 1;
        this.log.warn({ request: id, reason }, `proxy request rejected: ${reason}`);
      },
    });
    if (request === undefined) return;
    this.counters.totalRequests += 1;
    const { host, port } = request;
    const destination = formatHostPort(host, port);
    const refuse = (failure: RequestFailure, reason: string): void => {
      this.counters.failedRequests += 1;
      this.log.warn({ request: id, destination, failure, reason }, `CONNECT ${destination} failed: ${reason}`);
      if (!socket.destroyed) socket.end(request.failure(failure, reason));
    };
    if (!isValidHost(host)) return refuse('invalid', `${JSON.stringify(host)} is not a host name or IP address`);
    if (!this.options.allow.allows(host, port)) return refuse('denied', `${destination} is not in the proxy's allow list`);
    let lease: Lease<DestinationSession>;
    try {
      lease = await this.pool.acquire(destination);
    } catch (error) {
      return refuse(failureOf(error), (error as Error).message);
    }
    if (socket.destroyed) {
      lease.release();
      return;
    }
    this.connect(socket, id, destination, request, lease, refuse);
  }

  private connect(socket: Socket, id: number, destination: string, request: ProxyRequest, lease: Lease<DestinationSession>, refuse: (failure: RequestFailure, reason: string) => void): void {
    const { member } = lease;
    this.log.info({ request: id, protocol: request.protocol, destination, sessionId: member.sessionId }, `CONNECT ${destination} -> session ${member.sessionId}`);
    const gate = new ReplyGate(socket, request.leftover, {
      confirmMs: member.reachable ? 0 : this.options.refusalWaitMs,
      reply: (reachable) => {
        if (!reachable) {
          refuse('refused', `the agent could not connect to ${destination}`);
          return;
        }
        member.reachable = true;
        if (!socket.destroyed) socket.write(request.success());
      },
    });
    gate.once('close', () => lease.release());
    member.handle(gate, id);
    const from = socket.remoteAddress === undefined ? 'unknown' : formatHostPort(socket.remoteAddress, socket.remotePort ?? 0);
    this.emit('connection', { id, remoteAddress: from, destination });
  }

  private onConnectionClosed(destination: string, summary: ConnectionSummary): void {
    this.counters.bytesUp += summary.bytesUp;
    this.counters.bytesDown += summary.bytesDown;
    this.log.debug({ request: summary.id, destination, bytesUp: summary.bytesUp, bytesDown: summary.bytesDown, durationMs: summary.durationMs }, 'proxied connection closed');
    this.emit('connectionClosed', summary);
  }
}

/** The reply a failed session start deserves. */
function failureOf(error: unknown): RequestFailure {
  const code = errorCode(error);
  if (code === ErrorCode.TOO_MANY_SESSIONS) return 'busy';
  if (code === ErrorCode.CONNECT_TIMEOUT) return 'timeout';
  if (code === 'AccessDeniedException' || /forbidden|not authorized/i.test((error as Error).message)) return 'denied';
  return 'unreachable';
}

function splitDestination(destination: string): { host: string; port: number } {
  const colon = destination.lastIndexOf(':');
  const host = destination.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(destination.slice(colon + 1)) };
}

/** Listens and returns the proxy; sessions start as destinations are requested. */
export function openProxy(options: ProxyOptions): Promise<ProxyServer> {
  return ProxyServer.start(options);
}
