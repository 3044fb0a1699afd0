import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { FrameTransport } from '../channel/frame-transport.js';
import { encodeClientMessage, MessageType, PayloadType } from '../protocol/index.js';
import type { WebSocketRecord } from './record.js';

/*
 * Fault injection on one data-channel WebSocket: socket drops, and loss, duplication, reordering
 * and delay of a share of the messages in either direction, drawn from a seeded generator so a
 * test run is reproducible. The link sits between the WebSocket and the agent's reliable channel.
 */

export type FaultDirection = 'fromClient' | 'toClient';

/** Share of messages (0–1) affected in each direction. */
export interface DirectionalShare {
  fromClient?: number;
  toClient?: number;
}

export interface CloseAfterFault {
  /** Drop the socket once this many messages went through it. */
  messages?: number;
  /** Drop the socket once this many frame bytes went through it. */
  bytes?: number;
  /** Which messages count; default both directions. */
  direction?: FaultDirection | 'both';
  /** Apply to every socket of the session; default only the first socket it fires on. */
  repeat?: boolean;
}

export interface FaultSettings {
  /** Seed of the generator behind the shares below; default 1. */
  seed?: number;
  closeAfter?: CloseAfterFault;
  /** Drop each socket this long after it opened (it is resumed, and dropped again). */
  closeEveryMs?: number;
  drop?: DirectionalShare;
  duplicate?: DirectionalShare;
  /** A chosen message swaps places with the next one in its direction. */
  reorder?: DirectionalShare;
  delay?: DirectionalShare;
  /** How long delayed (and reordered, if nothing follows) messages wait; default 50 ms. */
  delayMs?: number;
  /** Destinations whose dial fails with ECONNREFUSED, as `host:port` (IPv6 in brackets). */
  refuseDestinations?: string[];
}

export type MalformedFrameKind = 'bad-digest' | 'truncated' | 'bad-payload-length' | 'garbage';

export const MALFORMED_FRAME_KINDS: readonly MalformedFrameKind[] = ['bad-digest', 'truncated', 'bad-payload-length', 'garbage'];

const DEFAULT_DELAY_MS = 50;

/** Session settings override emulator-wide ones key by key. */
export function layerFaults(...layers: (FaultSettings | undefined)[]): FaultSettings {
  const settings: FaultSettings = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) (settings as Record<string, unknown>)[key] = value;
    }
  }
  return settings;
}

export function validateFaults(settings: FaultSettings, where: string): void {
  for (const name of ['drop', 'duplicate', 'reorder', 'delay'] as const) {
    for (const direction of ['fromClient', 'toClient'] as const) {
      const share = settings[name]?.[direction];
      if (share !== undefined && !(share >= 0 && share <= 1)) {
        throw new Error(`${where}: ${name}.${direction} must be a share between 0 and 1, got ${share}`);
      }
    }
  }
  const positive = (name: string, value: number | undefined): void => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new Error(`${where}: ${name} must be positive, got ${value}`);
  };
  positive('closeAfter.messages', settings.closeAfter?.messages);
  positive('closeAfter.bytes', settings.closeAfter?.bytes);
  positive('closeEveryMs', settings.closeEveryMs);
  positive('delayMs', settings.delayMs);
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** Frames the client cannot parse, for testing its error handling (docs/protocol.md §2.4). */
export function malformedFrame(kind: MalformedFrameKind, sequenceNumber: number): Buffer {
  const frame = encodeClientMessage({
    messageType: MessageType.OutputStreamData,
    schemaVersion: 1,
    createdDate: Date.now(),
    sequenceNumber,
    flags: 0,
    messageId: randomUUID(),
    payloadType: PayloadType.Output,
    payload: Buffer.from('malformed frame injected by the emulator'),
  });
  switch (kind) {
    case 'bad-digest':
      frame[80] = frame[80]! ^ 0xff;
      return frame;
    case 'truncated':
      return frame.subarray(0, 60);
    case 'bad-payload-length':
      frame.writeUInt32BE(0xffff_ffff, 116);
      return frame;
    case 'garbage':
      return Buffer.from('\x00\x01not a data channel message\xff');
  }
}

/** Control messages from the service itself are never dropped or delayed: they carry no sequence to recover them. */
function isExempt(frame: Buffer): boolean {
  if (frame.length < 36) return false;
  const type = frame.toString('latin1', 4, 36).trim();
  return type === MessageType.ChannelClosed || type === MessageType.StartPublication || type === MessageType.PausePublication;
}

export interface FaultyLinkOptions {
  ws: WebSocket;
  settings: () => FaultSettings;
  random: () => number;
  /** Counters of this socket, updated as frames really pass. */
  counters: WebSocketRecord;
  /** Whether a one-shot closeAfter may still fire on this session; the link calls `closeAfterFired` when it does. */
  closeAfterArmed: () => boolean;
  closeAfterFired: () => void;
  /** Inbound frames that survived the faults. */
  deliver: (frame: Buffer) => void;
  /** A fault acted; `drop` is true when it dropped the socket. */
  onFault: (fault: string, drop: boolean) => void;
}

interface HeldFrame {
  frame: Buffer;
  release: () => void;
  timer: NodeJS.Timeout;
}

/** One WebSocket with faults applied both ways. Create one per socket; `close()` when the socket closes. */
export class FaultyLink {
  readonly transport: FrameTransport;
  private readonly options: FaultyLinkOptions;
  private readonly held = new Map<FaultDirection, HeldFrame>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private messages = 0;
  private bytes = 0;
  private dropping = false;
  private closed = false;

