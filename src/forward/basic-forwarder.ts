import { EventEmitter } from 'node:events';
import { Flag, PayloadType } from '../protocol/index.js';
import { silentLogger, type Logger } from '../logging.js';
import { WarningLimiter } from '../util/warning-limiter.js';
import { LocalConnection, type ForwarderEvents, type LocalStream, type ForwardingChannel, type InboundMessage } from './forwarding-channel.js';

/**
 * Output-free time after the DisconnectToPort acknowledgement before the next connection starts:
 * longer than the agent takes to retransmit a lost message (its minimum RTO, 100 ms, plus a tick).
 */
const DRAIN_QUIET_MS = 150;
const DRAIN_CHECK_MS = 20;

export interface BasicForwarderOptions {
  /** How long a connection may wait for its turn before it is closed (the tunnel's connectTimeout). */
  waitTimeoutMs: number;
  /**
   * Connections that may wait at once; more are refused. A waiting socket costs a descriptor and
   * a timer, so a local client opening thousands must not exhaust the process. Default 1024, as
   * for connections waiting for a session.
   */
  maxWaiting?: number;
  logger?: Logger;
}

const DEFAULT_MAX_WAITING = 1024;

/**
 * Basic port forwarding for agents ≤ 3.0.196.0 (docs/forwarding.md §6): one local connection at a
 * time, raw bytes in Output messages, DisconnectToPort when it ends. Later connections wait their
 * turn (paused, so they cost no reads).
 *
 * Unlike the reference (docs/forwarding.md §6.3), output of the closed destination connection does not leak
 * into the next one. The protocol marks no boundary, so after a disconnect the next connection
 * waits until that output has drained: the DisconnectToPort flag acknowledged (the agent has closed
 * the destination, which produces nothing more), then DRAIN_QUIET_MS without output (what the agent
 * still had queued, or retransmits). What arrives meanwhile is discarded, including what was held
 * back for the closed connection's full socket. Before this, a client that reset mid-download left
 * that held output, and the agent's in-flight window, to the next connection.
 */
export class BasicForwarder extends EventEmitter<ForwarderEvents> {
  private readonly channel: ForwardingChannel;
  private readonly log: Logger;
  private readonly warnings: WarningLimiter;
  private readonly waitTimeoutMs: number;
  private readonly maxWaiting: number;
  private current: LocalConnection | undefined;
  private readonly waiting: LocalConnection[] = [];
  private readonly waitTimers = new Map<LocalConnection, NodeJS.Timeout>();
  private discardStale = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private lastStaleOutputAt = 0;
  private localBlocked = false;
  private closed = false;
  private readonly onDrain = (): void => {
    this.current?.socket.resume();
  };

  constructor(channel: ForwardingChannel, options: BasicForwarderOptions) {
    super();
    this.channel = channel;
    this.log = options.logger ?? silentLogger;
    this.warnings = new WarningLimiter(this.log);
    this.waitTimeoutMs = options.waitTimeoutMs;
    this.maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
    channel.setInboundHandler((message) => this.onInbound(message));
    channel.on('drain', this.onDrain);
  }

  get activeConnections(): number {
    return (this.current ? 1 : 0) + this.waiting.length;
  }

  /** Bytes moved so far by connections still open (waiting ones have moved none). */
  get openConnectionBytes(): { up: number; down: number } {
    return { up: this.current?.bytesUp ?? 0, down: this.current?.bytesDown ?? 0 };
  }

