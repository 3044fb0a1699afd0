import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import type { SessionApi } from '../aws/session-api.js';
import { createSsmSessionApi } from '../aws/ssm-session-api.js';
import type { ConnectionSummary } from '../forward/forwarding-channel.js';
import { silentLogger, type Logger } from '../logging.js';
import type { TunnelOptions } from './options.js';
import { isLoopbackHost, resolveTunnelOptions, type ResolvedTunnelOptions } from './resolve-options.js';
import { TunnelSession } from './tunnel-session.js';

/**
 * - `connecting`: listening, the first session is being started
 * - `ready`: a session carries connections
 * - `resuming`: the WebSocket dropped; the same session is being resumed, connections are kept
 * - `reconnecting`: the session was lost; a new one is being started, new connections wait
 * - `closed`: close() finished
 */
export type TunnelState = 'connecting' | 'ready' | 'resuming' | 'reconnecting' | 'closing' | 'closed';

export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
}

export interface TunnelStats {
  state: TunnelState;
  sessionId: string | undefined;
  agentVersion: string | undefined;
  mode: 'mux' | 'basic' | undefined;
  openConnections: number;
  waitingConnections: number;
  totalConnections: number;
  failedConnections: number;
  bytesUp: number;
  bytesDown: number;
  /** New sessions started after the first. */
  reconnects: number;
  /** WebSocket drops survived with ResumeSession. */
  resumes: number;
  lastError: string | undefined;
}

export interface TunnelEvents {
  state: [state: TunnelState, detail?: string];
  connection: [ConnectionInfo];
  connectionClosed: [ConnectionSummary];
  error: [Error];
}

/** Errors that retrying cannot fix when a script opens a tunnel: fail fast instead of hanging. */
const PERMANENT_ERRORS = new Set([
  'AccessDeniedException',
  'TargetNotConnected',
  'InvalidDocument',
  'ValidationException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'InvalidTarget',
  'CredentialsProviderError',
]);

/** At most this many local connections wait for a session; more are refused at once. */
const MAX_WAITING_CONNECTIONS = 1024;

interface WaitingConnection {
  socket: Socket;
  id: number;
  timer: NodeJS.Timeout;
}

/**
 * A local listener bound to a succession of SSM sessions. The listener stays open across drops
 * and new sessions; connections that arrive while no session is up wait (bounded) for the next one.
 */
export class Tunnel extends EventEmitter<TunnelEvents> {
  readonly options: ResolvedTunnelOptions;
  private readonly api: SessionApi;
  private readonly log: Logger;
  private readonly server: Server;
  private session: TunnelSession | undefined;
  private currentState: TunnelState = 'connecting';
  private readonly waiting: WaitingConnection[] = [];
  private nextConnectionId = 1;
  private readonly abort = new AbortController();
  private establishing: Promise<void> | undefined;
  private readonly counters = {
    totalConnections: 0,
    failedConnections: 0,
    bytesUp: 0,
    bytesDown: 0,
    reconnects: 0,
    resumes: 0,
    sessionsStarted: 0,
  };
  private lastError: string | undefined;

