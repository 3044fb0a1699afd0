import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ClientDataChannel } from '../channel/client-data-channel.js';
import type { SessionApi } from '../aws/session-api.js';
import { resolveTarget } from '../aws/target-resolver.js';
import { BasicForwarder } from '../forward/basic-forwarder.js';
import type { ConnectionSummary } from '../forward/forwarding-channel.js';
import { MuxForwarder } from '../forward/mux-forwarder.js';
import { clientPortMode, Flag, type ClientPortModeDecision } from '../protocol/index.js';
import type { Logger } from '../logging.js';
import type { ResolvedTunnelOptions } from './resolve-options.js';

export interface TunnelSessionEvents {
  /** The session cannot continue; the tunnel starts another. */
  lost: [reason: string];
  /** The WebSocket dropped; the session is being resumed and connections are kept. */
  disconnected: [reason: string];
  resumed: [];
  connectionClosed: [ConnectionSummary];
}

/** How long close() waits for the TerminateSession flag's acknowledgement before calling the API. */
const TERMINATE_FLAG_WAIT_MS = 1000;

/**
 * One SSM session serving a tunnel: StartSession, the data channel, and the forwarder the agent's
 * version calls for (docs/forwarding.md §2.1).
 */
export class TunnelSession extends EventEmitter<TunnelSessionEvents> {
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
    options: ResolvedTunnelOptions,
    log: Logger,
  ) {
    super();
    this.api = api;
    this.channel = channel;
    this.sessionId = channel.sessionId;
    this.targetId = targetId;
    this.agentVersion = agentVersion;
    this.mode = clientPortMode(agentVersion);
    this.log = log;
    this.forwarder = this.mode.mux
      ? new MuxForwarder(channel, { smuxKeepAlive: this.mode.smuxKeepAlive, logger: log })
      : new BasicForwarder(channel, log);
    this.forwarder.on('connectionClosed', (summary) => this.emit('connectionClosed', summary));
    this.forwarder.on('fatal', (error) => this.lose(`port forwarding failed: ${error.message}`, false));
    channel.on('ended', (ended) => this.lose(ended.reason, ended.byService));
    channel.on('disconnected', (reason) => this.emit('disconnected', reason));
    channel.on('reconnected', () => this.emit('resumed'));
    if (options.keepAlive) this.startKeepAlive(options.keepAliveIntervalMs);
  }

  /**
   * Resolves the target (a name or tags are looked up anew each time, so a replaced node is found),
   * starts a session and completes its handshake; a session that fails half-way is terminated.
   */
  static async start(api: SessionApi, options: ResolvedTunnelOptions, logger: Logger): Promise<TunnelSession> {
    const targetId = await resolveTarget(options.target, api);
    const grant = await api.startSession({
      target: targetId,
      remoteHost: options.remoteHost,
      remotePort: options.remotePort,
      localPort: options.listen.kind === 'tcp' ? options.listen.port : 0,
    });
    const log = logger.child({ sessionId: grant.sessionId, ...(targetId === options.target ? {} : { targetId }) });
    const channel = new ClientDataChannel({
      sessionId: grant.sessionId,
      streamUrl: grant.streamUrl,
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
      const handshake = await channel.open();
      channel.off('ended', onEarlyEnd);
      if (endedEarly !== undefined) throw new Error(endedEarly);
      if (handshake.properties.type !== undefined && handshake.properties.type !== 'LocalPortForwarding') {
        throw new Error(`the session is not a port-forwarding session (type ${JSON.stringify(handshake.properties.type)})`);
      }
      const session = new TunnelSession(api, channel, targetId, handshake.agentVersion, options, log);
      log.info({ agentVersion: handshake.agentVersion, mode: session.mode.mux ? 'mux' : 'basic' }, 'session started');
      return session;
    } catch (error) {
      channel.close();
      api.terminateSession(grant.sessionId).catch((e: Error) => log.debug({ err: e.message }, 'TerminateSession after a failed start'));
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

  handle(socket: Socket, id: number): void {
    this.forwarder.handle(socket, id);
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

  private lose(reason: string, byService: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.stopKeepAlive();
    this.forwarder.close();
    this.channel.close();
    if (!byService) {
      // We gave up on it; make sure the service does not keep it open.
      this.api.terminateSession(this.sessionId).catch((e: Error) => this.log.debug({ err: e.message }, 'TerminateSession after losing the session'));
    }
    this.emit('lost', reason);
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
