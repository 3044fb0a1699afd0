import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { ReliableChannel } from '../../../src/channel/reliable-channel.js';
import type { FrameTransport } from '../../../src/channel/frame-transport.js';
import type { ForwardingChannel, InboundMessage } from '../../../src/forward/forwarding-channel.js';
import { MuxForwarder } from '../../../src/forward/mux-forwarder.js';
import { SmuxSession } from '../../../src/forward/smux-session.js';
import {
  decodeClientMessage,
  encodeAcknowledgement,
  encodeClientMessage,
  encodeFlag,
  encodeSmuxFrame,
  MessageType,
  PayloadType,
  ProtocolError,
  SmuxCommand,
} from '../../../src/protocol/index.js';

/*
 * Malformed frames from a server, fuzzed with fast-check: random bytes and mutations of valid
 * frames (flipped bytes, truncated headers, huge PayloadLength, trailing junk), fed to the client's
 * decoder, to its reliable channel with the mux forwarder on top, and to its smux session. The
 * properties: nothing throws but a ProtocolError from the decoder, and nothing a server sends
 * makes the client hold more than its caps (reorder buffer, smux receive buffer).
 */

export interface FuzzFigures {
  name: string;
  runs: number;
  frames: number;
  /** Frames the client rejected as malformed. */
  rejected: number;
  /** Largest reorder buffer / smux receive buffer seen, against its cap. */
  peakHeld: number;
  cap: number;
  /** The counterexample, when a property failed. */
  failure?: string;
}

/** Small cap so that a few hundred frames can reach it. */
const REORDER_CAP = 64;
const SMUX_RECEIVE_CAP = 64 * 1024;

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; junk: Uint8Array }
  | { kind: 'payload-length'; value: number }
  | { kind: 'header-length'; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), junk: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('payload-length' as const), value: fc.oneof(fc.constant(0xffff_ffff), fc.constant(0x7fff_ffff), fc.nat()) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('header-length' as const), value: fc.oneof(fc.constant(0xffff_ffff), fc.nat(200)) }) },
);

function mutate(frame: Buffer, mutation: Mutation): Buffer {
  switch (mutation.kind) {
    case 'none':
      return frame;
    case 'flip': {
      const copy = Buffer.from(frame);
      const at = mutation.at % copy.length;
      copy[at] = copy[at]! ^ mutation.value;
      return copy;
    }
    case 'truncate':
      return frame.subarray(0, mutation.at % frame.length);
    case 'extend':
      return Buffer.concat([frame, mutation.junk]);
    case 'payload-length': {
      const copy = Buffer.from(frame);
      if (copy.length >= 120) copy.writeUInt32BE(mutation.value >>> 0, 116);
      return copy;
    }
    case 'header-length': {
      const copy = Buffer.from(frame);
      if (copy.length >= 4) copy.writeUInt32BE(mutation.value >>> 0, 0);
      return copy;
    }
  }
}

/** smux bytes a server might send: mostly valid frames, sometimes noise. */
const smuxBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 9, arbitrary: validSmuxArb(10) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1024 }) },
);

/** `controlWeight` against 60 for PSH: how often SYN, FIN or NOP come instead (a FIN ends a stream). */
function validSmuxArb(controlWeight: number): fc.Arbitrary<Uint8Array> {
  return fc
    .array(
      fc.record({
        cmd: fc.oneof({ weight: 60, arbitrary: fc.constant(SmuxCommand.PSH) }, { weight: controlWeight, arbitrary: fc.constantFrom(SmuxCommand.SYN, SmuxCommand.FIN, SmuxCommand.NOP) }),
        // The client opens 3, 5, 7, 9; 1 and 11 are streams it does not know.
        streamId: fc.constantFrom(1, 3, 5, 7, 9, 11),
        data: fc.uint8Array({ minLength: 1, maxLength: 1000, size: 'max' }),
      }),
      { maxLength: 4 },
    )
    .map((frames) =>
      Buffer.concat(frames.map(({ cmd, streamId, data }) => encodeSmuxFrame({ cmd, streamId, data: cmd === SmuxCommand.PSH ? Buffer.from(data) : Buffer.alloc(0) }))),
    );
}

