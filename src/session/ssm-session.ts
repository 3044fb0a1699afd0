import { EventEmitter } from 'node:events';
import { ClientDataChannel } from '../channel/client-data-channel.js';
import type { SessionApi, SessionGrant, StartSessionRequest } from '../aws/session-api.js';
import { resolveTarget } from '../aws/target-resolver.js';
import { ErrorCode, SsmTunnelError } from '../errors.js';
import { BasicForwarder } from '../forward/basic-forwarder.js';
import type { ConnectionSummary, LocalStream } from '../forward/forwarding-channel.js';
import { MuxForwarder } from '../forward/mux-forwarder.js';
import { clientPortMode, clientStreamMode, Flag, type ClientPortModeDecision } from '../protocol/index.js';
import type { Logger } from '../logging.js';
import type { SessionOptions } from './options.js';

export interface SsmSessionEvents {
  /**
   * The session cannot continue; its owner starts another. `completed`: the agent ended it without
   * an error (for an SSH-style session, how the destination closing shows).
   */
  lost: [reason: string, completed: boolean];
  /** The WebSocket dropped; the session is being resumed and connections are kept. */
  disconnected: [reason: string];
  resumed: [];
  connectionClosed: [ConnectionSummary];
}

/** How long terminate() waits for the TerminateSession flag's acknowledgement before calling the API. */
const TERMINATE_FLAG_WAIT_MS = 1000;
/**
 * A start cancelled while StartSession is in flight waits this long for the session id, so the
 * session can be terminated instead of staying open at the service until its idle timeout.
 */
const IN_FLIGHT_START_WAIT_MS = 5000;

function abortedError(signal: AbortSignal): SsmTunnelError {
  return new SsmTunnelError(ErrorCode.ABORTED, 'the session start was cancelled', { cause: signal.reason });
}

/**
 * One SSM session: StartSession, the data channel, and the forwarder the agent's version calls
 * for (docs/forwarding.md §2.1). Whoever starts it owns its end: terminate(), or losing it.
 */
export class SsmSession extends EventEmitter<SsmSessionEvents> {
  readonly sessionId: string;
  /** The node the session runs on: the target itself, or what its name or tags resolved to. */
  readonly targetId: string;
  readonly agentVersion: string;
  readonly mode: ClientPortModeDecision;
  private readonly api: SessionApi;
  private readonly channel: ClientDataChannel;
  private readonly forwarder: MuxForwarder | BasicForwarder;
  private readonly log: Logger;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private finished = false;

  private constructor(
    api: SessionApi,
    channel: ClientDataChannel,
    targetId: string,
    agentVersion: string,
    portForwarding: boolean,
    options: SessionOptions,
    log: Logger,
  ) {
    super();
    this.api = api;
    this.channel = channel;
    this.sessionId = channel.sessionId;
    this.targetId = targetId;
    this.agentVersion = agentVersion;
    this.mode = portForwarding ? clientPortMode(agentVersion) : clientStreamMode(agentVersion);
    this.log = log;
    this.forwarder = this.mode.mux
      ? new MuxForwarder(channel, { smuxKeepAlive: this.mode.smuxKeepAlive, logger: log })
      : new BasicForwarder(channel, { waitTimeoutMs: options.connectTimeoutMs, logger: log });
    this.forwarder.on('connectionClosed', (summary) => this.emit('connectionClosed', summary));
    this.forwarder.on('fatal', (error) => this.lose(`port forwarding failed: ${error.message}`, false));
    channel.on('ended', (ended) => this.lose(ended.reason, ended.byService, ended.completed === true));
    channel.on('disconnected', (reason) => this.emit('disconnected', reason));
    channel.on('resumed', () => this.emit('resumed'));
    if (options.keepAlive) this.startKeepAlive(options.keepAliveIntervalMs);
  }

  /**
   * Resolves the target (a name or tags are looked up anew each time, so a replaced node is found),
   * starts a session and completes its handshake. A start that fails or is aborted at any stage
   * leaves nothing behind: the WebSocket is closed and the session terminated before this rejects
   * (a StartSession in flight is awaited up to IN_FLIGHT_START_WAIT_MS for its id).
   */
  static async start(api: SessionApi, options: SessionOptions, logger: Logger, signal: AbortSignal): Promise<SsmSession> {
    if (signal.aborted) throw abortedError(signal);
    const targetId = await resolveTarget(options.target, api);
    if (signal.aborted) throw abortedError(signal);
    const grant = await startOwned(
      api,
      {
        target: targetId,
        remoteHost: options.remoteHost,
        remotePort: options.remotePort,
        localPort: options.localPort,
        ...(options.document === undefined ? {} : { document: options.document }),
        ...(options.documentParameters === undefined ? {} : { parameters: options.documentParameters }),
      },
      logger,
      signal,
    );
    const log = logger.child({ sessionId: grant.sessionId, ...(targetId === options.target ? {} : { targetId }) });
    const channel = new ClientDataChannel({
      sessionId: grant.sessionId,
      streamUrl: grant.streamUrl,
      apiEndpoint: api.endpoint,
      tokenValue: grant.tokenValue,
      resumeSession: (id) => api.resumeSession(id),
      ...(api.webSocketAgent === undefined ? {} : { agent: api.webSocketAgent }),
      // Connections wait through a resume, so it is retried as long as a new session would be.
      resume: options.reconnect,
      logger: log,
    });
    // The agent may end the session right after the handshake (a forbidden destination, say),
    // before the session below listens: remember it and fail the start instead.
    let endedEarly: string | undefined;
    const onEarlyEnd = ({ reason }: { reason: string }): void => {
      endedEarly = reason;
    };
    channel.on('ended', onEarlyEnd);
    try {
      const handshake = await channel.open(signal);
      channel.off('ended', onEarlyEnd);
      if (endedEarly !== undefined) throw new SsmTunnelError(endReasonCode(endedEarly), endedEarly);
      if (signal.aborted) throw abortedError(signal);
      if (handshake.properties.type !== undefined && handshake.properties.type !== 'LocalPortForwarding') {
        throw new SsmTunnelError(
          ErrorCode.HANDSHAKE,
          `the session is not a port-forwarding session (type ${JSON.stringify(handshake.properties.type)})`,
          { retryable: false },
        );
      }
      // No type (AWS-StartSSHSession): the agent forwards one connection in basic mode (docs/forwarding.md).
      const portForwarding = handshake.properties.type === 'LocalPortForwarding';
      const session = new SsmSession(api, channel, targetId, handshake.agentVersion, portForwarding, options, log);
      log.info({ agentVersion: handshake.agentVersion, mode: session.mode.mux ? 'mux' : 'basic' }, 'session started');
      return session;
    } catch (error) {
      channel.close();
      await terminateQuietly(api, grant.sessionId, log, 'TerminateSession after a failed start');
      throw error;
    }
  }

