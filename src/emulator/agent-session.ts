import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { batchingTransport } from '../channel/batching-transport.js';
import { ReliableChannel } from '../channel/reliable-channel.js';
import {
  ActionStatus,
  ActionType,
  agentPortMode,
  decodeFlag,
  isAgentVersionGreater,
  MUX_AFTER_AGENT,
  SMUX_KEEPALIVE_DISABLED_AFTER_AGENT,
  decodeHandshakeResponse,
  encodeChannelClosed,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  Flag,
  flagName,
  MessageFlags,
  MessageType,
  PayloadType,
  type AgentPortModeDecision,
  type DecodedClientMessage,
  type HandshakeResponse,
  type OpenDataChannel,
  type ProtocolError,
} from '../protocol/index.js';
import { DestinationDialer, DestinationForbiddenError } from './agent-destination.js';
import type { AgentKnobs } from './agent-knobs.js';
import { ChannelOutput } from './agent-output.js';
import type { PortPlugin, PortPluginContext } from './agent-port-plugin.js';
import { FaultyLink, malformedFrame, seededRandom, type FaultSettings, type MalformedFrameKind } from './faults.js';
import { BasicPortPlugin } from './port-basic.js';
import { MuxPortPlugin } from './port-mux.js';
import { appendBounded, type AgentSessionLog, type ConnectionRecord, type WebSocketRecord } from './record.js';
import type { EmulatedSession, EndedState } from './session-registry.js';

/** What the client prints for the ends the service decides (docs/protocol.md §10.1). */
export const IDLE_TIMEOUT_OUTPUT = 'Your session timed out due to inactivity and has been terminated.';
export const MAX_DURATION_OUTPUT = 'Your session has reached its maximum session duration and has been terminated.';
export const HANDSHAKE_TIMEOUT_OUTPUT = 'Handshake timed out. Please ensure that you have the latest version of the session manager plugin.';

const LOCAL_PORT_FORWARDING = 'LocalPortForwarding';
const AGENT_RESEND_TIMEOUT_MS = 300_000;
const NORMAL_CLOSURE = 1000;
const POLICY_VIOLATION = 1008;
/** A socket whose peer does not answer our close frame is cut after this long. */
const CLOSE_HANDSHAKE_GRACE_MS = 1000;

export interface AgentSessionOptions {
  session: EmulatedSession;
  /** Read live: this session's knobs, all layers applied. */
  knobs: () => AgentKnobs;
  /** Read live: this session's faults, all layers applied. */
  faults: () => FaultSettings;
  log: AgentSessionLog;
  logger: Logger;
  /** Ends the session at the service, which then calls terminate() on this agent. */
  endAtService: (state: EndedState, reason: string) => void;
}

interface Connection {
  ws: WebSocket;
  link: FaultyLink;
  record: WebSocketRecord;
  clientId: string;
}

type Phase = 'new' | 'handshaking' | 'running' | 'ended';

/**
 * The agent's side of one session: the data channel in the agent role across every WebSocket
 * the client opens for it (resume keeps all state, docs/protocol.md §9.3), the port-session
 * handshake (docs/protocol.md §8), the port plugin, the service's idle and duration limits,
 * and the session's faults.
 */
export class AgentSession {
  readonly id: string;
  private readonly options: AgentSessionOptions;
  private readonly log: AgentSessionLog;
  private readonly logger: Logger;
  private readonly channel: ReliableChannel;
  private readonly output: ChannelOutput;
  private readonly random: () => number;
  private phase: Phase = 'new';
  private connection: Connection | undefined;
  private plugin: PortPlugin | undefined;
  private handshakeSentAt = 0n;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private lastActivity = 0;
  /** The channel_closed Output of an end this agent (or a control) decided; the TerminateSession API gets ''. */
  private closingOutput: string | undefined;
  private closeAfterFired = false;
  private socketsAttached = 0;

