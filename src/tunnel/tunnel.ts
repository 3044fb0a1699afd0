import { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { SessionApi } from '../aws/session-api.js';
import { createSsmSessionApi } from '../aws/ssm-session-api.js';
import { formatTarget } from '../aws/target-resolver.js';
import { isRetryable } from '../errors.js';
import type { ConnectionSummary } from '../forward/forwarding-channel.js';
import { silentLogger, type Logger } from '../logging.js';
import { LocalListener } from './local-listener.js';
import type { TunnelOptions } from './options.js';
import { isLoopbackHost, resolveTunnelOptions, type ResolvedTunnelOptions } from './resolve-options.js';
import { SessionSlot, type SlotState } from './session-slot.js';
import type { TunnelSession } from './tunnel-session.js';

/**
 * - `connecting`: listening, the first session is being started
 * - `ready`: a session carries connections (with a pool: at least one does)
 * - `resuming`: the WebSocket dropped; the same session is being resumed, connections are kept
 * - `reconnecting`: the session was lost; a new one is being started, new connections wait
 * - `closed`: close() finished
 */
export type TunnelState = 'connecting' | 'ready' | 'resuming' | 'reconnecting' | 'closing' | 'closed';

export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
}

/** One session of the tunnel's pool. */
export interface PoolSessionStats {
  state: SlotState;
  sessionId: string | undefined;
  /** The node it runs on (what a name or tag target resolved to). */
  targetId: string | undefined;
  openConnections: number;
}

export interface TunnelStats {
  state: TunnelState;
  /** The first live session of the pool (the only one unless `sessions` > 1). */
  sessionId: string | undefined;
  targetId: string | undefined;
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
  /** Every session of the pool, in order. */
  sessions: PoolSessionStats[];
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
  'TargetNotFound',
  'AmbiguousTarget',
  'TargetLookupUnavailable',
]);

/** At most this many local connections wait for a session; more are refused at once. */
const MAX_WAITING_CONNECTIONS = 1024;

interface WaitingConnection {
  socket: Socket;
  id: number;
  timer: NodeJS.Timeout;
}

/**
 * A local listener bound to a pool of SSM sessions (one unless `sessions` says more), each kept
 * alive on its own. The listener stays open across drops and new sessions; each connection goes to
 * the least-loaded live session, and connections that arrive while none is up wait (bounded).
 */
