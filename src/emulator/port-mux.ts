import type { Socket } from 'node:net';
import { SmuxSession } from '../forward/smux-session.js';
import type { SmuxStream } from '../forward/smux-stream.js';
import { Flag } from '../protocol/index.js';
import type { PortPlugin, PortPluginContext } from './agent-port-plugin.js';
import type { ConnectionRecord } from './record.js';

/** The agent's smux accept backlog (docs/forwarding.md §3.5); past it the receive loop stops. */
const ACCEPT_BACKLOG = 1024;
const CLOSE_GRACE_MS = 1000;

export interface MuxPortOptions {
  keepAlive: boolean;
  keepAliveIntervalMs: number;
  keepAliveTimeoutMs: number;
}

/**
 * Multiplexed port forwarding, the agent side (docs/forwarding.md §3–§4): an smux
 * server over the channel's Output bytes. Streams are dialled one at a time in SYN order; a failed
 * dial sends the ConnectToPortError flag and then FIN on that stream, and the session goes on.
 */
export class MuxPortPlugin implements PortPlugin {
  private readonly ctx: PortPluginContext;
  private readonly smux: SmuxSession;
  private readonly acceptQueue: SmuxStream[] = [];
  private dialing = false;
  private refusedDelivery = false;
  private closed = false;

  constructor(ctx: PortPluginContext, options: MuxPortOptions) {
    this.ctx = ctx;
    this.smux = new SmuxSession({
      role: 'server',
      keepAlive: options.keepAlive,
      keepAliveIntervalMs: options.keepAliveIntervalMs,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      output: (bytes) => ctx.output.write(bytes),
      logger: ctx.logger,
    });
    ctx.output.on('drain', this.onOutputDrain);
    this.smux.on('stream', (stream) => {
      this.acceptQueue.push(stream);
      this.acceptNext();
    });
    this.smux.on('receiveReady', () => this.resumeIfRefused());
    this.smux.on('error', (error) => {
      if (!this.closed) ctx.fail(`Port session failed: ${error.message}`);
    });
  }

  receive(payload: Buffer): boolean {
    if (this.closed) return true;
    if (this.smux.receiveBufferFull || this.acceptQueue.length >= ACCEPT_BACKLOG) {
      this.refusedDelivery = true;
      return false;
    }
    this.smux.receive(payload);
    return true;
  }

  /** DisconnectToPort means nothing in mux mode (docs/protocol.md §3.4). */
  disconnect(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.output.off('drain', this.onOutputDrain);
    this.smux.close();
    this.acceptQueue.length = 0;
  }

  private readonly onOutputDrain = (): void => this.smux.resumeOutput();

  private resumeIfRefused(): void {
    if (!this.refusedDelivery) return;
    this.refusedDelivery = false;
    this.ctx.resumeDelivery();
  }

  /** One dial at a time, in SYN order: a slow destination delays later streams, as in the agent (docs/forwarding.md §4.2). */
  private acceptNext(): void {
    if (this.dialing || this.closed) return;
    const stream = this.acceptQueue.shift();
    if (stream === undefined) return;
    if (this.acceptQueue.length < ACCEPT_BACKLOG) this.resumeIfRefused();
    this.dialing = true;
    this.ctx.dialer.dial().then(
      ({ socket, destination }) => {
        this.dialing = false;
        if (this.closed || stream.destroyed) socket.destroy();
        else bridge(stream, socket, this.ctx.openConnection(stream.id, destination));
        this.acceptNext();
      },
      (error: Error) => {
        this.dialing = false;
        const record = this.ctx.openConnection(stream.id, this.ctx.dialer.description);
        record.closedAt = record.openedAt;
        record.error = error.message;
        this.ctx.logger.info({ streamId: stream.id, err: error.message }, 'destination refused a stream');
        if (!this.closed) {
          // docs/forwarding.md §4.4: the flag first, then FIN on that stream, as two messages.
          this.ctx.output.writeFlag(Flag.ConnectToPortError);
          stream.destroy();
        }
        this.acceptNext();
      },
    );
  }
}

/**
 * Copies both ways between a stream and its destination socket, with backpressure each way.
 * Close rules (docs/forwarding.md §4.3): peer FIN fully closes the destination; destination EOF or
 * error sends FIN and closes fully. No half-close.
 */
function bridge(stream: SmuxStream, socket: Socket, record: ConnectionRecord): void {
  const endStream = (): void => {
    if (!stream.writableEnded && !stream.destroyed) stream.end();
  };
  socket.on('data', (chunk: Buffer) => {
    record.bytesFromDestination += chunk.length;
    if (stream.destroyed || stream.writableEnded) return;
    if (!stream.write(chunk)) socket.pause();
  });
  stream.on('drain', () => socket.resume());
  stream.on('data', (chunk: Buffer) => {
    record.bytesToDestination += chunk.length;
    if (!socket.write(chunk)) stream.pause();
  });
  socket.on('drain', () => stream.resume());
  socket.on('error', (error) => {
    record.error ??= error.message;
  });
  socket.on('end', endStream);
  socket.on('close', () => {
    record.closedAt ??= new Date();
    endStream();
  });
  stream.on('end', () => {
    // The peer's FIN: what it sent has been handed to the socket; close it once that is written.
    endStream();
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  });
  stream.on('error', () => undefined);
  stream.on('close', () => {
    if (!socket.writableEnded) socket.destroy();
  });
}
