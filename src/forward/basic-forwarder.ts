import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Flag, PayloadType } from '../protocol/index.js';
import { silentLogger, type Logger } from '../logging.js';
import { LocalConnection, type ForwarderEvents, type ForwardingChannel, type InboundMessage } from './forwarding-channel.js';

/**
 * Basic port forwarding for agents ≤ 3.0.196.0 (port-forwarding.md §3): one local connection at a
 * time, raw bytes in Output messages, DisconnectToPort when it ends. Later connections wait their
 * turn (paused, so they cost no reads).
 *
 * Unlike the reference (§7 pitfall 9), agent output that arrives after a disconnect and before the
 * next connection has sent anything comes from the closed destination connection: the agent only
 * redials on the next Output. It is discarded instead of leaking into the next connection.
 */
export class BasicForwarder extends EventEmitter<ForwarderEvents> {
  private readonly channel: ForwardingChannel;
  private readonly log: Logger;
  private current: LocalConnection | undefined;
  private readonly waiting: LocalConnection[] = [];
  private discardStale = false;
  private localBlocked = false;
  private closed = false;
  private readonly onDrain = (): void => {
    this.current?.socket.resume();
  };

  constructor(channel: ForwardingChannel, logger: Logger = silentLogger) {
    super();
    this.channel = channel;
    this.log = logger;
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

  handle(socket: Socket, id: number): void {
    const connection = new LocalConnection(id, socket);
    socket.on('error', (error) => {
      connection.error ??= error.message;
    });
    socket.on('close', () => this.finish(connection));
    if (this.current) {
      this.log.debug({ connection: id }, 'basic mode serves one connection at a time; this one waits its turn');
      this.waiting.push(connection);
      return;
    }
    this.start(connection);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.off('drain', this.onDrain);
    for (const connection of [...this.waiting, ...(this.current ? [this.current] : [])]) connection.socket.destroy();
  }

  private start(connection: LocalConnection): void {
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
    if (connection === this.current) {
      this.current = undefined;
      this.localBlocked = false;
      if (!this.closed) {
        this.channel.sendFlag(Flag.DisconnectToPort);
        this.discardStale = true;
      }
    }
    this.emit('connectionClosed', connection.summary());
    const next = this.waiting.shift();
    if (next && !this.closed) this.start(next);
  }

  private onInbound(message: InboundMessage): boolean {
    if (message.payloadType !== PayloadType.Output) {
      // The reference writes every payload raw, flags included (§7 pitfall 10); a flag is not data.
      this.log.debug({ payloadType: message.payloadType }, 'ignored a non-data message in basic mode');
      return true;
    }
    if (this.discardStale) {
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
