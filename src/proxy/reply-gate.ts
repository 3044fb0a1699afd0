import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/*
 * What the session's forwarder sees of a proxy client: a duplex standing for the client socket that
 * holds the client's success reply until the destination is known to be reachable.
 *
 * The agent never confirms a dial, only refuses one (ConnectToPortError, docs/forwarding.md): so
 * the reply waits until the destination sends something (reachable), the forwarder ends the
 * connection without a byte (refused), or `confirmMs` pass without a refusal (taken as reachable).
 * Once a destination's session has carried one connection, later ones are confirmed at once.
 */

export interface ReplyGateOptions {
  /** 0 replies success at once. */
  confirmMs: number;
  /** Writes the protocol's success or failure reply to the client; called exactly once. */
  reply: (reachable: boolean) => void;
}

export class ReplyGate extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  private replied = false;
  private confirmTimer: NodeJS.Timeout | undefined;
  private readWanted = false;

  constructor(
    private readonly client: Socket,
    /** Client bytes that came after the request (a client that did not wait for the reply). */
    private leftover: Buffer,
    private readonly options: ReplyGateOptions,
  ) {
    super();
    this.remoteAddress = client.remoteAddress;
    this.remotePort = client.remotePort;
    client.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) client.pause();
    });
    client.on('end', () => this.push(null));
    client.on('error', () => this.destroy());
    client.on('close', () => this.destroy());
    if (options.confirmMs === 0) this.settle(true);
    else this.confirmTimer = setTimeout(() => this.settle(true), options.confirmMs);
  }

  override _read(): void {
    this.readWanted = true;
    if (this.replied) this.client.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.settle(true);
    if (this.client.write(chunk)) callback();
    else this.client.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.replied) {
      this.client.end();
      callback();
      return;
    }
    // The end came before any byte: a refusal ends the stream the same way, then the forwarder
    // destroys this gate; wait that moment out before taking it for a destination that said nothing.
    setImmediate(() => {
      if (!this.destroyed) {
        this.settle(true);
        this.client.end();
      }
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.replied) {
      this.settle(false);
      // end(), not destroy(): the failure reply must reach the client.
      this.client.end();
    } else if (!this.client.writableEnded) {
      this.client.destroy();
    }
    callback(error);
  }

  private settle(reachable: boolean): void {
    if (this.replied) return;
    this.replied = true;
    clearTimeout(this.confirmTimer);
    this.options.reply(reachable);
    if (!reachable) return;
    if (this.leftover.length > 0) this.push(this.leftover);
    this.leftover = Buffer.alloc(0);
    if (this.readWanted) this.client.resume();
  }
}
