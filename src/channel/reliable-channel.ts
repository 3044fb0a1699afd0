import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  decodeAcknowledgement,
  decodeChannelClosed,
  decodeClientMessage,
  encodeAcknowledgement,
  encodeClientMessage,
  MessageFlags,
  MessageType,
  PayloadType,
  ProtocolError,
  type ChannelClosed,
  type DecodedClientMessage,
} from '../protocol/index.js';
import { silentLogger, type Logger } from '../logging.js';
import { WarningLimiter } from '../util/warning-limiter.js';
import type { FrameTransport } from './frame-transport.js';
import { DEFAULT_RTT_OPTIONS, RttEstimator, type RttEstimatorOptions } from './rtt-estimator.js';

/**
 * Which end of the data channel this is. The client sends `input_stream_data` and receives
 * `output_stream_data`; the agent (our emulator) the other way round (docs/protocol.md §3.1).
 */
export type ChannelRole = 'client' | 'agent';

export interface ReliableChannelOptions {
  role: ChannelRole;
  /** Largest payload of one stream message: the agent expects ≤ 1024 (docs/protocol.md §7.2). */
  maxPayloadSize?: number;
  /** Sequence-space window: messages sent but not yet acknowledged, oldest to newest. */
  windowMessages?: number;
  /**
   * Bytes handed to the transport but not yet written, above which we stop transmitting. Acks may
   * go on until twice this is queued; past that they are dropped (the peer resends, and the copy is
   * acknowledged then), so a peer that floods messages and reads nothing cannot grow the queue.
   */
  transportHighWaterBytes?: number;
  /** Out-of-order messages kept for later delivery (the reference keeps 10000, docs/protocol.md §7.1). */
  maxReorderMessages?: number;
  /**
   * Payload bytes those may hold. Agent messages carry ≤ 1 KiB, but a frame may be up to the
   * socket's limit: without this, 4096 large frames from a hostile server would be held in memory.
   */
  maxReorderBytes?: number;
  rtt?: Partial<RttEstimatorOptions>;
  /** Give up (emit 'resendTimeout') when one message stays unacknowledged this long while connected. */
  resendTimeoutMs?: number;
  /** Payload types acknowledged before they are handed on (handshake messages, docs/protocol.md §5.3). */
  ackBeforeDelivery?: (payloadType: number) => boolean;
  logger?: Logger;
}

/** Receives in-order stream messages. Returning false means "not ready": no ack, offered again on resumeDelivery(). */
export type InboundHandler = (message: DecodedClientMessage) => boolean;

interface OutgoingEntry {
  sequenceNumber: number;
  frame: Buffer;
  payloadBytes: number;
  /** Attachment generation in which it was last transmitted; 0 = never on the current socket. */
  sentOn: number;
  lastSentAt: number;
  firstSentAt: number;
  /** Number of its last transmission in this channel's count of transmissions. */
  lastTransmission: number;
  attempts: number;
  acked: boolean;
}

interface HeldMessage {
  message: DecodedClientMessage;
  acked: boolean;
}

/** Often enough that a loss proven by later acknowledgements is repaired within a few milliseconds. */
const RETRANSMIT_TICK_MS = 10;
/** Later transmissions acknowledged that prove an unacknowledged one lost (TCP's duplicate-ack threshold). */
const LOSS_EVIDENCE_TRANSMISSIONS = 3;
/**
 * Retransmissions per tick at most: after a resume the whole window (up to 1024 messages) may be
 * due at once; spreading it over a few ticks keeps one tick from blocking the event loop.
 */
