import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAcknowledgement,
  decodeChannelClosed,
  decodeClientMessage,
  decodeFlag,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  decodeSessionTypeParameters,
  encodeAcknowledgement,
  encodeChannelClosed,
  encodeClientMessage,
  encodeFlag,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  encodeSmuxFrame,
  MessageType,
  ProtocolError,
  sha256,
  SmuxCommand,
  SmuxFrameParser,
} from '../../src/protocol/index.js';
import type { ClientMessage, SmuxFrame } from '../../src/protocol/index.js';

const RUNS = { numRuns: 300 };

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const text = fc.string({ unit: 'binary', maxLength: 40 });
const bytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

const clientMessage: fc.Arbitrary<ClientMessage> = fc.record({
  messageType: fc.constantFrom(...Object.values(MessageType)),
  schemaVersion: uint32,
  createdDate: fc.maxSafeNat().filter((n) => n > 0),
  sequenceNumber: fc.maxSafeInteger(),
  flags: fc.maxSafeNat(),
  messageId: fc.uuid(),
  payloadType: uint32,
  payload: bytes(1500),
});

const isUnvalidated = (type: string): boolean => type === MessageType.StartPublication || type === MessageType.PausePublication;

/** Runs a decoder on hostile input: it may return, or throw a ProtocolError, and nothing else. */
function decodesOrRejects(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    expect(error.field).toBeTruthy();
  }
}

describe('ClientMessage codec', () => {
  it('round-trips every message kind', () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        const frame = encodeClientMessage(message);
        expect(frame.length).toBe(120 + message.payload.length);
        const { payloadDigest, ...decoded } = decodeClientMessage(frame);
        expect(decoded).toEqual(message);
        expect(payloadDigest.equals(sha256(message.payload))).toBe(true);
      }),
      RUNS,
    );
  });

  it('random bytes decode or raise ProtocolError', () => {
    fc.assert(
      fc.property(bytes(400), (frame) => {
        decodesOrRejects(() => decodeClientMessage(frame));
      }),
      RUNS,
    );
  });

  it('random bytes behind a plausible header decode or raise ProtocolError', () => {
    const header = fc.tuple(fc.integer({ min: 110, max: 130 }), fc.constantFrom(...Object.values(MessageType), 'bogus'), bytes(400));
    fc.assert(
      fc.property(header, ([headerLength, type, rest]) => {
        const frame = Buffer.concat([Buffer.alloc(36), rest]);
        frame.writeUInt32BE(headerLength, 0);
        frame.write(type.padEnd(32, ' '), 4, 32, 'latin1');
        decodesOrRejects(() => decodeClientMessage(frame));
      }),
      RUNS,
    );
  });

  it('truncations of valid frames decode or raise ProtocolError', () => {
    fc.assert(
      fc.property(clientMessage, fc.nat(), (message, cut) => {
        const frame = encodeClientMessage(message);
        const truncated = frame.subarray(0, cut % frame.length);
        decodesOrRejects(() => decodeClientMessage(truncated));
        if (!isUnvalidated(message.messageType)) {
          expect(() => decodeClientMessage(truncated)).toThrow(ProtocolError);
        }
      }),
      RUNS,
    );
  });

  it('corrupted valid frames decode or raise ProtocolError', () => {
    fc.assert(
      fc.property(clientMessage, fc.nat(), fc.integer({ min: 1, max: 255 }), (message, at, xor) => {
        const frame = encodeClientMessage(message);
        frame[at % frame.length]! ^= xor;
        decodesOrRejects(() => decodeClientMessage(frame));
      }),
      RUNS,
    );
  });

  it('a flipped payload bit is a PayloadDigest error', () => {
    const validated = clientMessage.filter((m) => m.payload.length > 0 && !isUnvalidated(m.messageType));
    fc.assert(
      fc.property(validated, fc.nat(), (message, bit) => {
        const frame = encodeClientMessage(message);
        const index = bit % (message.payload.length * 8);
        frame[120 + (index >> 3)]! ^= 1 << (index & 7);
        let caught: unknown;
        try {
          decodeClientMessage(frame);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ProtocolError);
        expect((caught as ProtocolError).field).toBe('PayloadDigest');
      }),
      RUNS,
    );
  });
});

