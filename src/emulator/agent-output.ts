import { EventEmitter } from 'node:events';
import type { ReliableChannel } from '../channel/reliable-channel.js';
import { encodeFlag, PayloadType } from '../protocol/index.js';

/** The agent sleeps this long after each message it sends (docs/forwarding.md §7.2). */
const PACING_DELAY_MS = 1;

export interface ChannelOutputOptions {
  /** Read before each message, so a session's pacing can be switched while it runs. */
  pacing: () => boolean;
  /** Largest Output payload, read before each message: 1024 (`StreamDataPayloadSize`, docs/forwarding.md §7.2) or less. */
  chunkSize: () => number;
  /** Bytes queued here above which write() asks the writer to wait for 'drain'. */
  highWaterBytes?: number;
  /** Called as each message goes to the channel. */
  onSent?: (payloadType: number, bytes: number) => void;
}

interface QueuedPayload {
  payloadType: number;
  bytes: Buffer;
}

/**
 * The agent's outgoing stream data: destination bytes (basic) or smux bytes (mux), and Flag
 * messages in order with them, sliced into messages of at most 1024 bytes and optionally paced at one
 * message per millisecond. Bounded: write() returns false above the high-water mark or while the
 * channel's window is full, and 'drain' says when to write again.
 */
export class ChannelOutput extends EventEmitter<{ drain: [] }> {
  private readonly channel: ReliableChannel;
  private readonly options: ChannelOutputOptions;
  private readonly highWaterBytes: number;
  private readonly queue: QueuedPayload[] = [];
  private queuedBytes = 0;
  private pacingTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private wantDrain = false;
  private paused = false;
  private closed = false;

  constructor(channel: ReliableChannel, options: ChannelOutputOptions) {
    super();
    this.channel = channel;
    this.options = options;
    this.highWaterBytes = options.highWaterBytes ?? 64 * 1024;
    channel.on('drain', this.onChannelDrain);
  }

  /** Queues Output bytes. False: wait for 'drain' before writing more (the bytes are kept). */
  write(bytes: Buffer): boolean {
    if (this.closed) return false;
    if (bytes.length > 0) {
      this.queue.push({ payloadType: PayloadType.Output, bytes });
      this.queuedBytes += bytes.length;
      this.flush();
    }
    const ok = this.canTakeMore();
    if (!ok) this.wantDrain = true;
    return ok;
  }

  /** Queues a Flag message behind the bytes already written (a ConnectToPortError must precede its FIN). */
  writeFlag(flag: number): void {
    if (this.closed) return;
    this.queue.push({ payloadType: PayloadType.Flag, bytes: encodeFlag(flag) });
    this.flush();
  }

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  /** While the service has paused publication the agent sends nothing, so destinations stop being read (docs/protocol.md §7.3). */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.flush();
  }

  /** Discards what is queued; nothing is sent any more. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.pacingTimer) clearTimeout(this.pacingTimer);
    this.pacingTimer = undefined;
    this.channel.off('drain', this.onChannelDrain);
  }

  private readonly onChannelDrain = (): void => this.flush();

  private flush(): void {
    if (this.flushing || this.pacingTimer !== undefined || this.closed || this.paused) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.channel.writable) {
        this.sendOne();
        if (this.options.pacing() && this.queue.length > 0) {
          this.pacingTimer = setTimeout(() => {
            this.pacingTimer = undefined;
            this.flush();
          }, PACING_DELAY_MS);
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
    if (this.wantDrain && this.canTakeMore()) {
      this.wantDrain = false;
      this.emit('drain');
    }
  }

  private canTakeMore(): boolean {
    return this.queuedBytes < this.highWaterBytes && this.channel.writable && !this.paused && !this.closed;
  }

  private sendOne(): void {
    const head = this.queue[0]!;
    let bytes = head.bytes;
    const chunkSize = this.options.chunkSize();
    if (head.payloadType === PayloadType.Output && bytes.length > chunkSize) {
      head.bytes = bytes.subarray(chunkSize);
      bytes = bytes.subarray(0, chunkSize);
    } else {
      this.queue.shift();
    }
    if (head.payloadType === PayloadType.Output) this.queuedBytes -= bytes.length;
    this.channel.send(head.payloadType, bytes);
    this.options.onSent?.(head.payloadType, bytes.length);
  }
}