  constructor(options: FaultyLinkOptions) {
    this.options = options;
    this.transport = { send: (frame, onWritten) => this.sendToClient(frame, onWritten) };
    const every = options.settings().closeEveryMs;
    if (every !== undefined) {
      const timer = setTimeout(() => this.dropSocket(`close every ${every} ms`), every);
      this.timers.add(timer);
    }
  }

  /** A frame from the client. */
  receive(frame: Buffer): void {
    if (this.closed) return;
    this.options.counters.framesFromClient += 1;
    this.options.counters.bytesFromClient += frame.length;
    this.route('fromClient', frame, () => this.options.deliver(frame));
    this.count('fromClient', frame);
  }

  /** Writes bytes as they are, bypassing the faults (malformed frames, control messages). */
  sendRaw(frame: Buffer): void {
    if (this.closed || this.options.ws.readyState !== this.options.ws.OPEN) return;
    this.writeToSocket(frame, () => undefined);
  }

  /** Stops the timers; held and delayed frames are lost with the socket. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const held of this.held.values()) clearTimeout(held.timer);
    this.held.clear();
  }

  private sendToClient(frame: Buffer, onWritten: (error?: Error) => void): void {
    const { ws } = this.options;
    if (this.closed || ws.readyState !== ws.OPEN) {
      onWritten(new Error('WebSocket is not open'));
      return;
    }
    // A dropped message still counts as written: to the channel it is simply lost on the way.
    this.route('toClient', frame, () => this.writeToSocket(frame, onWritten), () => onWritten());
    this.count('toClient', frame);
  }

  private writeToSocket(frame: Buffer, onWritten: (error?: Error) => void): void {
    const { ws, counters } = this.options;
    if (this.closed || ws.readyState !== ws.OPEN) {
      onWritten(new Error('WebSocket is not open'));
      return;
    }
    counters.framesToClient += 1;
    counters.bytesToClient += frame.length;
    ws.send(frame, { binary: true }, (error) => onWritten(error ?? undefined));
  }

  /** Applies drop / duplicate / reorder / delay to one frame; `pass` forwards it, `lost` reports a drop. */
  private route(direction: FaultDirection, frame: Buffer, pass: () => void, lost: () => void = () => undefined): void {
    const settings = this.options.settings();
    const anyActive = settings.drop ?? settings.duplicate ?? settings.reorder ?? settings.delay;
    if ((anyActive === undefined && this.held.size === 0) || isExempt(frame)) {
      pass();
      return;
    }
    if (this.chosen(settings.drop, direction)) {
      this.options.onFault(`drop ${direction}`, false);
      lost();
      return;
    }
    const forward = this.chosen(settings.duplicate, direction)
      ? () => {
          this.options.onFault(`duplicate ${direction}`, false);
          pass();
          this.duplicateOf(direction, frame);
        }
      : pass;
    const delayMs = settings.delayMs ?? DEFAULT_DELAY_MS;
    if (this.chosen(settings.delay, direction)) {
      this.options.onFault(`delay ${direction}`, false);
      this.later(delayMs, forward);
      return;
    }
    const previous = this.held.get(direction);
    if (previous === undefined && this.chosen(settings.reorder, direction)) {
      this.options.onFault(`reorder ${direction}`, false);
      const timer = setTimeout(() => this.releaseHeld(direction), delayMs);
      this.held.set(direction, { frame, release: forward, timer });
      return;
    }
    forward();
    if (previous !== undefined) this.releaseHeld(direction);
  }

  private duplicateOf(direction: FaultDirection, frame: Buffer): void {
    if (direction === 'fromClient') this.options.deliver(frame);
    else this.writeToSocket(frame, () => undefined);
  }

  private releaseHeld(direction: FaultDirection): void {
    const held = this.held.get(direction);
    if (held === undefined) return;
    this.held.delete(direction);
    clearTimeout(held.timer);
    if (!this.closed) held.release();
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) action();
    }, ms);
    this.timers.add(timer);
  }

  private chosen(share: DirectionalShare | undefined, direction: FaultDirection): boolean {
    const p = share?.[direction];
    // Draw only when the fault is on, so enabling one fault does not shift another's sequence.
    return p !== undefined && p > 0 && this.options.random() < p;
  }

  private count(direction: FaultDirection, frame: Buffer): void {
    const rule = this.options.settings().closeAfter;
    if (rule === undefined || this.dropping) return;
    const counted = rule.direction ?? 'both';
    if (counted !== 'both' && counted !== direction) return;
    if (!rule.repeat && !this.options.closeAfterArmed()) return;
    this.messages += 1;
    this.bytes += frame.length;
    const byMessages = rule.messages !== undefined && this.messages >= rule.messages;
    const byBytes = rule.bytes !== undefined && this.bytes >= rule.bytes;
    if (!byMessages && !byBytes) return;
    this.options.closeAfterFired();
    const what = byMessages ? `${rule.messages} messages` : `${rule.bytes} bytes`;
    // Let the message that reached the limit leave first, as a socket cut right after it would.
    setImmediate(() => this.dropSocket(`close after ${what}`));
  }

  /** Cuts the TCP connection without a close frame, as in resume.jsonl. */
  private dropSocket(fault: string): void {
    if (this.closed || this.dropping) return;
    this.dropping = true;
    this.options.onFault(fault, true);
    this.options.ws.terminate();
  }
}