interface ServerFrame {
  messageType: string;
  /** Offset from the sequence number the client expects next (negative: a duplicate). */
  sequenceOffset: number;
  payloadType: number;
  payload: Uint8Array;
  mutation: Mutation;
}

const serverFrameArb: fc.Arbitrary<ServerFrame> = fc.record({
  messageType: fc.oneof(
    { weight: 8, arbitrary: fc.constant(MessageType.OutputStreamData) },
    { weight: 1, arbitrary: fc.constantFrom(MessageType.Acknowledge, MessageType.ChannelClosed, MessageType.PausePublication, MessageType.StartPublication) },
    { weight: 1, arbitrary: fc.constantFrom(MessageType.InputStreamData, 'unknown_type') },
  ),
  sequenceOffset: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 200 }) },
    // Far ahead: these pile up in the reorder buffer, which must stop at its cap.
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 100_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) },
  ),
  payloadType: fc.oneof({ weight: 6, arbitrary: fc.constant(PayloadType.Output) }, { weight: 1, arbitrary: fc.constant(PayloadType.Flag) }, { weight: 1, arbitrary: fc.nat(30) }),
  payload: smuxBytesArb,
  mutation: mutationArb,
});

function encodeServerFrame(frame: ServerFrame, expected: number): Buffer {
  let payload: Buffer = Buffer.from(frame.payload);
  if (frame.payloadType === PayloadType.Flag && payload.length % 2 === 0) payload = encodeFlag(payload.length % 5);
  if (frame.messageType === MessageType.Acknowledge && payload.length % 2 === 0) {
    payload = encodeAcknowledgement({
      acknowledgedMessageType: MessageType.InputStreamData,
      acknowledgedMessageId: '00000000-0000-4000-8000-000000000000',
      acknowledgedMessageSequenceNumber: Math.max(0, expected + frame.sequenceOffset),
      isSequentialMessage: true,
    });
  }
  const encoded = encodeClientMessage({
    messageType: frame.messageType as MessageType,
    schemaVersion: 1,
    createdDate: Date.now(),
    sequenceNumber: Math.max(0, expected + frame.sequenceOffset),
    flags: 0,
    messageId: '00000000-0000-4000-8000-000000000000',
    payloadType: frame.payloadType,
    payload,
  });
  return mutate(encoded, frame.mutation);
}

const frameBytesArb: fc.Arbitrary<Buffer> = fc.oneof(
  serverFrameArb.map((frame) => encodeServerFrame(frame, 0)),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
);

function runProperty<T>(name: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => void, runs: number, seed: number, figures: FuzzFigures): FuzzFigures {
  const details = fc.check(
    fc.property(arbitrary, (value) => {
      check(value);
    }),
    { numRuns: runs, seed },
  );
  if (details.failed) figures.failure = `${name}: ${fc.defaultReportMessage(details) ?? 'failed'}`;
  return figures;
}

/** decodeClientMessage on random and mutated frames: a message or a ProtocolError, nothing else. */
export function fuzzDecoder(runs: number, seed: number): FuzzFigures {
  const figures: FuzzFigures = { name: 'client frame decoder', runs, frames: 0, rejected: 0, peakHeld: 0, cap: 0 };
  return runProperty(
    figures.name,
    frameBytesArb,
    (frame) => {
      figures.frames += 1;
      try {
        decodeClientMessage(frame);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        figures.rejected += 1;
      }
    },
    runs,
    seed,
    figures,
  );
}

/** The mux forwarder's view of a reliable channel, as ClientDataChannel gives it. */
class ChannelAsForwardingChannel extends EventEmitter<{ drain: [] }> implements ForwardingChannel {
  constructor(private readonly channel: ReliableChannel) {
    super();
    channel.on('drain', () => this.emit('drain'));
  }

  write(payload: Buffer): boolean {
    return this.channel.send(PayloadType.Output, payload);
  }

  sendFlag(flag: number): void {
    this.channel.send(PayloadType.Flag, encodeFlag(flag));
  }

