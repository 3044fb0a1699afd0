import { EventEmitter } from 'node:events';
import pRetry, { AbortError } from 'p-retry';
import type { SessionApi } from '../aws/session-api.js';
import type { ConnectionSummary } from '../forward/forwarding-channel.js';
import type { Logger } from '../logging.js';
import type { ResolvedTunnelOptions } from './resolve-options.js';
import { TunnelSession } from './tunnel-session.js';

/**
 * - `starting`: the first session is being started
 * - `ready`: a session carries connections
 * - `resuming`: its WebSocket dropped; the same session is being resumed, connections are kept
 * - `restarting`: the session was lost; a new one is being started
 * - `failed`: retries are exhausted; the slot is done
 */
export type SlotState = 'starting' | 'ready' | 'resuming' | 'restarting' | 'failed';

export interface SessionSlotEvents {
  state: [state: SlotState, detail?: string];
  /** A session (the first or a replacement) is up and may take connections. */
  session: [TunnelSession];
  /** One attempt to start a session failed; another follows unless retries are exhausted. */
  startFailed: [Error];
  /** No more attempts: the last error. */
  gaveUp: [Error];
  connectionClosed: [ConnectionSummary];
}

/**
 * Keeps one SSM session alive for a tunnel: starts it, follows its resumes, and starts a new one
 * (backing off with jitter per the reconnect policy) whenever it is lost.
 */
export class SessionSlot extends EventEmitter<SessionSlotEvents> {
  private current: TunnelSession | undefined;
  private currentState: SlotState = 'starting';
  private establishing = false;
  private started = 0;
  private resumeCount = 0;

  constructor(
    private readonly api: SessionApi,
    private readonly options: ResolvedTunnelOptions,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {
    super();
  }

  get session(): TunnelSession | undefined {
    return this.current;
  }

  get state(): SlotState {
    return this.currentState;
  }

  /** Sessions started so far; after the first, each one is a reconnect. */
  get sessionsStarted(): number {
    return this.started;
  }

  /** WebSocket drops survived with ResumeSession. */
  get resumes(): number {
    return this.resumeCount;
  }

  start(): void {
    this.establish();
  }

  /** Ends the current session (TerminateSession); call after aborting the signal. */
  async terminate(): Promise<void> {
    const session = this.current;
    this.current = undefined;
    await session?.terminate();
  }

  private establish(): void {
    if (this.establishing || this.signal.aborted) return;
    this.establishing = true;
    const { reconnect } = this.options;
    pRetry(
      async () => {
        try {
          return await TunnelSession.start(this.api, this.options, this.log);
        } catch (error) {
          this.emit('startFailed', error as Error);
          throw error;
        }
      },
      {
        retries: reconnect.maxRetries,
        factor: reconnect.factor,
        minTimeout: reconnect.initialDelayMs,
        maxTimeout: reconnect.maxDelayMs,
        randomize: true,
        signal: this.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          this.log.warn({ err: error.message, attemptNumber }, this.started > 0 ? 'cannot start a new session; retrying' : 'cannot start the session; retrying');
        },
      },
    ).then(
      (session) => {
        this.establishing = false;
        if (this.signal.aborted) {
          void session.terminate();
          return;
        }
        this.adopt(session);
      },
      (error: Error) => {
        this.establishing = false;
        if (this.signal.aborted || error instanceof AbortError) return;
        this.setState('failed', error.message);
        this.emit('gaveUp', error);
      },
    );
  }

  private adopt(session: TunnelSession): void {
    this.current = session;
    this.started += 1;
    session.on('connectionClosed', (summary) => this.emit('connectionClosed', summary));
    session.on('disconnected', (reason) => this.setState('resuming', reason));
    session.on('resumed', () => {
      this.resumeCount += 1;
      this.setState('ready', 'resumed');
    });
    session.on('lost', (reason) => {
      if (this.current !== session) return;
      this.current = undefined;
      this.log.warn({ reason }, 'session lost; starting a new one');
      this.setState('restarting', reason);
      this.establish();
    });
    this.setState('ready', session.sessionId);
    this.emit('session', session);
  }

  private setState(state: SlotState, detail?: string): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit('state', state, detail);
  }
}