  get activeConnections(): number {
    return this.forwarder.activeConnections;
  }

  get openConnectionBytes(): { up: number; down: number } {
    return this.forwarder.openConnectionBytes;
  }

  get connected(): boolean {
    return this.channel.connected;
  }

  handle(socket: LocalStream, id: number): void {
    this.forwarder.handle(socket, id);
  }

  /** Waits until the agent acknowledged everything sent so far; false when `timeoutMs` passed first. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.channel.flush(timeoutMs);
  }

  /**
   * Ends the session: the TerminateSession flag where the agent understands it, and the API when the
   * flag is not acknowledged in time or not supported (docs/protocol.md §10.2).
   */
  async terminate(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.stopKeepAlive();
    this.forwarder.close();
    let acknowledged = false;
    if (this.mode.terminateWithFlag && this.channel.connected) {
      this.channel.sendFlag(Flag.TerminateSession);
      acknowledged = await this.channel.flush(TERMINATE_FLAG_WAIT_MS);
    }
    this.channel.close();
    if (!acknowledged) {
      try {
        await this.api.terminateSession(this.sessionId);
      } catch (error) {
        this.log.warn({ err: (error as Error).message }, 'TerminateSession failed; the service will end the session on its idle timeout');
      }
    }
    this.log.info('session terminated');
  }

  private lose(reason: string, byService: boolean, completed = false): void {
    if (this.finished) return;
    this.finished = true;
    this.stopKeepAlive();
    this.forwarder.close();
    this.channel.close();
    if (!byService) {
      // We gave up on it; make sure the service does not keep it open.
      void terminateQuietly(this.api, this.sessionId, this.log, 'TerminateSession after losing the session');
    }
    this.emit('lost', reason, completed);
  }

  private startKeepAlive(intervalMs: number): void {
    if (!(this.forwarder instanceof MuxForwarder)) {
      this.log.warn('keepAlive needs mux mode (agent > 3.0.196.0); this basic-mode session will idle out normally');
      return;
    }
    const forwarder = this.forwarder;
    this.keepAliveTimer = setInterval(() => forwarder.sendKeepAlive(), intervalMs);
    this.keepAliveTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }
}

/** The agent's words for a destination it could not dial (basic mode dials when the session starts). */
const DESTINATION_REFUSED_OUTPUT = /Unable to connect to specified port/;

/** The code of a session the agent ended: a destination it could not dial, or any other end. */
export function endReasonCode(reason: string): string {
  return DESTINATION_REFUSED_OUTPUT.test(reason) ? ErrorCode.DESTINATION_REFUSED : ErrorCode.SESSION_ENDED;
}

/** TerminateSession whose failure is only logged: the service ends the session on its idle timeout. */
async function terminateQuietly(api: SessionApi, sessionId: string, log: Logger, what: string): Promise<void> {
  try {
    await api.terminateSession(sessionId);
  } catch (error) {
    log.debug({ err: (error as Error).message, sessionId }, `${what} failed`);
  }
}

/**
 * StartSession, owning its outcome even when `signal` fires while it is in flight: the call is
 * awaited up to IN_FLIGHT_START_WAIT_MS more and the session it created terminated, then the start
 * rejects with ERR_ABORTED. A grant that arrives later still is terminated when it does.
 */
async function startOwned(api: SessionApi, request: StartSessionRequest, log: Logger, signal: AbortSignal): Promise<SessionGrant> {
  const pending = api.startSession(request);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  let outcome: SessionGrant | 'aborted';
  try {
    outcome = await Promise.race([pending, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
  if (outcome !== 'aborted') return outcome;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), IN_FLIGHT_START_WAIT_MS);
  });
  const settled = pending.then(
    (grant) => grant,
    () => undefined,
  );
  try {
    const grant = await Promise.race([settled, late]);
    if (grant === 'late') {
      log.warn({ waitedMs: IN_FLIGHT_START_WAIT_MS }, 'StartSession did not answer after the start was cancelled; its session will be terminated if it ever does');
      void settled.then((lateGrant) => lateGrant && terminateQuietly(api, lateGrant.sessionId, log, 'TerminateSession of a cancelled start'));
    } else if (grant !== undefined) {
      await terminateQuietly(api, grant.sessionId, log, 'TerminateSession of a cancelled start');
    }
  } finally {
    clearTimeout(timer);
  }
  throw abortedError(signal);
}