  setInboundHandler(handler: (message: InboundMessage) => boolean): void {
    this.channel.setInboundHandler(handler);
  }

  resumeDelivery(): void {
    this.channel.resumeDelivery();
  }

  get unacknowledgedCount(): number {
    return this.channel.unacknowledgedCount;
  }
}

/**
 * Sequences of server frames into a client reliable channel carrying the mux forwarder: no throw,
 * and the reorder buffer never above its cap whatever sequence numbers arrive.
 */
export function fuzzClientChannel(runs: number, seed: number): FuzzFigures {
  const figures: FuzzFigures = { name: 'client reliable channel + mux forwarder', runs, frames: 0, rejected: 0, peakHeld: 0, cap: REORDER_CAP };
  return runProperty(
    figures.name,
    fc.array(serverFrameArb, { minLength: 1, maxLength: 400, size: 'max' }),
    (frames) => {
      const channel = new ReliableChannel({ role: 'client', maxReorderMessages: REORDER_CAP });
      const sink: FrameTransport = { send: (_frame, onWritten) => onWritten() };
      channel.on('protocolError', () => (figures.rejected += 1));
      const forwarder = new MuxForwarder(new ChannelAsForwardingChannel(channel), { smuxKeepAlive: false });
      forwarder.on('fatal', () => undefined);
      channel.attach(sink);
      try {
        for (const frame of frames) {
          figures.frames += 1;
          channel.handleFrame(encodeServerFrame(frame, channel.expectedIncomingSequence));
          if (channel.heldCount > REORDER_CAP) throw new Error(`reorder buffer holds ${channel.heldCount} messages, cap ${REORDER_CAP}`);
          figures.peakHeld = Math.max(figures.peakHeld, channel.heldCount);
        }
      } finally {
        forwarder.close();
        channel.close();
      }
    },
    runs,
    seed,
    figures,
  );
}

/**
 * Random and mutated smux bytes into a client smux session whose streams are never read, fed the
 * way the forwarder does (not while the receive buffer is full): no throw, and the buffered bytes
 * stay under the cap plus one frame.
 */
export function fuzzSmuxSession(runs: number, seed: number): FuzzFigures {
  const limit = SMUX_RECEIVE_CAP + 0xffff;
  const figures: FuzzFigures = { name: 'client smux session', runs, frames: 0, rejected: 0, peakHeld: 0, cap: limit };
  return runProperty(
    figures.name,
    // Mutations are rarer here: the first one ends the session (a byte stream cannot resynchronise).
    fc.array(fc.tuple(validSmuxArb(1), fc.oneof({ weight: 100, arbitrary: fc.constant<Mutation>({ kind: 'none' }) }, { weight: 1, arbitrary: mutationArb })), {
      minLength: 1,
      maxLength: 400,
      size: 'max',
    }),
    (chunks) => {
      const session = new SmuxSession({ role: 'client', keepAlive: false, maxReceiveBuffer: SMUX_RECEIVE_CAP, output: () => true });
      session.on('error', () => (figures.rejected += 1));
      // Open streams that nobody reads; a failing session destroys them with its error.
      for (let i = 0; i < 4; i++) session.openStream().on('error', () => undefined);
      try {
        for (const [bytes, mutation] of chunks) {
          figures.frames += 1;
          if (session.receiveBufferFull) continue;
          const chunk = Buffer.from(bytes);
          session.receive(chunk.length > 0 ? mutate(chunk, mutation) : chunk);
          if (session.receiveBufferedBytes > limit) throw new Error(`smux buffers ${session.receiveBufferedBytes} bytes, cap ${limit}`);
          figures.peakHeld = Math.max(figures.peakHeld, session.receiveBufferedBytes);
        }
      } finally {
        session.close();
      }
    },
    runs,
    seed,
    figures,
  );
}

export function runFuzz(runs: number, seed: number): FuzzFigures[] {
  return [fuzzDecoder(runs * 20, seed), fuzzClientChannel(runs, seed), fuzzSmuxSession(runs, seed)];
}