const MAX_RESENDS_PER_TICK = 256;
/** The agent's largest stream payload (docs/protocol.md §7.2): it rejects longer messages. */
const DEFAULT_MAX_PAYLOAD_SIZE = 1024;
/** Unacknowledged messages in flight: 1024 × 1 KiB keeps a 1 MB/s session busy over a 1 s round trip. */
const DEFAULT_WINDOW_MESSAGES = 1024;
/** Transport bytes queued before transmitting pauses: about one window of full messages. */
const DEFAULT_TRANSPORT_HIGH_WATER_BYTES = 1024 * 1024;
/** Out-of-order messages held: four windows, room for a resume's burst of retransmissions. */
const DEFAULT_MAX_REORDER_MESSAGES = 4096;
/** Payload bytes those may hold: bounds memory against a peer that sends large frames out of order. */
const DEFAULT_MAX_REORDER_BYTES = 8 * 1024 * 1024;
/** A message unacknowledged this long on a live socket means the peer is gone (the agent resends for ~5 min). */
const DEFAULT_RESEND_TIMEOUT_MS = 120_000;
/** Sent entries kept at the head of the transmit queue before it is compacted: amortises the copy. */
const TRANSMIT_QUEUE_COMPACT_AFTER = 4096;
/** Doublings of the RTO for a message resent again and again (2 ** 4 = 16 × the RTO)... */
const MAX_BACKOFF_DOUBLINGS = 4;
/** ...and never more than this between resends, so a message lost on a live link goes again within seconds. */
const MAX_RESEND_INTERVAL_MS = 4000;

export interface ReliableChannelEvents {
  drain: [];
  channelClosed: [ChannelClosed];
  publication: [paused: boolean];
  protocolError: [ProtocolError];
  resendTimeout: [sequenceNumber: number];
  transportError: [Error];
}

/**
 * The reliable core of one data channel (docs/protocol.md §5–§7), shared by the client and the
 * emulator's agent; the role only decides message types and header flags.
 *
 * Deviations from the reference, each deliberate (docs/protocol.md §12): a sequence window instead of an evicting
 * 10000-message buffer and a 1 ms sleep per message; every expired message is resent, with backoff,
 * not only the head on every tick; duplicates are re-acknowledged; data written while no socket is
 * attached waits in the window and goes out on the next attach.
 */
export class ReliableChannel extends EventEmitter<ReliableChannelEvents> {
  readonly role: ChannelRole;
  private readonly outgoingType: MessageType;
  private readonly incomingType: MessageType;
  private readonly maxPayloadSize: number;
  private readonly windowMessages: number;
  private readonly highWaterBytes: number;
  private readonly maxReorder: number;
  private readonly maxReorderBytes: number;
  private readonly resendTimeoutMs: number;
  private readonly ackBeforeDelivery: (payloadType: number) => boolean;
  private readonly log: Logger;
  /** Warnings the peer triggers frame by frame: one line per kind per few seconds. */
  private readonly warnings: WarningLimiter;
  private readonly rtt: RttEstimator;

  private nextSequence = 0;
  private readonly outgoing = new Map<number, OutgoingEntry>();
  /** No message below this sequence number is still unacknowledged. */
  private lowestUnacked = 0;
  private transmitQueue: OutgoingEntry[] = [];
  private transmitHead = 0;
  private wantDrain = false;
  private transmissions = 0;
  /** The latest transmission (by number) of a message that has been acknowledged. */
  private newestAckedTransmission = 0;

  private expectedSequence = 0;
  private readonly reorder = new Map<number, HeldMessage>();
  private reorderBytes = 0;
  private blocked = false;
  private handler: InboundHandler = () => false;

