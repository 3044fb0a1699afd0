import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeAcknowledgement, decodeClientMessage, encodeAcknowledgement, encodeClientMessage, MessageType } from '../../src/protocol/index.js';
import type { Acknowledgement } from '../../src/protocol/index.js';

/*
 * The acknowledgement codecs and the MessageType reader have fast paths for the usual case; these
 * properties pin them to what the general JSON path (and the trimming reader) give, for usual and
 * unusual inputs alike.
 */

const plainString = fc.stringMatching(/^[\w.:-]{0,40}$/);
const anyString = fc.oneof(plainString, fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('a"b', 'a\\b', 'é', '\u2028', '\ud800'));
const sequenceNumber = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
);
const acknowledgement: fc.Arbitrary<Acknowledgement> = fc.record({
  acknowledgedMessageType: fc.oneof(plainString, anyString, fc.constantFrom(...Object.values(MessageType))),
  acknowledgedMessageId: fc.oneof(fc.uuid(), anyString),
  acknowledgedMessageSequenceNumber: sequenceNumber,
  isSequentialMessage: fc.boolean(),
});

function generalEncoding(ack: Acknowledgement): Buffer {
  return Buffer.from(
    JSON.stringify({
      AcknowledgedMessageType: ack.acknowledgedMessageType,
      AcknowledgedMessageId: ack.acknowledgedMessageId,
      AcknowledgedMessageSequenceNumber: ack.acknowledgedMessageSequenceNumber,
      IsSequentialMessage: ack.isSequentialMessage,
    }),
    'utf8',
  );
}

/** What decodeAcknowledgement must return for `payload`, or the error it must throw, by the general rules. */
function generalDecoding(payload: Buffer): Acknowledgement | 'error' {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'error';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'error';
  /** A string field: '' when absent or null, undefined when of another type (an error). */
  const text = (key: string): string | undefined => (o[key] === undefined || o[key] === null ? '' : typeof o[key] === 'string' ? o[key] : undefined);
  const type = text('AcknowledgedMessageType');
  const id = text('AcknowledgedMessageId');
  const seq = o.AcknowledgedMessageSequenceNumber;
  const sequential = o.IsSequentialMessage === undefined || o.IsSequentialMessage === null ? true : o.IsSequentialMessage;
  if (type === undefined || id === undefined || typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof sequential !== 'boolean') return 'error';
  return { acknowledgedMessageType: type, acknowledgedMessageId: id, acknowledgedMessageSequenceNumber: seq, isSequentialMessage: sequential };
}

function decodeOrError(payload: Buffer): Acknowledgement | 'error' {
  try {
    return decodeAcknowledgement(payload);
  } catch {
    return 'error';
  }
}

describe('acknowledgement fast paths', () => {
  it('encodes exactly the bytes of JSON.stringify', () => {
    fc.assert(
      fc.property(acknowledgement, (ack) => {
        expect(encodeAcknowledgement(ack).equals(generalEncoding(ack))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes what it encodes like the general JSON path, -0 and all', () => {
    fc.assert(
      fc.property(acknowledgement, (ack) => {
        const payload = encodeAcknowledgement(ack);
        expect(decodeOrError(payload)).toStrictEqual(generalDecoding(payload));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes near-canonical payloads (spaces, reordered keys, big or odd numbers, bytes) like the general path', () => {
    const variants = fc.tuple(acknowledgement, fc.nat(5)).map(([ack, variant]) => {
      const canonical = generalEncoding(ack).toString('utf8');
      switch (variant) {
        case 0:
          return Buffer.from(canonical.replace(/,"/g, ', "'));
        case 1:
          return Buffer.from(canonical.replace(/:(-?\d+),/, ':0$1,'));
        case 2:
          return Buffer.from(canonical.replace(/:(-?\d+),/, ':$19999999999999999,'));
        case 3:
          return Buffer.from(`\ufeff${canonical}`);
        case 4:
          return Buffer.concat([Buffer.from(canonical), Buffer.of(0xff)]);
        default:
          return Buffer.from(JSON.stringify({ IsSequentialMessage: ack.isSequentialMessage, AcknowledgedMessageSequenceNumber: ack.acknowledgedMessageSequenceNumber }));
      }
    });
    fc.assert(
      fc.property(variants, (payload) => {
        expect(decodeOrError(payload)).toStrictEqual(generalDecoding(payload));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('MessageType lookup', () => {
  it('reads space- and NUL-padded known types and rejects unknown ones, as the trimming reader does', () => {
    const frameOf = (field: Buffer): Buffer => {
      const frame = encodeClientMessage({
        messageType: MessageType.Acknowledge,
        schemaVersion: 1,
        createdDate: 1,
        sequenceNumber: 0,
        flags: 3,
        messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16',
        payloadType: 0,
        payload: Buffer.from('{}'),
      });
      field.copy(frame, 4, 0, 32);
      return frame;
    };
    for (const type of Object.values(MessageType)) {
      expect(decodeClientMessage(frameOf(Buffer.from(type.padEnd(32, ' ')))).messageType).toBe(type);
      expect(decodeClientMessage(frameOf(Buffer.from(type.padEnd(32, '\0')))).messageType).toBe(type);
      expect(decodeClientMessage(frameOf(Buffer.from(` ${type}`.padEnd(32, ' ')))).messageType).toBe(type);
    }
    expect(() => decodeClientMessage(frameOf(Buffer.from('acknowledged'.padEnd(32, ' '))))).toThrow(/unknown MessageType "acknowledged"/);
  });
});
