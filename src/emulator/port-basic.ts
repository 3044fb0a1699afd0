import type { Socket } from 'node:net';
import type { DialedSocket } from './agent-destination.js';
import { DESTINATION_WRITE_HIGH_WATER, type PortPlugin, type PortPluginContext } from './agent-port-plugin.js';
import type { ConnectionRecord } from './record.js';

/** How long a closed destination may take to flush what we wrote before it is cut. */
const CLOSE_GRACE_MS = 1000;

export interface BasicPortOptions {
  /**
   * `type` is not LocalPortForwarding (SSH-style): destination EOF ends the session instead of
   * waiting for a redial (docs/forwarding.md §6.2).
   */
  endOnDestinationEof: boolean;
}

/**
 * Basic port forwarding, the agent side (docs/forwarding.md §6.2): one destination connection,
 * dialled at start; DisconnectToPort or destination EOF closes it and the next client Output
 * redials. The client is never told that the destination closed.
 */
export class BasicPortPlugin implements PortPlugin {
  private readonly ctx: PortPluginContext;
  private readonly options: BasicPortOptions;
  private socket: Socket | undefined;
  private record: ConnectionRecord | undefined;
  private dials = 0;
  private dialing = false;
  private waitingForSocketDrain = false;
  private closed = false;

  constructor(ctx: PortPluginContext, options: BasicPortOptions) {
    this.ctx = ctx;
    this.options = options;
    ctx.output.on('drain', this.onOutputDrain);
  }

  /** Dials at once (docs/forwarding.md §6.2); a failure ends the session. */
  start(): void {
    this.dial();
  }

  receive(payload: Buffer): boolean {
    if (this.closed) return true;
    if (this.socket !== undefined && (this.socket.writableEnded || this.socket.destroyed)) this.closeDestination();
    const socket = this.socket;
    if (socket === undefined) {
      // docs/forwarding.md §6.2: a pending reconnect dials on the next client Output, which waits for it.
      this.dial();
      return false;
    }
    if (socket.writableLength >= DESTINATION_WRITE_HIGH_WATER) {
      this.waitingForSocketDrain = true;
      return false;
    }
    socket.write(payload);
    this.record!.bytesToDestination += payload.length;
    return true;
  }

  disconnect(): void {
    this.closeDestination();
  }

  close(): void {
    this.closed = true;
    this.ctx.output.off('drain', this.onOutputDrain);
    this.closeDestination();
  }

  private dial(): void {
    if (this.dialing || this.closed) return;
    this.dialing = true;
    const id = ++this.dials;
    this.ctx.dialer.dial().then(
      (dialed) => {
        this.dialing = false;
        if (this.closed) {
          dialed.socket.destroy();
          return;
        }
        this.use(id, dialed);
        this.ctx.resumeDelivery();
      },
      (error: Error) => {
        this.dialing = false;
        const record = this.ctx.openConnection(id, this.ctx.dialer.description);
        record.closedAt = record.openedAt;
        record.error = error.message;
        if (!this.closed) this.ctx.fail(`Unable to connect to specified port: ${error.message}`);
      },
    );
  }

  private use(id: number, { socket, destination }: DialedSocket): void {
    const record = this.ctx.openConnection(id, destination);
    this.socket = socket;
    this.record = record;
    this.ctx.logger.debug({ connection: id, destination }, 'connected to the destination');
    socket.on('data', (chunk: Buffer) => {
      record.bytesFromDestination += chunk.length;
      if (!this.ctx.output.write(chunk)) socket.pause();
    });
    socket.on('drain', () => {
      if (!this.waitingForSocketDrain || socket !== this.socket) return;
      this.waitingForSocketDrain = false;
      this.ctx.resumeDelivery();
    });
    socket.on('error', (error) => {
      record.error ??= error.message;
    });
    socket.on('close', () => this.onDestinationClosed(socket, record));
  }

  private onDestinationClosed(socket: Socket, record: ConnectionRecord): void {
    record.closedAt ??= new Date();
    if (socket !== this.socket || this.closed) return;
    this.socket = undefined;
    this.record = undefined;
    this.waitingForSocketDrain = false;
    this.ctx.logger.debug({ error: record.error }, 'destination closed; the next client Output redials');
    if (!this.options.endOnDestinationEof) return;
    if (record.error === undefined) this.ctx.complete('the destination closed the connection');
    else this.ctx.fail(record.error);
  }

  private closeDestination(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    if (this.record) this.record.closedAt = new Date();
    this.record = undefined;
    this.waitingForSocketDrain = false;
    // Later destination bytes belong to nobody; what the client sent still gets a chance to leave.
    socket.removeAllListeners('data');
    socket.resume();
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private readonly onOutputDrain = (): void => {
    this.socket?.resume();
  };
}
