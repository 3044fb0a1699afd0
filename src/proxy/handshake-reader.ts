import type { Socket } from 'node:net';
import type { ParseResult } from './handshake-result.js';

/*
 * Feeds a client's bytes to the handshake parsers, one message at a time, keeping what follows a
 * message for the next. Bounded: a handshake larger than `maxBytes` is not read further.
 */

/** The client went away, sent too much, or took too long before its handshake was complete. */
export class HandshakeAborted extends Error {
  override readonly name = 'HandshakeAborted';
}

export class HandshakeReader {
  private buffered: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failure: string | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.buffered.length > this.maxBytes) {
      this.socket.pause();
      this.fail(`handshake larger than ${this.maxBytes} bytes`);
    }
    this.wake?.();
  };
  private readonly onEnd = (): void => this.fail('the client closed the connection during the handshake');
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    private readonly maxBytes: number,
    timeoutMs: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    this.timer = setTimeout(() => this.fail(`no complete handshake within ${timeoutMs} ms`), timeoutMs);
    socket.resume();
  }

  /** The first byte, once there is one. */
  async peek(): Promise<number> {
    while (this.buffered.length === 0) {
      if (this.failure !== undefined) throw new HandshakeAborted(this.failure);
      await this.more();
    }
    return this.buffered[0]!;
  }

  /**
   * The next complete or invalid message; a complete one's bytes are consumed. Rejects with
   * HandshakeAborted when the client closes, overflows or times out first.
   */
  async next<T, R>(parse: (bytes: Buffer) => ParseResult<T, R>): Promise<Exclude<ParseResult<T, R>, { kind: 'incomplete' }>> {
    for (;;) {
      const result = parse(this.buffered);
      if (result.kind === 'complete') {
        this.buffered = this.buffered.subarray(result.consumed);
        return result;
      }
      if (result.kind === 'invalid') return result as Exclude<ParseResult<T, R>, { kind: 'incomplete' }>;
      if (this.failure !== undefined) throw new HandshakeAborted(this.failure);
      await this.more();
    }
  }

  /** Stops reading (the socket is left paused) and returns the bytes not consumed. */
  detach(): Buffer {
    clearTimeout(this.timer);
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }

  /** Resolves on the next chunk or failure; the caller parses again, then looks at the failure. */
  private more(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  private fail(reason: string): void {
    this.failure ??= reason;
    this.wake?.();
  }
}