export class Tunnel extends EventEmitter<TunnelEvents> {
  readonly options: ResolvedTunnelOptions;
  private readonly log: Logger;
  private listener: LocalListener | undefined;
  private readonly slots: SessionSlot[];
  private currentState: TunnelState = 'connecting';
  private readonly waiting: WaitingConnection[] = [];
  private nextConnectionId = 1;
  private readonly abort = new AbortController();
  private readonly counters = {
    totalConnections: 0,
    failedConnections: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  private lastError: string | undefined;
  /** Reports errors that make waiting pointless to ready(); separate from 'error' so nothing throws unheard. */
  private readonly permanentFailure = new EventEmitter<{ failed: [Error] }>();

  private constructor(options: ResolvedTunnelOptions, api: SessionApi, log: Logger) {
    super();
    this.options = options;
    this.log = log;
    this.slots = Array.from({ length: options.sessions }, (_, index) => {
      const slot = new SessionSlot(api, options, options.sessions === 1 ? log : log.child({ poolSession: index + 1 }), this.abort.signal);
      slot.on('state', (_state, detail) => this.updateState(detail));
      slot.on('session', () => this.serveWaiting());
      slot.on('startFailed', (error) => this.onStartFailed(error));
      slot.on('gaveUp', (error) => this.onGaveUp(error));
      slot.on('connectionClosed', (summary) => this.onConnectionClosed(summary));
      return slot;
    });
  }

  /**
   * Listens and starts establishing the sessions in the background, retrying forever per the
   * reconnect policy (the daemon's way). Use openTunnel() to wait for the first session.
   */
  static async start(options: TunnelOptions): Promise<Tunnel> {
    const resolved = resolveTunnelOptions(options);
    const log = (options.logger ?? silentLogger).child({ target: formatTarget(resolved.target), remote: `${resolved.remoteHost ?? 'target'}:${resolved.remotePort}` });
    const api = options.sessionApi ?? createSsmSessionApi({ ...options, logger: log });
    const tunnel = new Tunnel(resolved, api, log);
    await tunnel.listen();
    for (const slot of tunnel.slots) slot.start();
    return tunnel;
  }

  get state(): TunnelState {
    return this.currentState;
  }

  /** The TCP port (the same on every address); throws for a unix-socket tunnel. */
  get localPort(): number {
    return this.localAddress.port;
  }

  /** The first bound TCP address; throws for a unix-socket tunnel. */
  get localAddress(): AddressInfo {
    const address = this.localAddresses[0];
    if (address === undefined) throw new Error(`the tunnel listens on unix socket ${this.localSocketPath ?? '(none)'}, not on TCP: read localSocketPath`);
    return address;
  }

  /** Every bound TCP address: two for `localhost` (127.0.0.1 and ::1); none for a unix socket. */
  get localAddresses(): AddressInfo[] {
    return this.listener?.addresses ?? [];
  }

  get localSocketPath(): string | undefined {
    return this.listener?.socketPath;
  }

  get sessionId(): string | undefined {
    return this.primarySession()?.sessionId;
  }

  /** Byte counts include connections still open, so a long-lived connection shows its traffic. */
  get stats(): TunnelStats {
    const primary = this.primarySession();
    let openConnections = 0;
    let openUp = 0;
    let openDown = 0;
    for (const slot of this.slots) {
      const session = slot.session;
      if (session === undefined) continue;
      openConnections += session.activeConnections;
      openUp += session.openConnectionBytes.up;
      openDown += session.openConnectionBytes.down;
    }
    return {
      state: this.currentState,
      sessionId: primary?.sessionId,
      targetId: primary?.targetId,
      agentVersion: primary?.agentVersion,
      mode: primary ? (primary.mode.mux ? 'mux' : 'basic') : undefined,
      openConnections,
      waitingConnections: this.waiting.length,
      totalConnections: this.counters.totalConnections,
      failedConnections: this.counters.failedConnections,
      bytesUp: this.counters.bytesUp + openUp,
      bytesDown: this.counters.bytesDown + openDown,
      reconnects: this.slots.reduce((sum, slot) => sum + Math.max(0, slot.sessionsStarted - 1), 0),
      resumes: this.slots.reduce((sum, slot) => sum + slot.resumes, 0),
      lastError: this.lastError,
      sessions: this.slots.map((slot) => ({
        state: slot.state,
        sessionId: slot.session?.sessionId,
        targetId: slot.session?.targetId,
        openConnections: slot.session?.activeConnections ?? 0,
      })),
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
   * every session with TerminateSession and frees the port or socket file.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.currentState === 'closed' || this.currentState === 'closing') return;
    this.setState('closing');
    this.abort.abort();
    const listenerClosed = this.listener?.close();
    for (const waiting of this.waiting.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.socket.destroy();
    }
    const graceMs = options.graceMs ?? 0;
    const deadline = Date.now() + graceMs;
    while (this.stats.openConnections > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await Promise.all(this.slots.map((slot) => slot.terminate()));
    await listenerClosed;
    this.setState('closed');
  }

  // --- internals -------------------------------------------------------------------------------

  private async listen(): Promise<void> {
    const { listen } = this.options;
    this.listener = await LocalListener.open(
      listen,
      (socket) => this.accept(socket),
      (error) => this.reportError(new Error(`local listener failed: ${error.message}`)),
    );
    if (listen.kind === 'tcp' && !isLoopbackHost(listen.host)) {
      this.log.warn({ localHost: listen.host }, 'listening on a non-loopback address: anyone who can reach it can use this tunnel');
    }
    this.log.info({ local: this.listener.describe() }, 'listening');
  }

  /** The first slot's session that is connected, else the first session at all. */
  private primarySession(): TunnelSession | undefined {
    const sessions = this.slots.flatMap((slot) => (slot.session ? [slot.session] : []));
    return sessions.find((session) => session.connected) ?? sessions[0];
  }

  /** The least-loaded session, connected ones first (a resuming session keeps what it has, but queues). */
  private pickSession(): TunnelSession | undefined {
    let best: TunnelSession | undefined;
    for (const slot of this.slots) {
      const session = slot.session;
      if (session === undefined) continue;
      if (
        best === undefined ||
        (session.connected && !best.connected) ||
        (session.connected === best.connected && session.activeConnections < best.activeConnections)
      ) {
        best = session;
      }
    }
    return best;
  }

  private onStartFailed(error: Error): void {
    this.lastError = error.message;
    // Until the first session, permanent errors end ready(): a script should hear them at once.
    if (!this.slots.some((slot) => slot.sessionsStarted > 0) && (PERMANENT_ERRORS.has(error.name) || !isRetryable(error))) this.permanentFailure.emit('failed', error);
  }

  /** A slot ran out of retries; the tunnel gives up when every slot has. */
  private onGaveUp(error: Error): void {
    if (!this.slots.every((slot) => slot.state === 'failed')) return;
    this.lastError = error.message;
    this.permanentFailure.emit('failed', error);
    this.reportError(new Error(`giving up on starting a session: ${error.message}`));
    void this.close();
  }

  private serveWaiting(): void {
    for (const waiting of this.waiting.splice(0)) {
      clearTimeout(waiting.timer);
      if (waiting.socket.destroyed) continue;
      const session = this.pickSession();
      if (session === undefined) {
        waiting.socket.destroy();
        continue;
      }
      session.handle(waiting.socket, waiting.id);
    }
  }

  private accept(socket: Socket): void {
    const id = this.nextConnectionId++;
    this.counters.totalConnections += 1;
    const info: ConnectionInfo = { id, remoteAddress: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix' };
    this.log.info({ connection: id, from: info.remoteAddress }, 'connection opened');
    this.emit('connection', info);
    const session = this.pickSession();
    if (session) {
      session.handle(socket, id);
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

  /** The tunnel's state follows its best session: ready, else resuming, else (re)connecting. */
  private updateState(detail?: string): void {
    if (this.currentState === 'closing' || this.currentState === 'closed') return;
    const states = this.slots.map((slot) => slot.state);
    if (states.includes('ready')) this.setState('ready', detail);
    else if (states.includes('resuming')) this.setState('resuming', detail);
    else if (this.slots.some((slot) => slot.sessionsStarted > 0)) this.setState('reconnecting', detail);
    else this.setState('connecting', detail);
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

/** Opens a tunnel and resolves once its first session is up (README.md, "Library use"). */
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
