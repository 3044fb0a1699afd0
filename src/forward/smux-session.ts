import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  encodeSmuxFrame,
  encodeSmuxHeader,
  SMUX_MAX_FRAME_SIZE,
  SmuxCommand,
  SmuxFrameParser,
  type SmuxFrame,
} from '../protocol/index.js';
import { SmuxStream, type SmuxStreamLink } from './smux-stream.js';

export interface SmuxSessionOptions {
  /** The client opens streams 3, 5, 7, …; the server accepts SYNs and never opens (docs/forwarding.md §4.1). */
  role: 'client' | 'server';
  /** docs/forwarding.md §5: send NOP every keepAliveIntervalMs; close when no frame arrived during a keepAliveTimeoutMs window. */
  keepAlive: boolean;
  keepAliveIntervalMs?: number;
  keepAliveTimeoutMs?: number;
  /** Session-wide bytes delivered to streams but not yet read by their consumers (docs/forwarding.md §4.5). */
  maxReceiveBuffer?: number;
  /** Emits bytes towards the peer. Returns false when the transport wants us to stop until resumeOutput(). */
  output: (bytes: Buffer) => boolean;
  logger?: Logger;
}

export interface SmuxSessionEvents {
  /** Server role: a stream the peer opened, in SYN order. */
  stream: [SmuxStream];
  /** The receive buffer fell below maxReceiveBuffer after being full: feed receive() again. */
  receiveReady: [];
  /** A fatal protocol error or a keepalive timeout; 'close' follows. */
  error: [Error];
  close: [reason: Error | undefined];
}

/** The session saw no frame from the peer during a whole keepalive check window (docs/forwarding.md §5). */
export class SmuxKeepaliveTimeoutError extends Error {
  override readonly name = 'SmuxKeepaliveTimeoutError';
}

const DEFAULT_KEEPALIVE_INTERVAL_MS = 10_000;
const DEFAULT_KEEPALIVE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RECEIVE_BUFFER = 4 * 1024 * 1024;
const MAX_STREAM_ID = 0xffff_ffff;

/** A stream write that the transport has not fully accepted yet. */
interface PendingWrite {
  data: Buffer;
  offset: number;
  done: (error?: Error | null) => void;
}

/**
 * An smux v1 session (docs/forwarding.md §3–§4) between streams and a byte pipe. The layer above feeds it the peer's
 * bytes with receive() and carries what it emits through `output`; it knows nothing of messages.
 *
 * Flow control both ways is bounded: outgoing, each stream has at most one write in progress (its
 * Writable buffer holds the rest) and writes wait while `output` is paused; incoming, the layer above
 * stops calling receive() while receiveBufferFull is true and resumes on 'receiveReady'.
 *
 * Emits 'error' only for failures it detects itself; like any EventEmitter it throws when nobody
 * listens. receive() keeps references to the buffers it is given: do not reuse them. receive() must
 * not be called from inside `output` (frames would be handled out of order).
 */
export class SmuxSession extends EventEmitter<SmuxSessionEvents> implements SmuxStreamLink {
  readonly role: 'client' | 'server';
  private readonly output: (bytes: Buffer) => boolean;
  private readonly maxReceiveBuffer: number;
  private readonly log: Logger | undefined;
  private readonly parser = new SmuxFrameParser();
  /** Streams open on the wire: no FIN sent yet. */
  private readonly streams = new Map<number, SmuxStream>();
  /** Every stream not yet destroyed, including those whose FIN went out while their reader drains. */
  private readonly liveStreams = new Set<SmuxStream>();
  /** Writes in progress in send order; a stream goes to the back after each frame (round robin). */
  private readonly pendingWrites = new Map<SmuxStream, PendingWrite>();
  private lastStreamId = 1;
  private outputPaused = false;
  private pumping = false;
  private receiveBuffered = 0;
  private receiveStalled = false;
  private receiveReadyScheduled = false;
  private frameSeen = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(options: SmuxSessionOptions) {
    super();
    this.role = options.role;
    this.output = options.output;
    this.maxReceiveBuffer = options.maxReceiveBuffer ?? DEFAULT_MAX_RECEIVE_BUFFER;
    this.log = options.logger;
    if (!(this.maxReceiveBuffer > 0)) {
      throw new RangeError(`smux maxReceiveBuffer must be > 0, got ${this.maxReceiveBuffer}`);
    }
    if (options.keepAlive) {
      this.startKeepAlive(
        options.keepAliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
        options.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
      );
    }
  }