  private constructor(options: ResolvedTunnelOptions, api: SessionApi, log: Logger) {
    super();
    this.options = options;
    this.api = api;
    this.log = log;
    this.server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.accept(socket));
  }

  /**
   * Listens and starts establishing the session in the background, retrying forever per the
   * reconnect policy (the daemon's way). Use openTunnel() to wait for the first session.
   */
  static async start(options: TunnelOptions): Promise<Tunnel> {
    const resolved = resolveTunnelOptions(options);
    const log = (options.logger ?? silentLogger).child({ target: resolved.target, remote: `${resolved.remoteHost ?? 'target'}:${resolved.remotePort}` });
    const api = options.sessionApi ?? createSsmSessionApi({ ...options, logger: log });
    const tunnel = new Tunnel(resolved, api, log);
    await tunnel.listen();
    tunnel.establish(false);
    return tunnel;
  }

  get state(): TunnelState {
    return this.currentState;
  }

  get localPort(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get localAddress(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get sessionId(): string | undefined {
    return this.session?.sessionId;
  }

  /** Byte counts include connections still open, so a long-lived connection shows its traffic. */
  get stats(): TunnelStats {
    const open = this.session?.openConnectionBytes ?? { up: 0, down: 0 };
    return {
      state: this.currentState,
      sessionId: this.session?.sessionId,
      agentVersion: this.session?.agentVersion,
      mode: this.session ? (this.session.mode.mux ? 'mux' : 'basic') : undefined,
      openConnections: this.session?.activeConnections ?? 0,
      waitingConnections: this.waiting.length,
      totalConnections: this.counters.totalConnections,
      failedConnections: this.counters.failedConnections,
      bytesUp: this.counters.bytesUp + open.up,
      bytesDown: this.counters.bytesDown + open.down,
      reconnects: this.counters.reconnects,
      resumes: this.counters.resumes,
      lastError: this.lastError,
    };
  }

  /** Resolves when a session is ready; rejects on a permanent error or after connectTimeoutMs. */
  async ready(): Promise<void> {
    if (this.currentState === 'ready' || this.currentState === 'resuming') return;
    if (this.currentState === 'closed' || this.currentState === 'closing') throw new Error('the tunnel is closed');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no SSM session within ${this.options.connectTimeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`));
      }, this.options.connectTimeoutMs);
      const onState = (state: TunnelState): void => {
        if (state === 'ready') {
          cleanup();
          resolve();
        } else if (state === 'closed' || state === 'closing') {
          cleanup();
          reject(new Error(this.lastError ?? 'the tunnel was closed'));
        }
      };
      const onFatal = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('state', onState);
        this.permanentFailure.off('failed', onFatal);
      };
      this.on('state', onState);
      this.permanentFailure.on('failed', onFatal);
    });
  }

  /**
   * Stops accepting, lets open connections finish for up to `graceMs` (default: none), then ends
   * the session with TerminateSession and frees the port.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.currentState === 'closed' || this.currentState === 'closing') return;
    this.setState('closing');
    this.abort.abort();
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const waiting of this.waiting.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.socket.destroy();
    }
    const graceMs = options.graceMs ?? 0;
    const deadline = Date.now() + graceMs;
    while (this.session && this.session.activeConnections > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.session?.terminate();
    this.session = undefined;
    await serverClosed;
    this.setState('closed');
  }

  // --- internals -------------------------------------------------------------------------------

  /** Reports errors that make waiting pointless to ready(); separate from 'error' so nothing throws unheard. */
  private readonly permanentFailure = new EventEmitter<{ failed: [Error] }>();

  private async listen(): Promise<void> {
    const { localHost, localPort } = this.options;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
        reject(new Error(`cannot listen on ${localHost}:${localPort}: ${why}`, { cause: error }));
      });
      this.server.listen({ host: localHost, port: localPort, ipv6Only: false }, () => resolve());
    });
    this.server.on('error', (error) => this.reportError(new Error(`local listener failed: ${error.message}`)));
    if (!isLoopbackHost(this.options.localHost)) {
      this.log.warn({ localHost }, 'listening on a non-loopback address: anyone who can reach it can use this tunnel');
    }
    this.log.info({ local: `${localHost}:${this.localPort}` }, 'listening');
  }

  private establish(isReconnect: boolean): void {
    if (this.establishing || this.abort.signal.aborted) return;
    const { reconnect } = this.options;
    this.establishing = pRetry(
      async () => {
        try {
          return await TunnelSession.start(this.api, this.options, this.log);
        } catch (error) {
          const err = error as Error;
          this.lastError = err.message;
          // Until the first session, permanent errors end ready(): a script should hear them at once.
          if (this.counters.sessionsStarted === 0 && PERMANENT_ERRORS.has(err.name)) this.permanentFailure.emit('failed', err);
          throw err;
        }
      },
      {
        retries: reconnect.maxRetries,
        factor: reconnect.factor,
        minTimeout: reconnect.initialDelayMs,
        maxTimeout: reconnect.maxDelayMs,
        randomize: true,
        signal: this.abort.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          this.log.warn({ err: error.message, attemptNumber }, isReconnect ? 'cannot start a new session; retrying' : 'cannot start the session; retrying');
        },
      },
    ).then(
      (session) => {
        this.establishing = undefined;
        if (this.abort.signal.aborted) {
          void session.terminate();
          return;
        }
        this.adopt(session, isReconnect);
      },
      (error: Error) => {
        this.establishing = undefined;
        if (this.abort.signal.aborted || error instanceof AbortError) return;
        this.lastError = error.message;
        this.reportError(new Error(`giving up on starting a session: ${error.message}`));
        void this.close();
      },
    );
  }

  private adopt(session: TunnelSession, isReconnect: boolean): void {
    this.session = session;
    this.counters.sessionsStarted += 1;
    if (isReconnect) this.counters.reconnects += 1;
    session.on('connectionClosed', (summary) => this.onConnectionClosed(summary));
    session.on('disconnected', (reason) => this.setState('resuming', reason));
    session.on('resumed', () => {
      this.counters.resumes += 1;
      this.setState('ready', 'resumed');
    });
    session.on('lost', (reason) => {
      if (this.session !== session) return;
      this.session = undefined;
      this.lastError = reason;
      this.log.warn({ reason }, 'session lost; starting a new one');
      this.setState('reconnecting', reason);
      this.establish(true);
    });
    this.setState('ready', session.sessionId);
    for (const waiting of this.waiting.splice(0)) {
      clearTimeout(waiting.timer);
      if (waiting.socket.destroyed) continue;
      session.handle(waiting.socket, waiting.id);
    }
  }

  private accept(socket: Socket): void {
    const id = this.nextConnectionId++;
    this.counters.totalConnections += 1;
    const info: ConnectionInfo = { id, remoteAddress: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix' };
    this.log.info({ connection: id, from: info.remoteAddress }, 'connection opened');
    this.emit('connection', info);
    if (this.session) {
      this.session.handle(socket, id);
      return;
    }
    if (this.waiting.length >= MAX_WAITING_CONNECTIONS) {
      this.log.warn({ connection: id }, 'too many connections waiting for a session; refused');
      this.counters.failedConnections += 1;
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => {
      const index = this.waiting.findIndex((w) => w.id === id);
      if (index >= 0) this.waiting.splice(index, 1);
      this.counters.failedConnections += 1;
      this.log.warn(
        { connection: id, waitedMs: this.options.connectTimeoutMs, reason: this.lastError },
        'connection closed: no SSM session came up in time',
      );
      socket.destroy();
    }, this.options.connectTimeoutMs);
    timer.unref();
    this.waiting.push({ socket, id, timer });
  }

  private onConnectionClosed(summary: ConnectionSummary): void {
    this.counters.bytesUp += summary.bytesUp;
    this.counters.bytesDown += summary.bytesDown;
    if (summary.error !== undefined) this.counters.failedConnections += 1;
    const fields = { connection: summary.id, bytesUp: summary.bytesUp, bytesDown: summary.bytesDown, durationMs: summary.durationMs };
    if (summary.error !== undefined) this.log.warn({ ...fields, reason: summary.error }, 'connection failed');
    else this.log.info(fields, 'connection closed');
    this.emit('connectionClosed', summary);
  }

  private setState(state: TunnelState, detail?: string): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.log.info({ state, detail }, 'tunnel state');
    this.emit('state', state, detail);
  }

  /** 'error' is emitted only when somebody listens: an unheard error must not crash the host process. */
  private reportError(error: Error): void {
    this.lastError = error.message;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.log.error({ err: error.message }, 'tunnel error');
  }
}

/** Opens a tunnel and resolves once its first session is up (DESIGN.md, public surface). */
export async function openTunnel(options: TunnelOptions): Promise<Tunnel> {
  const tunnel = await Tunnel.start(options);
  try {
    await tunnel.ready();
  } catch (error) {
    await tunnel.close();
    throw error;
  }
  return tunnel;
}
