import { Duplex, type DuplexOptions } from 'node:stream';

/**
 * One end of two Duplex streams joined back to back: what one end writes, the other reads
 * (Node 20 has no `stream.duplexPair`). Backpressure crosses the link: a write's callback is held
 * until the other end's reader asks for more, so `write()` returns false and 'drain' follows as
 * on a socket.
 *
 * Ending the writable side ends the other end's readable side after what was written (half-close).
 * Destroying one end does not destroy the other: the owner of the pair decides what the other end
 * sees (an error, or a clean end), because only it knows why the first end went away.
 */
export class LinkedDuplex extends Duplex {
  private peer: LinkedDuplex | undefined;
  /** The other end's write callback, held until this end's reader wants more. */
  private heldWrite: (() => void) | undefined;
  private readableDone = false;

  constructor(options: DuplexOptions = {}) {
    super({ allowHalfOpen: true, ...options });
  }

  /** Joins two fresh ends. */
  static link(a: LinkedDuplex, b: LinkedDuplex): void {
    a.peer = b;
    b.peer = a;
  }

  /** Ends this end's readable side (after what it holds); what the other end still writes is dropped. */
  endReadable(): void {
    if (this.readableDone) return;
    this.readableDone = true;
    this.push(null);
    this.releaseHeldWrite();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    // Nobody will read it any more: like bytes written to a socket whose peer is gone, it vanishes.
    if (peer === undefined || peer.readableDone || peer.destroyed) {
      callback();
      return;
    }
    if (peer.push(chunk)) callback();
    else peer.heldWrite = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.endReadable();
    callback();
  }

  override _read(): void {
    this.releaseHeldWrite();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A writer blocked on this end must not wait for ever; its later writes are dropped (_write).
    this.releaseHeldWrite();
    callback(error);
  }

  private releaseHeldWrite(): void {
    const held = this.heldWrite;
    this.heldWrite = undefined;
    held?.();
  }
}