  /** Streams open on the wire (neither side's FIN processed yet). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Bytes delivered to streams and not yet read by their consumers. */
  get receiveBufferedBytes(): number {
    return this.receiveBuffered;
  }

  get receiveBufferFull(): boolean {
    return this.receiveBuffered >= this.maxReceiveBuffer;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Client role: allocates the next stream id and sends its SYN at once (docs/forwarding.md §4.1–§4.2). */
  openStream(): SmuxStream {
    if (this.closed) throw new Error('smux session is closed; cannot open a stream');
    if (this.role !== 'client') throw new Error('smux server role never opens streams (docs/forwarding.md §4.1)');
    const id = this.lastStreamId + 2;
    if (id > MAX_STREAM_ID) {
      throw new Error(`smux stream ids exhausted: last id ${this.lastStreamId}, ids are never reused (docs/forwarding.md §4.1)`);
    }
    this.lastStreamId = id;
    const stream = this.createStream(id);
    this.sendControl(SmuxCommand.SYN, id);
    this.log?.debug({ streamId: id }, 'smux stream opened');
    return stream;
  }

  /** Feeds bytes from the peer, in any chunking. A protocol error is fatal: 'error', then 'close'. */
  receive(bytes: Buffer): void {
    if (this.closed) return;
    let frames: SmuxFrame[];
    try {
      frames = this.parser.push(bytes);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const frame of frames) {
      // A stream's consumer may close the session while we deliver.
      if (this.closed) return;
      this.frameSeen = true;
      switch (frame.cmd) {
        case SmuxCommand.SYN:
          this.handleSyn(frame.streamId);
          break;
        case SmuxCommand.FIN:
          this.handleFin(frame.streamId);
          break;
        case SmuxCommand.PSH:
          this.handlePsh(frame.streamId, frame.data);
          break;
        case SmuxCommand.NOP:
          // Only refreshes the keepalive flag (set above).
          break;
      }
    }
  }

  /**
   * Sends one NOP (stream 0) now, whatever the keepalive setting. The peer only notes it as a frame
   * seen (docs/forwarding.md §3.3), so it is a harmless way to show the line is alive.
   */
  sendNop(): void {
    if (!this.closed) this.sendControl(SmuxCommand.NOP, 0);
  }

  /** The transport drained: continue pending stream writes. */
  resumeOutput(): void {
    this.outputPaused = false;
    this.pump();
  }

  /**
   * Destroys every stream (with `reason`, if given) and stops the timers. Nothing is sent: smux has
   * no session close frame (docs/forwarding.md §3.4). Idempotent.
   */
  close(reason?: Error): void {
    if (this.closed) return;
    this.teardown(reason);
    this.emit('close', reason);
  }

  // --- SmuxStreamLink (called by streams) ---------------------------------------------------------

  writeStreamData(stream: SmuxStream, data: Buffer, done: (error?: Error | null) => void): void {
    if (data.length === 0 || this.streams.get(stream.id) !== stream) {
      // Nothing to send (docs/forwarding.md §3.4: never an empty PSH), or the stream's FIN already went out.
      done();
      return;
    }
    this.pendingWrites.set(stream, { data, offset: 0, done });
    this.pump();
  }

  closeStream(stream: SmuxStream): void {
    if (this.forget(stream)) this.log?.debug({ streamId: stream.id }, 'smux stream closed locally');
  }

  adjustReceiveBuffer(delta: number): void {
    this.receiveBuffered += delta;
    if (this.receiveBufferFull) {
      this.receiveStalled = true;
    } else if (this.receiveStalled) {
      this.receiveStalled = false;
      this.scheduleReceiveReady();
    }
  }

  private createStream(id: number): SmuxStream {
    const stream = new SmuxStream(id, this);
    this.streams.set(id, stream);
    this.liveStreams.add(stream);
    stream.once('close', () => this.liveStreams.delete(stream));
    return stream;
  }

  // --- inbound frames (docs/forwarding.md §3.3) ----------------------------------------------------

  private handleSyn(id: number): void {
    if (this.role === 'client') {
      this.log?.warn({ streamId: id }, 'smux SYN from the server ignored: only the client opens streams');
      return;
    }
    if (this.streams.has(id)) return;
    const stream = this.createStream(id);
    this.log?.debug({ streamId: id }, 'smux stream accepted');
    this.emit('stream', stream);
  }

  private handleFin(id: number): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    // A FIN is a full close in v1: answer with our own FIN now, drop unsent data, end the reader.
    this.forget(stream);
    this.log?.debug({ streamId: id }, 'smux stream closed by peer');
    stream.handlePeerFin();
  }