  handle(socket: LocalStream, id: number): void {
    const connection = new LocalConnection(id, socket);
    socket.on('error', (error) => {
      connection.error ??= error.message;
    });
    socket.on('close', () => this.finish(connection));
    if (this.current || this.drainTimer) {
      this.wait(connection);
      return;
    }
    this.start(connection);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.drainTimer);
    for (const timer of this.waitTimers.values()) clearTimeout(timer);
    this.waitTimers.clear();
    this.channel.off('drain', this.onDrain);
    for (const connection of [...this.waiting, ...(this.current ? [this.current] : [])]) connection.socket.destroy();
  }

  private wait(connection: LocalConnection): void {
    const { id, socket } = connection;
    if (this.waiting.length >= this.maxWaiting) {
      connection.error = `refused: ${this.maxWaiting} connections already wait for their turn in basic mode`;
      this.warnings.warn({ connection: id, waiting: this.waiting.length }, 'too many connections waiting for their turn in basic mode; refused');
      socket.destroy();
      return;
    }
    this.log.debug({ connection: id }, 'basic mode serves one connection at a time; this one waits its turn');
    const timer = setTimeout(() => {
      connection.error = `closed: waited ${this.waitTimeoutMs} ms for its turn in basic mode`;
      socket.destroy();
    }, this.waitTimeoutMs);
    timer.unref();
    this.waitTimers.set(connection, timer);
    this.waiting.push(connection);
  }

  private start(connection: LocalConnection): void {
    clearTimeout(this.waitTimers.get(connection));
    this.waitTimers.delete(connection);
    this.current = connection;
    const { socket } = connection;
    socket.on('data', (chunk: Buffer) => {
      connection.bytesUp += chunk.length;
      // The agent redials on this Output, so what it sends from now on belongs to this connection.
      this.discardStale = false;
      if (!this.channel.write(chunk)) socket.pause();
    });
    socket.on('end', () => socket.end());
    socket.resume();
    this.channel.resumeDelivery();
  }

  private finish(connection: LocalConnection): void {
    const waitingIndex = this.waiting.indexOf(connection);
    if (waitingIndex >= 0) this.waiting.splice(waitingIndex, 1);
    clearTimeout(this.waitTimers.get(connection));
    this.waitTimers.delete(connection);
    if (connection === this.current) {
      this.current = undefined;
      this.localBlocked = false;
      if (!this.closed) {
        this.channel.sendFlag(Flag.DisconnectToPort);
        this.discardStale = true;
        // Output held back for the closed connection's full socket is now discarded, and so is the rest.
        this.channel.resumeDelivery();
        this.drainThenStartNext();
      }
    }
    this.emit('connectionClosed', connection.summary());
  }

  /** Starts the next waiting connection once the closed one's output has drained (see the class comment). */
  private drainThenStartNext(): void {
    this.lastStaleOutputAt = Date.now();
    let acknowledgedAt = 0;
    this.drainTimer = setInterval(() => {
      const now = Date.now();
      if (this.channel.unacknowledgedCount > 0) {
        acknowledgedAt = 0;
        return;
      }
      if (acknowledgedAt === 0) acknowledgedAt = now;
      if (now - Math.max(acknowledgedAt, this.lastStaleOutputAt) < DRAIN_QUIET_MS) return;
      clearInterval(this.drainTimer);
      this.drainTimer = undefined;
      const next = this.waiting.shift();
      if (next && !this.closed) this.start(next);
    }, DRAIN_CHECK_MS);
    this.drainTimer.unref();
  }

  private onInbound(message: InboundMessage): boolean {
    if (message.payloadType !== PayloadType.Output) {
      // The reference writes every payload raw, flags included (docs/forwarding.md §6.1); a flag is not data.
      this.log.debug({ payloadType: message.payloadType }, 'ignored a non-data message in basic mode');
      return true;
    }
    if (this.discardStale) {
      this.lastStaleOutputAt = Date.now();
      this.log.debug({ bytes: message.payload.length }, 'discarded output of a destination connection that was already closed');
      return true;
    }
    const connection = this.current;
    // Nobody to give it to yet (e.g. a server greeting before the first connection): hold it unacknowledged.
    if (!connection || this.localBlocked) return false;
    connection.bytesDown += message.payload.length;
    if (!connection.socket.write(message.payload)) {
      this.localBlocked = true;
      connection.socket.once('drain', () => {
        this.localBlocked = false;
        this.channel.resumeDelivery();
      });
    }
    return true;
  }
}