  private transport: FrameTransport | undefined;
  private generation = 0;
  private queuedBytes = 0;
  /** Sequence numbers whose ack is queued and not yet written: a duplicate of one of them adds nothing. */
  private readonly acksQueued = new Set<number>();
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: ReliableChannelOptions) {
    super();
    this.role = options.role;
    this.outgoingType = options.role === 'client' ? MessageType.InputStreamData : MessageType.OutputStreamData;
    this.incomingType = options.role === 'client' ? MessageType.OutputStreamData : MessageType.InputStreamData;
    this.maxPayloadSize = options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE;
    this.windowMessages = options.windowMessages ?? DEFAULT_WINDOW_MESSAGES;
    this.highWaterBytes = options.transportHighWaterBytes ?? DEFAULT_TRANSPORT_HIGH_WATER_BYTES;
    this.maxReorder = options.maxReorderMessages ?? DEFAULT_MAX_REORDER_MESSAGES;
    this.maxReorderBytes = options.maxReorderBytes ?? DEFAULT_MAX_REORDER_BYTES;
    this.resendTimeoutMs = options.resendTimeoutMs ?? DEFAULT_RESEND_TIMEOUT_MS;
    this.ackBeforeDelivery = options.ackBeforeDelivery ?? (() => false);
    this.log = options.logger ?? silentLogger;
    this.warnings = new WarningLimiter(this.log);
    this.rtt = new RttEstimator({ ...DEFAULT_RTT_OPTIONS, ...options.rtt });
  }

  // --- state -----------------------------------------------------------------------------------

  get attached(): boolean {
    return this.transport !== undefined;
  }

  /** True while the window has room: callers stop writing when send() returns false and wait for 'drain'. */
  get writable(): boolean {
    return this.nextSequence - this.oldestUnacked() < this.windowMessages;
  }

  get unacknowledgedCount(): number {
    return this.outgoing.size;
  }

  get heldCount(): number {
    return this.reorder.size;
  }

  /** A message the consumer refused is next in order: it is delivered on resumeDelivery(). */
  get hasDeliverable(): boolean {
    return this.reorder.has(this.expectedSequence);
  }

  /** Payload bytes of the held messages. */
  get heldBytes(): number {
    return this.reorderBytes;
  }

  /** Bytes handed to the socket and not yet written: at most twice `transportHighWaterBytes`, plus one frame. */
  get queuedTransportBytes(): number {
    return this.queuedBytes;
  }

  get rtoMs(): number {
    return this.rtt.rtoMs;
  }

  get nextOutgoingSequence(): number {
    return this.nextSequence;
  }

  get expectedIncomingSequence(): number {
    return this.expectedSequence;
  }

  setInboundHandler(handler: InboundHandler): void {
    this.handler = handler;
  }

  // --- transport ---------------------------------------------------------------------------------

  /** Start using a (new) socket: everything unacknowledged is transmitted again, in order (docs/protocol.md §9.3). */
  attach(transport: FrameTransport): void {
    if (this.closed) return;
    this.transport = transport;
    this.generation += 1;
    this.queuedBytes = 0;
    this.acksQueued.clear();
    this.paused = false;
    for (const entry of this.outgoing.values()) entry.firstSentAt = 0;
    this.transmitQueue = [...this.outgoing.values()];
    this.transmitHead = 0;
    this.pump();
    this.armTimer();
  }

  /** The socket is gone. State is kept for the next attach (no second handshake, docs/protocol.md §9.3). */
  detach(): void {
    this.transport = undefined;
    this.stopTimer();
  }

  /** Stops everything; later frames and sends are ignored. */
  close(): void {
    this.closed = true;
    this.detach();
    this.outgoing.clear();
    this.transmitQueue = [];
    this.reorder.clear();
    this.reorderBytes = 0;
  }

  // --- sending -----------------------------------------------------------------------------------

  /**
   * Sends a sequenced stream message. Output payloads longer than maxPayloadSize are split.
   * Returns false once the window is full: the data is still queued, but the caller should wait
   * for 'drain' before sending more.
   */
  send(payloadType: number, payload: Buffer): boolean {
    if (this.closed) return false;
    if (payload.length <= this.maxPayloadSize || payloadType !== PayloadType.Output) {
      this.enqueue(payloadType, payload);
    } else {
      for (let offset = 0; offset < payload.length; offset += this.maxPayloadSize) {
        this.enqueue(payloadType, payload.subarray(offset, offset + this.maxPayloadSize));
      }
    }
    this.pump();
    this.armTimer();
    const writable = this.writable;
    if (!writable) this.wantDrain = true;
    return writable;
  }

  /** Sends a message outside the sequence (acknowledge, channel_closed, publication control). */
  sendUnsequenced(messageType: MessageType, payloadType: number, payload: Buffer, flags: number = MessageFlags.None): void {
    if (!this.transport || this.closed) return;
    this.write(unsequencedFrame(messageType, payloadType, payload, flags));
  }

  private enqueue(payloadType: number, payload: Buffer): void {
    const sequenceNumber = this.nextSequence++;
    const frame = encodeClientMessage({
      messageType: this.outgoingType,
      schemaVersion: 1,
      createdDate: Date.now(),
      sequenceNumber,
      // The agent marks its first stream message SYN; client data carries 0 (docs/protocol.md §3.3).
      flags: this.role === 'agent' && sequenceNumber === 0 ? MessageFlags.Syn : MessageFlags.None,
      messageId: randomUUID(),
      payloadType,
      payload,
    });
    const entry: OutgoingEntry = {
      sequenceNumber,
      frame,
      payloadBytes: payload.length,
      sentOn: 0,
      lastSentAt: 0,
      firstSentAt: 0,
      lastTransmission: 0,
      attempts: 0,
      acked: false,
    };
    this.outgoing.set(sequenceNumber, entry);
    this.transmitQueue.push(entry);
  }

  private pump(): void {
    while (this.transport && !this.paused && this.queuedBytes < this.highWaterBytes && this.transmitHead < this.transmitQueue.length) {
      const entry = this.transmitQueue[this.transmitHead++]!;
      if (entry.acked || entry.sentOn === this.generation) continue;
      this.transmit(entry);
    }
    if (this.transmitHead >= this.transmitQueue.length) {
      this.transmitQueue = [];
      this.transmitHead = 0;
    } else if (this.transmitHead > TRANSMIT_QUEUE_COMPACT_AFTER) {
      this.transmitQueue = this.transmitQueue.slice(this.transmitHead);
      this.transmitHead = 0;
    }
  }

  private transmit(entry: OutgoingEntry): void {
    const now = Date.now();
    if (entry.lastSentAt !== 0) entry.attempts += 1;
    if (entry.firstSentAt === 0) entry.firstSentAt = now;
    entry.sentOn = this.generation;
    entry.lastSentAt = now;
    entry.lastTransmission = ++this.transmissions;
    this.write(entry.frame);
  }

  private write(frame: Buffer, onWritten?: () => void): void {
    const transport = this.transport!;
    const generation = this.generation;
    this.queuedBytes += frame.length;
    transport.send(frame, (error) => {
      if (generation !== this.generation) return;
      this.queuedBytes -= frame.length;
      onWritten?.();
      if (error) {
        // The socket is failing; its owner will detach us. Unacked data stays for the next attach.
        this.emit('transportError', error);
        return;
      }
      if (this.queuedBytes < this.highWaterBytes / 2) this.pump();
    });
  }

  // --- retransmission (docs/protocol.md §6.3–§6.4) ----------------------------------------------------

  private armTimer(): void {
    if (this.timer || !this.transport || this.outgoing.size === 0) return;
    this.timer = setInterval(() => this.onTick(), RETRANSMIT_TICK_MS);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private onTick(): void {
    if (this.outgoing.size === 0) {
      this.stopTimer();
      return;
    }
    if (!this.transport || this.paused) return;
    const now = Date.now();
    let resent = 0;
    for (const entry of this.outgoing.values()) {
      if (entry.sentOn !== this.generation) break;
      if (now - entry.firstSentAt > this.resendTimeoutMs) {
        this.log.error({ sequenceNumber: entry.sequenceNumber, attempts: entry.attempts }, 'message never acknowledged; giving up on this channel');
        this.stopTimer();
        this.emit('resendTimeout', entry.sequenceNumber);
        return;
      }
      // Messages transmitted after this one's last transmission were acknowledged: this one (or its
      // ack) was lost on a live link, and it goes again now rather than after a backed-off RTO, as
      // with TCP's duplicate acks; the per-message acks play the part of SACK. Waiting for the RTO
      // on random loss stalled the window, and whole transfers, for seconds.
      const lost = this.newestAckedTransmission - entry.lastTransmission >= LOSS_EVIDENCE_TRANSMISSIONS;
      const timeout = lost ? 0 : Math.min(this.rtt.rtoMs * 2 ** Math.min(entry.attempts, MAX_BACKOFF_DOUBLINGS), MAX_RESEND_INTERVAL_MS);
      if (now - entry.lastSentAt > timeout) {
        if (this.queuedBytes >= this.highWaterBytes) break;
        this.transmit(entry);
        if (++resent >= MAX_RESENDS_PER_TICK) break;
      }
    }
    if (resent > 0) this.log.debug({ resent, rtoMs: this.rtt.rtoMs }, 'retransmitted unacknowledged messages');
  }

  /** Advances past acknowledged numbers: amortised O(1), where a Map iterator per call showed in the profile. */
  private oldestUnacked(): number {
    while (this.lowestUnacked < this.nextSequence && !this.outgoing.has(this.lowestUnacked)) this.lowestUnacked += 1;
    return this.lowestUnacked;
  }

  // --- receiving ---------------------------------------------------------------------------------

  /** Feeds one frame received from the socket. Malformed frames are reported and dropped, never thrown. */
  handleFrame(frame: Buffer): void {
    if (this.closed) return;
    let message: DecodedClientMessage;
    try {
      message = decodeClientMessage(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.warnings.warn({ err: error.message, bytes: frame.length }, 'dropped a malformed data-channel frame');
      this.emit('protocolError', error);
      return;
    }
    switch (message.messageType) {
      case MessageType.Acknowledge:
        this.onAcknowledge(message);
        return;
      case MessageType.ChannelClosed:
        this.onChannelClosed(message);
        return;
      case MessageType.PausePublication:
      case MessageType.StartPublication:
        this.onPublication(message.messageType === MessageType.PausePublication);
        return;
      case this.incomingType:
        this.onStreamMessage(message);
        return;
      default:
        this.warnings.warn({ messageType: message.messageType }, 'ignored a message type this role never receives');
    }
  }

  /** The consumer is ready again after refusing a message: deliver what is held. */
  resumeDelivery(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.drainHeld();
  }

  private onAcknowledge(message: DecodedClientMessage): void {
    let sequenceNumber: number;
    try {
      sequenceNumber = decodeAcknowledgement(message.payload).acknowledgedMessageSequenceNumber;
    } catch (error) {
      this.warnings.warn({ err: (error as Error).message }, 'dropped a malformed acknowledgement');
      this.emit('protocolError', error as ProtocolError);
      return;
    }
    const entry = this.outgoing.get(sequenceNumber);
    if (!entry) return;
    if (entry.attempts === 0) this.rtt.addSample(Date.now() - entry.lastSentAt);
    if (entry.lastTransmission > this.newestAckedTransmission) this.newestAckedTransmission = entry.lastTransmission;
    entry.acked = true;
    this.outgoing.delete(sequenceNumber);
    if (this.outgoing.size === 0) this.stopTimer();
    if (this.wantDrain && this.writable) {
      this.wantDrain = false;
      this.emit('drain');
    }
  }

  private onChannelClosed(message: DecodedClientMessage): void {
    let closed: ChannelClosed;
    try {
      closed = decodeChannelClosed(message.payload);
    } catch {
      // docs/protocol.md §10.1: a parse failure still ends the session.
      closed = { messageId: message.messageId, createdDate: '', destinationId: '', sessionId: '', messageType: 'channel_closed', schemaVersion: 1, output: '' };
    }
    this.emit('channelClosed', closed);
  }

  private onPublication(paused: boolean): void {
    // docs/protocol.md §7.3: the agent is away; hold transmissions (the window still bounds what callers queue).
    if (this.paused === paused) return;
    this.paused = paused;
    this.log.info({ paused }, paused ? 'service paused publication' : 'service resumed publication');
    this.emit('publication', paused);
    if (!paused) this.pump();
  }

  private onStreamMessage(message: DecodedClientMessage): void {
    const sequenceNumber = message.sequenceNumber;
    if (sequenceNumber < this.expectedSequence) {
      // A duplicate: our ack was probably lost, so acknowledge again (docs/protocol.md §12.3).
      this.acknowledge(message);
      return;
    }
    if (sequenceNumber === this.expectedSequence && !this.blocked && this.reorder.size === 0) {
      this.deliver(message, false);
      return;
    }
    const held = this.reorder.get(sequenceNumber);
    if (held) {
      if (held.acked) this.acknowledge(message);
      return;
    }
    // The expected message always has room (the count cap leaves it one), so held messages can drain.
    const ackNow = sequenceNumber !== this.expectedSequence;
    if (
      this.reorder.size >= this.maxReorder ||
      sequenceNumber - this.expectedSequence >= this.maxReorder ||
      (ackNow && this.reorderBytes + message.payload.length > this.maxReorderBytes)
    ) {
      // No room: drop without ack; the peer retransmits (docs/protocol.md §7.1).
      return;
    }
    // Out of order: ack now and keep it (docs/protocol.md §7.1). The expected message itself is held unacked while the consumer is blocked.
    if (ackNow) this.acknowledge(message);
    this.hold(message, ackNow);
    if (!this.blocked) this.drainHeld();
  }

  /** Hands one in-order message on; returns false when the consumer refused it. */
  private deliver(message: DecodedClientMessage, alreadyAcked: boolean): boolean {
    const ackFirst = !alreadyAcked && this.ackBeforeDelivery(message.payloadType);
    if (ackFirst) this.acknowledge(message);
    if (!this.handler(message)) {
      if (ackFirst) {
        this.warnings.warn({ payloadType: message.payloadType }, 'consumer refused a message that was already acknowledged');
      }
      this.blocked = true;
      if (!this.reorder.has(message.sequenceNumber)) this.hold(message, alreadyAcked || ackFirst);
      return false;
    }
    if (!alreadyAcked && !ackFirst) this.acknowledge(message);
    this.expectedSequence += 1;
    return true;
  }

  private hold(message: DecodedClientMessage, acked: boolean): void {
    this.reorder.set(message.sequenceNumber, { message: copyMessage(message), acked });
    this.reorderBytes += message.payload.length;
  }

  private drainHeld(): void {
    for (;;) {
      const held = this.reorder.get(this.expectedSequence);
      if (!held) return;
      this.reorder.delete(this.expectedSequence);
      this.reorderBytes -= held.message.payload.length;
      if (!this.deliver(held.message, held.acked)) return;
      if (this.closed) return;
    }
  }

  private acknowledge(message: DecodedClientMessage): void {
    if (!this.transport || this.closed) return;
    const { sequenceNumber } = message;
    if (this.acksQueued.has(sequenceNumber)) return;
    if (this.queuedBytes >= 2 * this.highWaterBytes) {
      this.warnings.warn({ queuedBytes: this.queuedBytes }, 'dropped an acknowledgement: the socket is not being read');
      return;
    }
    this.acksQueued.add(sequenceNumber);
    const frame = unsequencedFrame(
      MessageType.Acknowledge,
      PayloadType.Undefined,
      encodeAcknowledgement({
        acknowledgedMessageType: message.messageType,
        acknowledgedMessageId: message.messageId,
        acknowledgedMessageSequenceNumber: sequenceNumber,
        isSequentialMessage: true,
      }),
      MessageFlags.Ack,
    );
    this.write(frame, () => this.acksQueued.delete(sequenceNumber));
  }
}

function unsequencedFrame(messageType: MessageType, payloadType: number, payload: Buffer, flags: number): Buffer {
  return encodeClientMessage({ messageType, schemaVersion: 1, createdDate: Date.now(), sequenceNumber: 0, flags, messageId: randomUUID(), payloadType, payload });
}

/** Held messages outlive the socket's receive buffer, so they own their bytes. */
function copyMessage(message: DecodedClientMessage): DecodedClientMessage {
  return { ...message, payload: Buffer.from(message.payload) };
}