describe('payload codecs round-trip', () => {
  it('Acknowledgement', () => {
    const ack = fc.record({
      acknowledgedMessageType: text,
      acknowledgedMessageId: text,
      acknowledgedMessageSequenceNumber: fc.maxSafeInteger(),
      isSequentialMessage: fc.boolean(),
    });
    fc.assert(
      fc.property(ack, (value) => {
        expect(decodeAcknowledgement(encodeAcknowledgement(value))).toEqual(value);
      }),
      RUNS,
    );
  });

  it('HandshakeRequest, with SessionType parameters', () => {
    const properties = fc.dictionary(text, text);
    const action = fc.record({
      actionType: text,
      actionParameters: fc.record({ SessionType: text, Properties: properties }),
    });
    const request = fc.record({ agentVersion: text, requestedClientActions: fc.array(action, { maxLength: 3 }) });
    fc.assert(
      fc.property(request, (value) => {
        const decoded = decodeHandshakeRequest(encodeHandshakeRequest(value));
        expect(decoded).toEqual(value);
        decoded.requestedClientActions.forEach((a, i) => {
          const sent = value.requestedClientActions[i]!.actionParameters;
          expect(decodeSessionTypeParameters(a.actionParameters)).toEqual({ sessionType: sent.SessionType, properties: sent.Properties });
        });
      }),
      RUNS,
    );
  });

  it('HandshakeResponse', () => {
    // Normalised through JSON because -0 has no JSON form and comes back as 0.
    const actionResult = fc.jsonValue({ maxDepth: 2 }).map((v): unknown => JSON.parse(JSON.stringify(v)));
    const action = fc.record({ actionType: text, actionStatus: fc.maxSafeInteger(), actionResult, error: text });
    const response = fc.record({
      clientVersion: text,
      processedClientActions: fc.array(action, { maxLength: 3 }),
      errors: fc.array(text, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(response, (value) => {
        expect(decodeHandshakeResponse(encodeHandshakeResponse(value))).toEqual(value);
      }),
      RUNS,
    );
  });

  it('HandshakeComplete', () => {
    const complete = fc.record({ handshakeTimeToComplete: fc.maxSafeNat(), customerMessage: text });
    fc.assert(
      fc.property(complete, (value) => {
        expect(decodeHandshakeComplete(encodeHandshakeComplete(value))).toEqual(value);
      }),
      RUNS,
    );
  });

  it('channel_closed', () => {
    const closed = fc.record({
      messageId: text,
      createdDate: text,
      destinationId: text,
      sessionId: text,
      messageType: text,
      schemaVersion: fc.maxSafeInteger(),
      output: text,
    });
    fc.assert(
      fc.property(closed, (value) => {
        expect(decodeChannelClosed(encodeChannelClosed(value))).toEqual(value);
      }),
      RUNS,
    );
  });

  it('Flag', () => {
    fc.assert(
      fc.property(uint32, (value) => {
        expect(decodeFlag(encodeFlag(value))).toBe(value);
      }),
      RUNS,
    );
  });

  it('OpenDataChannel', () => {
    const open = fc.record({ messageSchemaVersion: text, requestId: text, tokenValue: text, clientId: text, clientVersion: text });
    fc.assert(
      fc.property(open, (value) => {
        expect(decodeOpenDataChannel(encodeOpenDataChannel(value))).toEqual(value);
      }),
      RUNS,
    );
  });
});

describe('payload decoders on hostile input decode or raise ProtocolError', () => {
  const keys = [
    'AcknowledgedMessageType',
    'AcknowledgedMessageId',
    'AcknowledgedMessageSequenceNumber',
    'IsSequentialMessage',
    'AgentVersion',
    'RequestedClientActions',
    'ClientVersion',
    'ProcessedClientActions',
    'Errors',
    'HandshakeTimeToComplete',
    'CustomerMessage',
    'SessionId',
    'SchemaVersion',
    'Output',
    'MessageSchemaVersion',
    'RequestId',
    'TokenValue',
    'SessionType',
    'Properties',
    'Other',
  ];
  const action = fc.dictionary(fc.constantFrom('ActionType', 'ActionParameters', 'ActionStatus', 'ActionResult', 'Error'), fc.jsonValue({ maxDepth: 2 }));
  const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.array(action, { maxLength: 2 }));
  const object = fc.dictionary(fc.constantFrom(...keys), value);
  const payload = fc.oneof(
    object.map((o) => Buffer.from(JSON.stringify(o))),
    fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '')),
    bytes(200),
  );
  const decoders: [string, (p: Buffer) => unknown][] = [
    ['Acknowledgement', decodeAcknowledgement],
    ['HandshakeRequest', decodeHandshakeRequest],
    ['HandshakeResponse', decodeHandshakeResponse],
    ['HandshakeComplete', decodeHandshakeComplete],
    ['ChannelClosed', decodeChannelClosed],
    ['OpenDataChannel', decodeOpenDataChannel],
    ['Flag', decodeFlag],
  ];

  it.each(decoders)('%s', (_name, decode) => {
    fc.assert(
      fc.property(payload, (p) => {
        decodesOrRejects(() => decode(p));
      }),
      RUNS,
    );
  });

  it('SessionType parameters', () => {
    fc.assert(
      fc.property(object, (o) => {
        decodesOrRejects(() => decodeSessionTypeParameters(o));
      }),
      RUNS,
    );
  });
});