  private handlePsh(id: number, data: Buffer): void {
    const stream = this.streams.get(id);
    if (!stream) {
      this.log?.debug({ streamId: id, bytes: data.length }, 'smux PSH for an unknown or closed stream discarded');
      return;
    }
    stream.deliver(data);
  }

  // --- outbound -----------------------------------------------------------------------------------

  /**
   * Takes a stream off the wire: sends its FIN if it was still open (and the session alive), then
   * completes its unsent write as discarded. In that order, so a write the callback lets in finds
   * the stream closed. Returns whether the stream was open.
   */
  private forget(stream: SmuxStream): boolean {
    const wasOpen = this.streams.get(stream.id) === stream;
    if (wasOpen) {
      this.streams.delete(stream.id);
      if (!this.closed) this.sendControl(SmuxCommand.FIN, stream.id);
    }
    const pending = this.pendingWrites.get(stream);
    if (pending) {
      this.pendingWrites.delete(stream);
      pending.done();
    }
    return wasOpen;
  }

  /** SYN, FIN and NOP go out at once: tiny, and bounded by the number of streams. */
  private sendControl(cmd: SmuxCommand, id: number): void {
    if (!this.output(encodeSmuxHeader(cmd, 0, id))) this.outputPaused = true;
  }

  /** Emits PSH frames of pending writes until the transport pauses. Re-entrant calls join the running loop. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.outputPaused && !this.closed) {
        const next = this.pendingWrites.entries().next();
        if (next.done) break;
        const [stream, write] = next.value;
        const end = Math.min(write.offset + SMUX_MAX_FRAME_SIZE, write.data.length);
        const body = write.data.subarray(write.offset, end);
        write.offset = end;
        this.pendingWrites.delete(stream);
        const finished = end === write.data.length;
        if (!finished) this.pendingWrites.set(stream, write);
        if (!this.output(encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: stream.id, data: body }))) {
          this.outputPaused = true;
        }
        // The transport took the last frame: the stream may hand us its next chunk (possibly right now).
        if (finished) write.done();
      }
    } finally {
      this.pumping = false;
    }
  }

  // --- receive buffer, keepalive, teardown --------------------------------------------------------

  /** Deferred so a consumer's read() never re-enters the layer above (which would call receive()). */
  private scheduleReceiveReady(): void {
    if (this.receiveReadyScheduled) return;
    this.receiveReadyScheduled = true;
    process.nextTick(() => {
      this.receiveReadyScheduled = false;
      if (!this.closed && !this.receiveBufferFull) this.emit('receiveReady');
    });
  }

  private startKeepAlive(intervalMs: number, timeoutMs: number): void {
    if (!(intervalMs > 0) || !(timeoutMs >= intervalMs)) {
      throw new RangeError(
        `smux keepalive needs interval > 0 and timeout >= interval, got interval ${intervalMs} ms, timeout ${timeoutMs} ms`,
      );
    }
    const nop = setInterval(() => this.sendNop(), intervalMs);
    // The flag starts cleared, so a silent peer is dropped at the first check (docs/forwarding.md §5); an exhausted
    // receive buffer means we stopped reading, not that the peer went quiet.
    const check = setInterval(() => {
      if (!this.frameSeen && !this.receiveBufferFull) {
        this.fail(new SmuxKeepaliveTimeoutError(`smux keepalive: no frame received from the peer in ${timeoutMs} ms`));
      }
      this.frameSeen = false;
    }, timeoutMs);
    nop.unref();
    check.unref();
    this.timers.push(nop, check);
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.log?.warn({ err: error }, 'smux session failed');
    this.teardown(error);
    try {
      this.emit('error', error);
    } finally {
      this.emit('close', error);
    }
  }

  private teardown(reason: Error | undefined): void {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    for (const stream of [...this.liveStreams]) stream.destroy(reason);
    this.liveStreams.clear();
    this.streams.clear();
    this.log?.debug({ reason: reason?.message }, 'smux session closed');
  }
}
