import type { SessionApi } from '../aws/session-api.js';
import { ErrorCode, errorCode, isRetryable, SsmTunnelError } from '../errors.js';
import type { ConnectionSummary, LocalStream } from '../forward/forwarding-channel.js';
import type { Logger } from '../logging.js';
import type { SessionOptions } from '../session/options.js';
import { SessionSlot, type SlotState } from '../session/session-slot.js';
import type { PoolMember } from './destination-pool.js';

/*
 * One destination's session for the proxy: a session slot (start, resume, replacement when lost,
 * TerminateSession at the end) whose readiness requests can wait for, within a time limit.
 */

export interface DestinationSessionOptions {
  /** How long a request waits for the session to come up before it is refused. */
  connectTimeoutMs: number;
  /** Told each time a session (the first or a replacement) comes up. */
  onSession: () => void;
  onConnectionClosed: (summary: ConnectionSummary) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class DestinationSession implements PoolMember {
  private readonly slot: SessionSlot;
  private readonly abort = new AbortController();
  private lastError: Error | undefined;
  private permanentError: Error | undefined;
  private closing: Promise<void> | undefined;
  /** Requests waiting for the session to come up, each with its own time limit. */
  private readonly waiters = new Set<Waiter>();
  /**
   * Set once a connection through the current session was not refused: later connections get
   * their success reply at once instead of waiting out the refusal check.
   */
  reachable = false;

  constructor(
    api: SessionApi,
    sessionOptions: SessionOptions,
    log: Logger,
    private readonly options: DestinationSessionOptions,
  ) {
    this.slot = new SessionSlot(api, sessionOptions, log, this.abort.signal);
    this.slot.on('startFailed', (error, attemptNumber) => {
      this.lastError = error;
      log.warn({ err: error.message, code: errorCode(error), attemptNumber }, 'cannot start a session for this destination');
      if (!isRetryable(error)) this.failWaiters(error);
    });
    this.slot.on('gaveUp', (error) => this.failWaiters(error));
    this.slot.on('session', () => {
      this.reachable = false;
      this.options.onSession();
      this.settleWaiters((waiter) => waiter.resolve());
    });
    this.slot.on('connectionClosed', (summary) => this.options.onConnectionClosed(summary));
    this.slot.start();
  }

  get state(): SlotState {
    return this.slot.state;
  }

  get sessionId(): string | undefined {
    return this.slot.session?.sessionId;
  }

  get targetId(): string | undefined {
    return this.slot.session?.targetId;
  }

  get openConnections(): number {
    return this.slot.session?.activeConnections ?? 0;
  }

  /**
   * Resolves when a session is up; rejects at once on an error no retry can fix, else after
   * connectTimeoutMs with `ERR_CONNECT_TIMEOUT` (the last start error as its cause).
   */
  ready(): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new SsmTunnelError(ErrorCode.TUNNEL_CLOSED, 'the session was ended'));
    if (this.slot.session !== undefined) return Promise.resolve();
    if (this.permanentError !== undefined) return Promise.reject(this.permanentError);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const why = this.lastError === undefined ? '' : `: ${this.lastError.message}`;
          reject(new SsmTunnelError(ErrorCode.CONNECT_TIMEOUT, `no session within ${this.options.connectTimeoutMs} ms${why}`, { cause: this.lastError }));
        }, this.options.connectTimeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Hands a connection (a socket, or anything duplex that stands for one) to the session. */
  handle(socket: LocalStream, id: number): void {
    const session = this.slot.session;
    if (session === undefined) {
      socket.destroy();
      return;
    }
    session.handle(socket, id);
  }

  private failWaiters(error: Error): void {
    this.permanentError = error;
    this.settleWaiters((waiter) => waiter.reject(error));
  }

  private settleWaiters(settle: (waiter: Waiter) => void): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      settle(waiter);
    }
    this.waiters.clear();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new SsmTunnelError(ErrorCode.TUNNEL_CLOSED, 'the session was ended');
      this.settleWaiters((waiter) => waiter.reject(closed));
      this.abort.abort();
      await this.slot.terminate();
    })();
    return this.closing;
  }
}
