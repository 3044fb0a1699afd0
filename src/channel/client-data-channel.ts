import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Agent, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import pRetry, { AbortError } from 'p-retry';
import {
  ActionStatus,
  ActionType,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeSessionTypeParameters,
  encodeFlag,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  PayloadType,
  type DecodedClientMessage,
  type ProcessedClientAction,
} from '../protocol/index.js';
import type { ResumeResult } from '../aws/session-api.js';
import { silentLogger, type Logger } from '../logging.js';
import { ErrorCode, isRetryable, SsmTunnelError } from '../errors.js';
import { toBuffer } from '../util/net.js';
import { batchingTransport } from './batching-transport.js';
import { webSocketTransport } from './frame-transport.js';
import { WarningLimiter } from '../util/warning-limiter.js';
import { streamUrlRefusal } from './stream-url.js';
import { ReliableChannel, type InboundHandler, type ReliableChannelOptions } from './reliable-channel.js';

/**
 * The official release whose behaviour we implement. The agent picks mux mode and turns its smux
 * keepalive off from this number (docs/protocol.md §8.6), so it must stay > 1.2.331.0.
 */
export const CLIENT_VERSION = '1.2.677.0';

/** Agent frames are ≤ 1144 bytes; anything near this cap is an attack or a bug (the official client sets none, docs/protocol.md §4.2). */
const MAX_INBOUND_FRAME = 256 * 1024;

/** How long a closing WebSocket waits for the peer's close frame before the socket is dropped. */
const CLOSE_ANSWER_WAIT_MS = 1000;
/**
 * How long a session the agent completed waits for its consumer to take the output it holds
 * (refused while the consumer was full) before it ends regardless; a consumer that reads at all
 * takes it far sooner.
 */
const HELD_DELIVERY_WAIT_MS = 30_000;

export interface HandshakeOutcome {
  agentVersion: string;
  sessionType: string;
  /** The document's resolved properties, all strings (docs/forwarding.md §1.1). */
  properties: Record<string, string>;
  customerMessage: string;
}

/** Backoff of ResumeSession after a dropped socket (the tunnel passes its reconnect policy). */
export interface ResumePolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** `Infinity`: until the service says the session is gone (no token, DoesNotExist). */
  maxRetries: number;
}

const DEFAULT_RESUME_POLICY: ResumePolicy = { initialDelayMs: 100, maxDelayMs: 5000, factor: 2, maxRetries: 5 };

export interface ClientDataChannelOptions {
  sessionId: string;
  streamUrl: string;
  /** The custom API endpoint that returned `streamUrl`, if any: a `ws:` StreamUrl is opened only for a loopback `http:` one. */
  apiEndpoint?: string | undefined;
  tokenValue: string;
  /** ResumeSession; a result without a token means the session is gone. */
  resumeSession: (sessionId: string) => Promise<ResumeResult>;
  clientId?: string;
  clientVersion?: string;
  /** Time from opening the socket to HandshakeComplete. */
  handshakeTimeoutMs?: number;
  /** WebSocket opening handshake timeout. */
  dialTimeoutMs?: number;
  /** WebSocket ping period; a socket that does not answer within one period is dropped and resumed. */
  pingIntervalMs?: number;
  /** How ResumeSession is retried after a drop; the session counts as lost when retries run out. */
  resume?: Partial<ResumePolicy>;
  channel?: Omit<ReliableChannelOptions, 'role' | 'ackBeforeDelivery' | 'logger'>;
  /** Connects the WebSocket (through a proxy, trusting a CA bundle); unset: directly, Node's CAs. */
  agent?: Agent;
  logger?: Logger;
}

/** Why a session cannot continue; the tunnel starts a new one. */
export interface SessionEnded {
  reason: string;
  /** True when the service said so (channel_closed, no resume token), false when we gave up. */
  byService: boolean;
  /**
   * The agent closed the channel without an error output: the session ran to its end (how an
   * SSH-style session reports that its destination closed), rather than failing.
   */
  completed?: boolean;
}

export interface ClientDataChannelEvents {
  drain: [];
  disconnected: [reason: string];
  /** The same session is carried again over a new WebSocket (ResumeSession). */
  resumed: [];
  ended: [SessionEnded];
}