describe('smux parser', () => {
  const frame: fc.Arbitrary<SmuxFrame> = fc.oneof(
    fc.record({
      cmd: fc.constantFrom(SmuxCommand.SYN, SmuxCommand.FIN, SmuxCommand.NOP),
      streamId: uint32,
      data: fc.constant(Buffer.alloc(0)),
    }),
    fc.record({
      cmd: fc.constant(SmuxCommand.PSH),
      streamId: uint32,
      data: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
    }),
  );
  const stream = fc.array(frame, { maxLength: 12 });

  function parseInChunks(bytes: Buffer, cuts: number[]): SmuxFrame[] {
    const parser = new SmuxFrameParser();
    const frames: SmuxFrame[] = [];
    const bounds = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
    for (let i = 1; i < bounds.length; i++) frames.push(...parser.push(bytes.subarray(bounds[i - 1], bounds[i])));
    expect(parser.pendingBytes).toBe(0);
    return frames;
  }

  it('gives the same frames for any chunking of the same bytes', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const bytes = Buffer.concat(frames.map(encodeSmuxFrame));
        expect(parseInChunks(bytes, [])).toEqual(frames);
        expect(parseInChunks(bytes, cuts)).toEqual(frames);
      }),
      RUNS,
    );
  });

  it('gives the same frames when fed one byte at a time', () => {
    fc.assert(
      fc.property(stream, (frames) => {
        const bytes = Buffer.concat(frames.map(encodeSmuxFrame));
        const everyByte = Array.from({ length: bytes.length }, (_, i) => i);
        expect(parseInChunks(bytes, everyByte)).toEqual(frames);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes yield frames or a ProtocolError', () => {
    fc.assert(
      fc.property(bytes(200), fc.array(fc.nat(), { maxLength: 5 }), (input, cuts) => {
        decodesOrRejects(() => {
          const parser = new SmuxFrameParser();
          const bounds = [0, ...cuts.map((c) => c % (input.length + 1)).sort((a, b) => a - b), input.length];
          for (let i = 1; i < bounds.length; i++) parser.push(input.subarray(bounds[i - 1], bounds[i]));
        });
      }),
      RUNS,
    );
  });
});
