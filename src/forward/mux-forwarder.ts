import { EventEmitter } from 'node:events';
import { ErrorCode } from '../errors.js';
import { Flag, PayloadType, decodeFlag } from '../protocol/index.js';
import { silentLogger, type Logger } from '../logging.js';
import { LocalConnection, type ForwarderEvents, type LocalStream, type ForwardingChannel, type InboundMessage } from './forwarding-channel.js';
import { SmuxSession } from './smux-session.js';
import type { SmuxStream } from './smux-stream.js';

export interface MuxForwarderOptions {
  /** smux keepalive, on only for agents ≤ 3.1.1511.0 (docs/forwarding.md §2.1). */
  smuxKeepAlive: boolean;
  logger?: Logger;
}

/**
 * Multiplexed port forwarding (docs/forwarding.md §4): every local connection is one smux stream
 * of the session's single smux client. A refused destination fails that stream only.
 */
export class MuxForwarder extends EventEmitter<ForwarderEvents> {
  private readonly channel: ForwardingChannel;
  private readonly smux: SmuxSession;
  private readonly log: Logger;
  private readonly connections = new Map<SmuxStream, LocalConnection>();
  /** ConnectToPortError flags not yet matched to the FIN that follows them (docs/forwarding.md §4.4). */
  private unmatchedRefusals = 0;
  private closed = false;
  private readonly onDrain = (): void => this.smux.resumeOutput();

  constructor(channel: ForwardingChannel, options: MuxForwarderOptions) {
    super();
    this.channel = channel;
    this.log = options.logger ?? silentLogger;
    this.smux = new SmuxSession({
      role: 'client',
      keepAlive: options.smuxKeepAlive,
      output: (bytes) => channel.write(bytes),
      logger: this.log,
    });
    this.smux.on('receiveReady', () => channel.resumeDelivery());
    this.smux.on('error', (error) => {
      this.log.error({ err: error.message }, 'smux session failed');
      this.emit('fatal', error);
    });
    channel.on('drain', this.onDrain);
    channel.setInboundHandler((message) => this.onInbound(message));
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** Bytes moved so far by connections still open. */
  get openConnectionBytes(): { up: number; down: number } {
    let up = 0;
    let down = 0;
    for (const connection of this.connections.values()) {
      up += connection.bytesUp;
      down += connection.bytesDown;
    }
    return { up, down };
  }

  handle(socket: LocalStream, id: number): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const stream = this.smux.openStream();
    const connection = new LocalConnection(id, socket);
    this.connections.set(stream, connection);
    socket.on('data', (chunk: Buffer) => {
      connection.bytesUp += chunk.length;
    });
    stream.on('data', (chunk: Buffer) => {
      connection.bytesDown += chunk.length;
    });
    // smux v1 has no half-close (docs/forwarding.md §4.3): the local end of input is the end of the stream.
    socket.pipe(stream);
    stream.pipe(socket);
    socket.on('error', (error) => {
      connection.error ??= error.message;
      stream.destroy();
    });
    stream.on('error', (error) => {
      connection.error ??= error.message;
      socket.destroy();
    });
    stream.on('end', () => {
      if (connection.bytesDown === 0 && this.unmatchedRefusals > 0) {
        this.unmatchedRefusals -= 1;
        connection.error = 'the agent could not connect to the destination (ConnectToPortError)';
        connection.code = ErrorCode.DESTINATION_REFUSED;
        this.log.warn({ connection: id, stream: stream.id }, 'destination refused the connection');
        socket.destroy();
      }
    });
    socket.on('close', () => {
      // After a clean end the stream still flushes what the socket gave it, then sends FIN; only
      // an abrupt close (error, reset) discards it. Either way nobody reads the stream any more:
      // once its writes are out it is destroyed, or its unread bytes would hold it open for good.
      if (!stream.writableEnded || stream.writableFinished) stream.destroy();
      else stream.once('finish', () => stream.destroy());
    });
    let pendingCloses = 2;
    const closed = (): void => {
      if (--pendingCloses === 0 && this.connections.delete(stream)) this.emit('connectionClosed', connection.summary());
    };
    socket.on('close', closed);
    stream.on('close', closed);
    socket.resume();
  }

  /** Sends a frame the agent ignores, to keep an idle session from timing out. */
  sendKeepAlive(): void {
    this.smux.sendNop();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.off('drain', this.onDrain);
    this.smux.close();
    for (const connection of this.connections.values()) connection.socket.destroy();
  }

  private onInbound(message: InboundMessage): boolean {
    if (message.payloadType === PayloadType.Flag) {
      const flag = decodeFlag(message.payload);
      if (flag === Flag.ConnectToPortError) this.unmatchedRefusals += 1;
      else this.log.debug({ flag }, 'ignored a flag in mux mode');
      return true;
    }
    if (message.payloadType !== PayloadType.Output) return true;
    if (this.smux.receiveBufferFull) return false;
    this.smux.receive(message.payload);
    return true;
  }
}
