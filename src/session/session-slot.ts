import { EventEmitter } from 'node:events';
import pRetry from 'p-retry';
import type { SessionApi } from '../aws/session-api.js';
import type { ConnectionSummary } from '../forward/forwarding-channel.js';
import type { Logger } from '../logging.js';
import type { SessionOptions } from './options.js';
import { SsmSession } from './ssm-session.js';

/**
 * - `starting`: the first session is being started
 * - `ready`: a session carries connections
 * - `resuming`: its WebSocket dropped; the same session is being resumed, connections are kept
 * - `restarting`: the session was lost; a new one is being started (a reconnect)
 * - `failed`: retries are exhausted; the slot is done
 */
export type SlotState = 'starting' | 'ready' | 'resuming' | 'restarting' | 'failed';

export interface SessionSlotEvents {
  state: [state: SlotState, detail?: string];
  /** A session (the first or a replacement) is up and may take connections. */
  session: [SsmSession];
  /** One attempt to start a session failed; another follows unless retries are exhausted or the owner stops. */
  startFailed: [error: Error, attemptNumber: number];
  /** No more attempts: the last error. */
  gaveUp: [Error];
  connectionClosed: [ConnectionSummary];
}

/**
 * Keeps one SSM session alive for its owner: starts it, follows its resumes, and starts a new one
 * (backing off with jitter per the reconnect policy) whenever it is lost. The owner's signal stops
 * it; terminate() then ends whatever was started, including a start still under way.
 */
export class SessionSlot extends EventEmitter<SessionSlotEvents> {
  private current: SsmSession | undefined;
  private currentState: SlotState = 'starting';
  private establishing = false;
  /** The start attempt in flight; it settles only after cleaning up (or handing over) its session. */
  private attempt: Promise<unknown> = Promise.resolve();
  /** The retry loop; settles once its outcome is adopted, or terminated when the owner stopped. */
  private establishment: Promise<void> = Promise.resolve();
  private started = 0;
  private resumeCount = 0;

  constructor(
    private readonly api: SessionApi,
    private readonly options: SessionOptions,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {
    super();
  }

  get session(): SsmSession | undefined {
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

  /**
   * Ends the current session (TerminateSession) and waits for a start under way to end its own;
   * call after aborting the signal.
   */
  async terminate(): Promise<void> {
    await Promise.all([this.attempt, this.establishment]);
    const session = this.current;
    this.current = undefined;
    await session?.terminate();
  }

  private establish(): void {
    if (this.establishing || this.signal.aborted) return;
    this.establishing = true;
    const { reconnect } = this.options;
    // p-retry stops waiting as soon as the signal fires, but the attempt it started runs on: it is
    // kept in `attempt` so terminate() can wait until that attempt has ended its session.
    this.establishment = pRetry(
      (attemptNumber) => {
        const attempt = this.startOnce(attemptNumber);
        this.attempt = attempt.catch(() => undefined);
        return attempt;
      },
      {
        retries: reconnect.maxRetries,
        factor: reconnect.factor,
        minTimeout: reconnect.initialDelayMs,
        maxTimeout: reconnect.maxDelayMs,
        randomize: true,
        signal: this.signal,
      },
    ).then(
      async (session) => {
        this.establishing = false;
        if (this.signal.aborted) await session.terminate();
        else this.adopt(session);
      },
      (error: Error) => {
        this.establishing = false;
        if (this.signal.aborted) return;
        this.setState('failed', error.message);
        this.emit('gaveUp', error);
      },
    );
  }

  /** One start; a session that comes up after the owner stopped is terminated here, not adopted. */
  private async startOnce(attemptNumber: number): Promise<SsmSession> {
    let session: SsmSession;
    try {
      session = await SsmSession.start(this.api, this.options, this.log, this.signal);
    } catch (error) {
      if (!this.signal.aborted) this.emit('startFailed', error as Error, attemptNumber);
      throw error;
    }
    if (this.signal.aborted) {
      await session.terminate();
      throw this.signal.reason;
    }
    return session;
  }

  private adopt(session: SsmSession): void {
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
