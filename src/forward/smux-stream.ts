import { Duplex } from 'node:stream';

/** What a stream needs from the session that owns it (implemented by SmuxSession). */
export interface SmuxStreamLink {
  /**
   * Sends `data` as PSH frames. `done` runs once the transport accepted every frame, or at once when
   * the stream is already closed on the wire and the bytes are discarded.
   */
  writeStreamData(stream: SmuxStream, data: Buffer, done: (error?: Error | null) => void): void;
  /** The local side is done with the stream: send its FIN unless one was sent, and forget it. */
  closeStream(stream: SmuxStream): void;
  /** Bytes delivered to readers but not yet read changed by `delta` (docs/forwarding.md §4.5). */
  adjustReceiveBuffer(delta: number): void;
}

/**
 * One smux v1 stream as a Duplex. There is no half-close in v1 (docs/forwarding.md §4.3): ending or
 * destroying the writable side sends FIN and ends the readable side; the peer's FIN ends the readable
 * side after buffered data and makes further writes vanish (the peer would discard them anyway).
 * The owner ends or destroys the stream once it has seen 'end'; then it emits 'close'.
 */
export class SmuxStream extends Duplex {
  private readableFinished = false;
  /** Part of readableLength already charged to the session's receive buffer. */
  private chargedBytes = 0;

  constructor(
    readonly id: number,
    private readonly link: SmuxStreamLink,
  ) {
    super({ allowHalfOpen: true });
  }

  /** A PSH body from the peer. Called by the session only. */
  deliver(data: Buffer): void {
    // The push() return value is ignored on purpose: flow control is the session-wide receive
    // buffer, not a per-stream high-water mark (docs/forwarding.md §4.5).
    this.push(data);
    this.chargeReceiveBuffer();
  }

  /** The peer sent FIN. Called by the session only. */
  handlePeerFin(): void {
    this.finishReadable();
  }

  /** Consumption is observed here: every way of reading a Readable (flowing, pipe, iterator) calls read(). */
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.chargeReceiveBuffer();
    return chunk;
  }

  override _read(): void {
    // Data is pushed as frames arrive; there is nothing to pull.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.link.writeStreamData(this, chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.link.closeStream(this);
    this.finishReadable();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.link.closeStream(this);
    // Unread bytes go back to the session (docs/forwarding.md §4.3): a destroyed stream is never read again.
    this.link.adjustReceiveBuffer(-this.chargedBytes);
    this.chargedBytes = 0;
    callback(error);
  }

  private finishReadable(): void {
    if (this.readableFinished) return;
    this.readableFinished = true;
    this.push(null);
  }

  private chargeReceiveBuffer(): void {
    if (this.destroyed) return;
    const delta = this.readableLength - this.chargedBytes;
    if (delta === 0) return;
    this.chargedBytes += delta;
    this.link.adjustReceiveBuffer(delta);
  }
}