  constructor(options: AgentSessionOptions) {
    this.options = options;
    this.id = options.session.id;
    this.log = options.log;
    this.logger = options.logger.child({ sessionId: this.id });
    this.random = seededRandom(options.faults().seed ?? 1);
    this.channel = new ReliableChannel({
      role: 'agent',
      // The agent acks the HandshakeResponse before acting on it: ack, then HandshakeComplete (vectors).
      ackBeforeDelivery: (type) => type === PayloadType.HandshakeResponse,
      // Give up (and end the session) after about five minutes, the reference's 3000 resends 100 ms
      // apart (docs/protocol.md §6.1). The official client never re-acknowledges duplicates (§12.3),
      // so a lost ack can get here; the channel's default would end such sessions sooner.
      resendTimeoutMs: AGENT_RESEND_TIMEOUT_MS,
      logger: this.logger,
    });
    this.channel.setInboundHandler((message) => this.onStreamMessage(message));
    this.channel.on('protocolError', (error) => this.onProtocolError(error));
    this.channel.on('resendTimeout', (sequenceNumber) => {
      const reason = `output message ${sequenceNumber} was never acknowledged`;
      this.end('failed', reason, reason);
    });
    this.output = new ChannelOutput(this.channel, {
      pacing: () => this.options.knobs().pacing,
      chunkSize: () => this.options.knobs().outputChunkSize,
      onSent: (payloadType) => {
        if (payloadType === PayloadType.Output) this.touch();
      },
    });
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  // --- sockets --------------------------------------------------------------------------------------

  /** A WebSocket opened with a valid token: the first starts the handshake, later ones resume. */
  attach(ws: WebSocket, open: OpenDataChannel, socket: Socket | undefined): void {
    if (this.phase === 'ended') {
      ws.close(NORMAL_CLOSURE, 'session ended');
      return;
    }
    const previous = this.connection;
    if (previous !== undefined) this.closeConnection(previous, 'replaced', () => previous.ws.terminate());
    const record: WebSocketRecord = {
      index: ++this.socketsAttached,
      openedAt: new Date(),
      openClientVersion: open.clientVersion,
      framesFromClient: 0,
      framesToClient: 0,
      bytesFromClient: 0,
      bytesToClient: 0,
    };
    appendBounded(this.log.webSockets, record);
    const connection: Connection = {
      ws,
      record,
      clientId: open.clientId,
      link: new FaultyLink({
        ws,
        settings: this.options.faults,
        random: this.random,
        counters: record,
        closeAfterArmed: () => !this.closeAfterFired,
        closeAfterFired: () => {
          this.closeAfterFired = true;
        },
        deliver: (frame) => this.channel.handleFrame(frame),
        onFault: (fault, drop) => {
          this.recordFault(fault);
          if (drop) record.closedBy ??= `fault: ${fault}`;
        },
      }),
    };
    this.connection = connection;
    ws.on('message', (data: RawData) => {
      try {
        connection.link.receive(toBuffer(data));
      } catch (error) {
        // A bug on our side must cost this socket, never the emulator.
        this.logger.error({ err: error }, 'agent failed on a client frame');
        this.onProtocolError(error as Error);
      }
    });
    ws.on('error', (error) => this.logger.debug({ err: error.message }, 'data channel socket error'));
    ws.on('close', () => this.onSocketClosed(connection));
    this.channel.attach(batchingTransport(connection.link.transport, socket));
    this.logger.info({ webSocket: record.index }, record.index === 1 ? 'agent attached' : 'agent resumed on a new socket');
    if (this.phase === 'new') this.startHandshake();
  }

  private onSocketClosed(connection: Connection): void {
    connection.link.close();
    connection.record.closedAt = new Date();
    connection.record.closedBy ??= 'client';
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.channel.detach();
    this.logger.info({ webSocket: connection.record.index, closedBy: connection.record.closedBy }, 'data channel socket closed');
  }

  private closeConnection(connection: Connection, closedBy: string, close: () => void): void {
    connection.record.closedBy ??= closedBy;
    close();
  }

  private onProtocolError(error: ProtocolError | Error): void {
    appendBounded(this.log.protocolErrors, error.message);
    this.logger.warn({ err: error.message }, 'protocol error from the client; closing its socket');
    const connection = this.connection;
    if (connection === undefined) return;
    this.closeConnection(connection, `protocol error: ${error.message}`, () => closeSocket(connection.ws, POLICY_VIOLATION, 'protocol error'));
  }

  // --- handshake (docs/protocol.md §8) ----------------------------------------------------------------

  private startHandshake(): void {
    this.phase = 'handshaking';
    const knobs = this.options.knobs();
    this.log.agentVersion = knobs.agentVersion;
    this.startedAt = Date.now();
    this.lastActivity = this.startedAt;
    // Exactly one SessionType action, never KMSEncryption, properties verbatim as strings (docs/protocol.md §8.2).
    this.channel.send(
      PayloadType.HandshakeRequest,
      encodeHandshakeRequest({
        agentVersion: knobs.agentVersion,
        requestedClientActions: [
          {
            actionType: ActionType.SessionType,
            actionParameters: { SessionType: 'Port', Properties: { ...this.options.session.properties } },
          },
        ],
      }),
    );
    this.handshakeSentAt = process.hrtime.bigint();
    this.handshakeTimer = setTimeout(() => {
      this.end('failed', `no HandshakeResponse within ${knobs.handshakeTimeoutMs} ms`, HANDSHAKE_TIMEOUT_OUTPUT);
    }, knobs.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.armLimits();
  }

  private onHandshakeResponse(payload: Buffer): void {
    clearTimeout(this.handshakeTimer);
    let response: HandshakeResponse;
    try {
      response = decodeHandshakeResponse(payload);
    } catch (error) {
      const reason = `malformed HandshakeResponse: ${(error as Error).message}`;
      this.end('failed', reason, reason);
      return;
    }
    this.log.clientVersion = response.clientVersion;
    const failed = response.processedClientActions.find((action) => action.actionStatus !== ActionStatus.Success);
    if (failed !== undefined) {
      // docs/protocol.md §8.3: a SessionType action that is not Success cancels the session.
      const reason = `the client did not process action ${failed.actionType} (status ${failed.actionStatus}${failed.error === '' ? '' : `: ${failed.error}`})`;
      this.end('failed', reason, `Handshake failed: ${reason}`);
      return;
    }
    const elapsedNs = Number(process.hrtime.bigint() - this.handshakeSentAt);
    this.channel.send(PayloadType.HandshakeComplete, encodeHandshakeComplete({ handshakeTimeToComplete: elapsedNs, customerMessage: '' }));
    this.log.handshakeCompletedAt = new Date();
    this.phase = 'running';
    this.logger.info({ clientVersion: response.clientVersion }, 'handshake complete');
    void this.startPlugin(response.clientVersion);
  }

  // --- the port plugin ---------------------------------------------------------------------------------

  private async startPlugin(clientVersion: string): Promise<void> {
    const { properties, destination } = this.options.session;
    const portNumber = properties.portNumber ?? '';
    if (portNumber === '') {
      this.fail('Port number is empty in session properties.');
      return;
    }
    const type = properties.type ?? '';
    const knobs = this.options.knobs();
    const mode = portModeOf(this.log.agentVersion ?? knobs.agentVersion, clientVersion, type);
    this.log.mode = mode.mux ? 'mux' : 'basic';
    this.log.smuxKeepAlive = mode.smuxKeepAlive;
    let dialer: DestinationDialer;
    try {
      dialer = await DestinationDialer.prepare(
        { dialHost: destination.host, port: destination.port, ...(properties.host === undefined ? {} : { remoteHost: properties.host }) },
        {
          denyList: knobs.denyList,
          refusedDestinations: () => this.options.faults().refuseDestinations ?? [],
          onRefusedByFault: (refused) => this.recordFault(`refuse ${refused}`),
        },
      );
    } catch (error) {
      this.fail(error instanceof DestinationForbiddenError ? error.message : `Unable to start the port session: ${(error as Error).message}`);
      return;
    }
    if (this.phase !== 'running') return;
    const context = this.pluginContext(dialer);
    this.logger.info({ mode: this.log.mode, smuxKeepAlive: mode.smuxKeepAlive, destination: dialer.description }, 'port session starting');
    if (mode.mux) {
      this.plugin = new MuxPortPlugin(context, {
        keepAlive: mode.smuxKeepAlive,
        keepAliveIntervalMs: knobs.smuxKeepAliveIntervalMs,
        keepAliveTimeoutMs: knobs.smuxKeepAliveTimeoutMs,
      });
      this.channel.resumeDelivery();
    } else {
      const basic = new BasicPortPlugin(context, { endOnDestinationEof: type !== LOCAL_PORT_FORWARDING });
      this.plugin = basic;
      basic.start();
    }
  }

  private pluginContext(dialer: DestinationDialer): PortPluginContext {
    return {
      output: this.output,
      dialer,
      resumeDelivery: () => this.channel.resumeDelivery(),
      fail: (output) => this.fail(output),
      complete: (reason) => this.end('terminated', reason, ''),
      openConnection: (id, destination) => {
        const record: ConnectionRecord = { id, destination, openedAt: new Date(), bytesToDestination: 0, bytesFromDestination: 0 };
        appendBounded(this.log.connections, record);
        return record;
      },
      logger: this.logger,
    };
  }

  // --- inbound stream messages -----------------------------------------------------------------------

  private onStreamMessage(message: DecodedClientMessage): boolean {
    if (this.phase === 'ended') return true;
    if (message.payloadType === PayloadType.HandshakeResponse) {
      if (this.phase === 'handshaking') this.onHandshakeResponse(message.payload);
      return true;
    }
    if (this.phase !== 'running') {
      // docs/protocol.md §8.5: client data before the handshake completes is acknowledged and dropped.
      this.log.discardedBeforeHandshake += 1;
      return true;
    }
    switch (message.payloadType) {
      case PayloadType.Output: {
        // Not ready until the plugin exists and takes it: no ack, the client retransmits (docs/protocol.md §8.5).
        if (this.plugin === undefined || !this.plugin.receive(message.payload)) return false;
        this.touch();
        return true;
      }
      case PayloadType.Flag:
        return this.onFlag(decodeFlag(message.payload));
      default:
        return true;
    }
  }

  private onFlag(flag: number): boolean {
    if (flag === Flag.TerminateSession) {
      this.recordFlag(flag);
      // docs/forwarding.md §7.6: end the port session, then channel_closed and close the socket, as the service.
      this.end('terminated', 'TerminateSession flag from the client', '');
      return true;
    }
    if (this.plugin === undefined) return false;
    this.recordFlag(flag);
    // DisconnectToPort means something in basic mode only; unknown and short flags are ignored (docs/protocol.md §3.4).
    if (flag === Flag.DisconnectToPort) this.plugin.disconnect();
    return true;
  }

  private recordFlag(value: number): void {
    appendBounded(this.log.flags, { name: flagName(value), value, at: new Date() });
    this.logger.debug({ flag: flagName(value) }, 'flag from the client');
  }

  // --- limits ------------------------------------------------------------------------------------------

  private touch(): void {
    this.lastActivity = Date.now();
  }

  /** (Re)arms the idle and duration timers from the current knobs; called at start and on knob changes. */
  armLimits(): void {
    if (this.phase === 'new' || this.phase === 'ended') return;
    this.armIdle();
    clearTimeout(this.durationTimer);
    const { maxSessionDurationMs } = this.options.knobs();
    if (maxSessionDurationMs > 0) {
      this.durationTimer = setTimeout(
        () => this.end('timed-out', `maximum session duration of ${maxSessionDurationMs} ms reached`, MAX_DURATION_OUTPUT),
        Math.max(0, this.startedAt + maxSessionDurationMs - Date.now()),
      );
      this.durationTimer.unref();
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    const { idleTimeoutMs } = this.options.knobs();
    const due = this.lastActivity + idleTimeoutMs - Date.now();
    if (due > 0) {
      this.idleTimer = setTimeout(() => this.armIdle(), due);
      this.idleTimer.unref();
      return;
    }
    this.end('timed-out', `no stream data for ${idleTimeoutMs} ms`, IDLE_TIMEOUT_OUTPUT);
  }

  // --- ending ------------------------------------------------------------------------------------------

  private fail(output: string): void {
    this.end('failed', output, output);
  }

  /** Ends the session at the service with `output` for the client; the service calls terminate() back. */
  end(state: EndedState, reason: string, output: string): void {
    if (this.phase === 'ended') return;
    this.closingOutput ??= output;
    this.log.endReason ??= reason;
    this.options.endAtService(state, reason);
    // The service had already ended it (a race with TerminateSession): close our side anyway.
    if (!this.ended) this.terminate(reason);
  }

  /** Sets the channel_closed Output for an end decided elsewhere (an emulator control, shutdown). */
  setClosingOutput(output: string): void {
    this.closingOutput ??= output;
  }

  /**
   * The session is over (DataChannelHandler.terminate): stop the plugin, send channel_closed
   * (unsequenced, seq 0, flags 0, PayloadType 0; docs/protocol.md §10.1) and close the socket.
   */
  terminate(reason: string): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.log.endReason ??= reason;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.durationTimer);
    this.plugin?.close();
    this.output.close();
    const output = this.closingOutput ?? '';
    const connection = this.connection;
    this.logger.info({ reason }, 'session ended');
    if (connection === undefined) {
      this.channel.close();
      return;
    }
    this.channel.sendUnsequenced(
      MessageType.ChannelClosed,
      PayloadType.Undefined,
      encodeChannelClosed({
        messageId: randomUUID(),
        createdDate: new Date().toISOString(),
        destinationId: connection.clientId,
        sessionId: this.id,
        messageType: MessageType.ChannelClosed,
        schemaVersion: 1,
        output,
      }),
      MessageFlags.None,
    );
    appendBounded(this.log.channelClosed, { output, reason, at: new Date() });
    // After the current message is acknowledged (the vectors show its ack after channel_closed), close.
    setImmediate(() => {
      this.channel.close();
      this.closeConnection(connection, 'session ended', () => closeSocket(connection.ws, NORMAL_CLOSURE, 'channel closed'));
    });
  }

  // --- controls ----------------------------------------------------------------------------------------

  /** Sends pause_publication (true) or start_publication (false) now; the agent's output waits meanwhile. */
  setPublication(paused: boolean): void {
    const kind = paused ? MessageType.PausePublication : MessageType.StartPublication;
    this.recordFault(kind);
    this.output.setPaused(paused);
    this.channel.sendUnsequenced(kind, PayloadType.Undefined, Buffer.alloc(0));
  }

  sendMalformedFrame(kind: MalformedFrameKind): void {
    this.recordFault(`malformed frame (${kind})`);
    this.connection?.link.sendRaw(malformedFrame(kind, this.channel.nextOutgoingSequence));
  }

  /** Cuts the current socket without a close frame; the client resumes. */
  dropConnection(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    this.recordFault('drop connection');
    this.closeConnection(connection, 'fault: drop connection', () => connection.ws.terminate());
  }

  private recordFault(fault: string): void {
    appendBounded(this.log.faults, { fault, at: new Date() });
    this.logger.debug({ fault }, 'fault injected');
  }
}

/**
 * The agent's mode decision (docs/forwarding.md §2.2) from the client's version, limited by what
 * the emulated agent version has: no mux before 3.0.222.0, and smux keepalive on regardless of the
 * client before the client-dependent rule shipped (docs/forwarding.md §2.3). Both limits use the client's own
 * comparison, so the two ends always agree (e.g. agent 3.0.0.0: both basic).
 */
function portModeOf(agentVersion: string, clientVersion: string, type: string): AgentPortModeDecision {
  const decision = agentPortMode(clientVersion, type);
  if (!decision.mux || !isAgentVersionGreater(agentVersion, MUX_AFTER_AGENT)) return { mux: false, smuxKeepAlive: false };
  return { mux: true, smuxKeepAlive: decision.smuxKeepAlive || !isAgentVersionGreater(agentVersion, SMUX_KEEPALIVE_DISABLED_AFTER_AGENT) };
}

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED) return;
  ws.close(code, reason);
  // The official client answers no close frame (docs/protocol.md §4.4): do not wait for it long.
  setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