/**
 * The client end of one Session Manager data channel: WebSocket + OpenDataChannel frame
 * (docs/protocol.md §4), the port-session handshake (§8), the reliable core, and resume after a
 * dropped socket (docs/protocol.md §9) with the original StreamUrl and a fresh token.
 */
export class ClientDataChannel extends EventEmitter<ClientDataChannelEvents> {
  readonly sessionId: string;
  private readonly options: ClientDataChannelOptions;
  private readonly clientId: string;
  private readonly log: Logger;
  /** Per-message warnings the agent can trigger at will, rate-limited. */
  private readonly warnings: WarningLimiter;
  private readonly channel: ReliableChannel;

  private ws: WebSocket | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private handshake: HandshakeOutcome | undefined;
  private agentVersion = '';
  private sessionType = '';
  private properties: Record<string, string> = {};
  private inbound: InboundHandler = () => false;
  private state: 'idle' | 'opening' | 'open' | 'resuming' | 'ended' = 'idle';
  private openWaiter: { resolve: (h: HandshakeOutcome) => void; reject: (e: Error) => void } | undefined;
  private resumeAbort: AbortController | undefined;
  /** flush() calls waiting for every sent message to be acknowledged; checked after each inbound frame. */
  private readonly flushWaiters = new Set<() => void>();
  /** The agent completed the session; it ends once the output held for the consumer is delivered. */
  private endingAfterHeld: { ended: SessionEnded; timer: NodeJS.Timeout } | undefined;

  constructor(options: ClientDataChannelOptions) {
    super();
    this.options = options;
    this.sessionId = options.sessionId;
    this.clientId = options.clientId ?? randomUUID();
    // The caller binds the session id to its logger (the tunnel does), so it appears once per line.
    this.log = options.logger ?? silentLogger;
    this.warnings = new WarningLimiter(this.log);
    this.channel = new ReliableChannel({
      ...options.channel,
      role: 'client',
      // Handshake messages are acknowledged before they are processed (docs/protocol.md §5.3).
      ackBeforeDelivery: (type) =>
        type === PayloadType.HandshakeRequest || type === PayloadType.HandshakeComplete || type === PayloadType.EncChallengeRequest,
      logger: this.log,
    });
    this.channel.setInboundHandler((message) => this.onStreamMessage(message));
    this.channel.on('drain', () => this.emit('drain'));
    this.channel.on('channelClosed', (closed) => {
      const reason = closed.output === '' ? 'the service closed the session' : `the service closed the session: ${closed.output}`;
      const ended = { reason, byService: true, completed: closed.output === '' };
      // The agent's last output (an SSH-style session's, before its destination closed) is still
      // the consumer's: what the consumer refused while full is delivered before the end.
      if (ended.completed && this.state === 'open' && this.channel.hasDeliverable) {
        this.stopPing();
        this.endingAfterHeld = { ended, timer: setTimeout(() => this.endAfterHeld(true), HELD_DELIVERY_WAIT_MS) };
        return;
      }
      this.end(ended);
    });
    this.channel.on('resendTimeout', (sequenceNumber) => {
      this.end({ reason: `message ${sequenceNumber} was never acknowledged`, byService: false });
    });
  }

  get handshakeOutcome(): HandshakeOutcome | undefined {
    return this.handshake;
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  get writable(): boolean {
    return this.channel.writable;
  }

  get unacknowledgedCount(): number {
    return this.channel.unacknowledgedCount;
  }

  /** Bytes handed to the socket and not yet written; bounded even when the agent reads nothing. */
  get queuedTransportBytes(): number {
    return this.channel.queuedTransportBytes;
  }

  /**
   * Connects and completes the handshake. Resolves once the session may carry data. `signal`
   * cancels the opening at any stage: the WebSocket is closed, timers cleared, and the promise
   * rejects with ERR_ABORTED (ending the session itself is the caller's job).
   */
  open(signal?: AbortSignal): Promise<HandshakeOutcome> {
    if (this.state !== 'idle') return Promise.reject(new SsmTunnelError(ErrorCode.HANDSHAKE, `data channel already ${this.state}`, { retryable: false }));
    if (signal?.aborted) return Promise.reject(new SsmTunnelError(ErrorCode.ABORTED, 'the data channel opening was cancelled', { cause: signal.reason }));
    // Before any connection: the StreamUrl decides where the token goes.
    const insecure = streamUrlRefusal(this.options.streamUrl, { apiEndpoint: this.options.apiEndpoint });
    if (insecure !== undefined) {
      this.state = 'ended';
      return Promise.reject(insecure);
    }
    this.state = 'opening';
    const timeoutMs = this.options.handshakeTimeoutMs ?? 30_000;
    return new Promise<HandshakeOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        this.failOpen(new SsmTunnelError(ErrorCode.ABORTED, 'the data channel opening was cancelled', { cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        this.failOpen(new SsmTunnelError(ErrorCode.HANDSHAKE, `no handshake from the agent within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.openWaiter = {
        resolve: (h) => {
          settle();
          resolve(h);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.connect(this.options.tokenValue).catch((error: Error) => this.failOpen(error));
    });
  }

  /** Sends stream data (PayloadType Output); false means wait for 'drain'. */
  write(payload: Buffer): boolean {
    return this.channel.send(PayloadType.Output, payload);
  }

  sendFlag(flag: number): void {
    this.channel.send(PayloadType.Flag, encodeFlag(flag));
  }

  /** Receives Output and Flag messages after the handshake. Return false to hold delivery (no ack). */
  setInboundHandler(handler: InboundHandler): void {
    this.inbound = handler;
  }

  resumeDelivery(): void {
    this.channel.resumeDelivery();
  }

  /** Waits until everything sent so far is acknowledged, or the time is up. Resolves true if it was. */
  flush(timeoutMs: number): Promise<boolean> {
    const done = (): boolean => this.channel.unacknowledgedCount === 0 || this.state === 'ended';
    if (done()) return Promise.resolve(this.channel.unacknowledgedCount === 0);
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (done()) finish();
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.flushWaiters.delete(check);
        resolve(this.channel.unacknowledgedCount === 0);
      };
      const timer = setTimeout(finish, timeoutMs);
      this.flushWaiters.add(check);
    });
  }

  /** Drops the socket without ending the session (tests and the emulator's faults use this path too). */
  dropConnection(): void {
    this.ws?.terminate();
  }

  /** Stops everything. The session itself is ended by the caller (flag or API). */
  close(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.cleanup();
  }

  // --- connection ------------------------------------------------------------------------------

  private connect(tokenValue: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // A resume attempt that outlived close(): nothing may be opened any more.
      if (this.state === 'ended') {
        reject(new SsmTunnelError(ErrorCode.TUNNEL_CLOSED, 'the data channel is closed'));
        return;
      }
      const ws = new WebSocket(this.options.streamUrl, {
        handshakeTimeout: this.options.dialTimeoutMs ?? 15_000,
        perMessageDeflate: false,
        maxPayload: MAX_INBOUND_FRAME,
        ...(this.options.agent === undefined ? {} : { agent: this.options.agent }),
      });
      this.ws = ws;
      let opened = false;
      let socket: Socket | undefined;
      ws.once('upgrade', (response: IncomingMessage) => {
        socket = response.socket;
      });
      ws.on('open', () => {
        opened = true;
        ws.send(
          encodeOpenDataChannel({
            messageSchemaVersion: '1.0',
            requestId: randomUUID(),
            tokenValue,
            clientId: this.clientId,
            clientVersion: this.options.clientVersion ?? CLIENT_VERSION,
          }),
        );
        this.channel.attach(batchingTransport(webSocketTransport(ws), socket));
        this.startPing(ws);
        resolve();
      });
      ws.on('message', (data: RawData) => {
        if (this.ws !== ws) return;
        this.channel.handleFrame(toBuffer(data));
        // Acknowledgements arrive only here: this is when a flush() may be over.
        for (const check of [...this.flushWaiters]) check();
      });
      ws.on('pong', () => {
        this.awaitingPong = false;
      });
      ws.on('error', (error) => {
        this.log.debug({ err: error.message }, 'WebSocket error');
        // The agent's proxy and certificate errors already name the host and the cause.
        if (!opened) {
          reject(error instanceof SsmTunnelError ? error : new SsmTunnelError(ErrorCode.DATA_CHANNEL, `cannot open the data channel: ${error.message}`, { cause: error }));
        }
      });
      ws.on('close', (code, reason) => {
        if (!opened) reject(new SsmTunnelError(ErrorCode.DATA_CHANNEL, `data channel closed while opening (code ${code})`));
        // A socket that never opened has already failed connect() with its own error.
        if (this.ws === ws && opened) this.onConnectionLost(`WebSocket closed (code ${code}${reason.length ? `, ${reason.toString()}` : ''})`);
      });
    });
  }

  private startPing(ws: WebSocket): void {
    this.stopPing();
    this.awaitingPong = false;
    // docs/protocol.md §4.3: ping at once with payload "keepalive", then periodically.
    ws.ping('keepalive');
    const interval = this.options.pingIntervalMs ?? 30_000;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.log.warn({ intervalMs: interval }, 'WebSocket did not answer a ping; dropping it and resuming the session');
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping('keepalive');
    }, interval);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private onConnectionLost(reason: string): void {
    this.channel.detach();
    this.stopPing();
    this.ws = undefined;
    if (this.state === 'opening') {
      this.failOpen(new SsmTunnelError(ErrorCode.HANDSHAKE, `data channel lost during the handshake: ${reason}`));
      return;
    }
    // The agent already ended the session; only its held output is still being delivered.
    if (this.state !== 'open' || this.endingAfterHeld) return;
    this.state = 'resuming';
    this.log.warn({ reason }, 'data channel lost; resuming the session');
    this.emit('disconnected', reason);
    void this.resume();
  }

  private async resume(): Promise<void> {
    const abort = new AbortController();
    this.resumeAbort = abort;
    const policy = { ...DEFAULT_RESUME_POLICY, ...this.options.resume };
    try {
      await pRetry(
        async () => {
          let result: ResumeResult;
          try {
            result = await this.options.resumeSession(this.sessionId);
          } catch (error) {
            if (!isRetryable(error)) throw new AbortError(error as Error);
            throw error;
          }
          if (!result.tokenValue) {
            // Retrying ResumeSession cannot help; a new session can.
            throw new AbortError(
              new SsmTunnelError(ErrorCode.SESSION_ENDED, 'the service no longer has this session (timed out or terminated)', { retryable: false }),
            );
          }
          if (abort.signal.aborted) return;
          // The StreamUrl in the response is ignored, as the reference does (docs/protocol.md §9.2).
          await this.connect(result.tokenValue);
        },
        {
          retries: policy.maxRetries,
          factor: policy.factor,
          minTimeout: policy.initialDelayMs,
          maxTimeout: policy.maxDelayMs,
          randomize: true,
          signal: abort.signal,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            this.log.warn({ err: error.message, attemptNumber, retriesLeft }, 'resume attempt failed');
          },
        },
      );
      if (this.state !== 'resuming') return;
      this.state = 'open';
      this.log.info('data channel resumed');
      this.emit('resumed');
    } catch (error) {
      if (this.state === 'ended') return;
      // A permanent error means the service has ended the session (or will not let us back in);
      // after exhausted retries it may still be open there, and the owner terminates it.
      this.end({ reason: `cannot resume the session: ${(error as Error).message}`, byService: !isRetryable(error) });
    } finally {
      this.resumeAbort = undefined;
    }
  }

  private failOpen(error: Error): void {
    const waiter = this.openWaiter;
    this.openWaiter = undefined;
    this.state = 'ended';
    this.cleanup();
    waiter?.reject(error);
  }

  private end(ended: SessionEnded): void {
    if (this.state === 'ended') return;
    if (this.openWaiter) {
      this.failOpen(new SsmTunnelError(ErrorCode.SESSION_ENDED, ended.reason));
      return;
    }
    this.state = 'ended';
    this.cleanup();
    this.log.info({ reason: ended.reason }, 'session ended');
    this.emit('ended', ended);
  }

  private cleanup(): void {
    if (this.endingAfterHeld) clearTimeout(this.endingAfterHeld.timer);
    this.endingAfterHeld = undefined;
    this.resumeAbort?.abort();
    for (const check of [...this.flushWaiters]) check();
    this.stopPing();
    this.channel.close();
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      // A clean close frame; the socket is dropped if the peer does not answer it.
      ws.close(1000);
      const dropTimer = setTimeout(() => ws.terminate(), CLOSE_ANSWER_WAIT_MS);
      ws.once('close', () => clearTimeout(dropTimer));
    }
  }

  // --- handshake (docs/protocol.md §8) ---------------------------------------------------------------

  private onStreamMessage(message: DecodedClientMessage): boolean {
    switch (message.payloadType) {
      case PayloadType.HandshakeRequest:
        this.onHandshakeRequest(message.payload);
        return true;
      case PayloadType.HandshakeComplete:
        this.onHandshakeComplete(message.payload);
        return true;
      case PayloadType.EncChallengeRequest:
        this.warnings.warn({}, 'ignored an encryption challenge: port sessions are never encrypted');
        return true;
      default:
        if (!this.handshake) {
          this.warnings.warn({ payloadType: message.payloadType }, 'discarded stream data that arrived before the handshake completed');
          return true;
        }
        if (this.endingAfterHeld) queueMicrotask(() => this.endAfterHeld(false));
        return this.inbound(message);
    }
  }

  private endAfterHeld(timedOut: boolean): void {
    const ending = this.endingAfterHeld;
    if (!ending || (!timedOut && this.channel.hasDeliverable)) return;
    this.endingAfterHeld = undefined;
    clearTimeout(ending.timer);
    if (timedOut) this.log.warn({ held: this.channel.heldCount }, "the consumer did not take the agent's last output in time");
    this.end(ending.ended);
  }

  private onHandshakeRequest(payload: Buffer): void {
    let actions: ProcessedClientAction[];
    const errors: string[] = [];
    try {
      const request = decodeHandshakeRequest(payload);
      this.agentVersion = request.agentVersion;
      actions = request.requestedClientActions.map((action) => {
        if (action.actionType === ActionType.SessionType) {
          const parameters = decodeSessionTypeParameters(action.actionParameters);
          if (parameters.sessionType !== 'Port') {
            const error = `ssm-tunnel handles Port sessions only, the agent asked for ${parameters.sessionType}`;
            errors.push(error);
            return { actionType: action.actionType, actionStatus: ActionStatus.Failed, actionResult: null, error };
          }
          this.sessionType = parameters.sessionType;
          this.properties = parameters.properties;
          return { actionType: action.actionType, actionStatus: ActionStatus.Success, actionResult: null, error: '' };
        }
        const error = `Unsupported action ${action.actionType}`;
        errors.push(error);
        return { actionType: action.actionType, actionStatus: ActionStatus.Unsupported, actionResult: null, error };
      });
    } catch (error) {
      this.failOpen(new SsmTunnelError(ErrorCode.PROTOCOL, `invalid HandshakeRequest from the agent: ${(error as Error).message}`, { cause: error }));
      return;
    }
    this.log.debug({ agentVersion: this.agentVersion, properties: this.properties }, 'handshake request');
    this.channel.send(
      PayloadType.HandshakeResponse,
      encodeHandshakeResponse({ clientVersion: this.options.clientVersion ?? CLIENT_VERSION, processedClientActions: actions, errors }),
    );
    if (errors.length > 0) this.failOpen(new SsmTunnelError(ErrorCode.HANDSHAKE, `handshake refused: ${errors.join('; ')}`, { retryable: false }));
  }

  private onHandshakeComplete(payload: Buffer): void {
    let customerMessage = '';
    try {
      customerMessage = decodeHandshakeComplete(payload).customerMessage;
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'malformed HandshakeComplete; continuing');
    }
    if (this.sessionType === '') {
      this.failOpen(new SsmTunnelError(ErrorCode.HANDSHAKE, 'handshake completed without a session type'));
      return;
    }
    this.handshake = { agentVersion: this.agentVersion, sessionType: this.sessionType, properties: this.properties, customerMessage };
    this.state = 'open';
    const waiter = this.openWaiter;
    this.openWaiter = undefined;
    waiter?.resolve(this.handshake);
  }
}
