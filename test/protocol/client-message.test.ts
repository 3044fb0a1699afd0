import { describe, expect, it } from 'vitest';
import {
  decodeClientMessage,
  encodeAcknowledgement,
  encodeClientMessage,
  encodeFlag,
  Flag,
  MessageFlags,
  MessageType,
  PayloadType,
  ProtocolError,
  sha256,
} from '../../src/protocol/index.js';
import type { ClientMessage, MessageType as MessageTypeName } from '../../src/protocol/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// docs/protocol.md §2.5, byte for byte.
const LS_MESSAGE: ClientMessage = {
  messageType: MessageType.InputStreamData,
  schemaVersion: 1,
  createdDate: 1503434274948,
  sequenceNumber: 0,
  flags: 0,
  messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16',
  payloadType: PayloadType.Output,
  payload: Buffer.from('ls\r', 'latin1'),
};
const LS_FRAME = hex(`
  00 00 00 74 69 6e 70 75  74 5f 73 74 72 65 61 6d
  5f 64 61 74 61 20 20 20  20 20 20 20 20 20 20 20
  20 20 20 20 00 00 00 01  00 00 01 5e 0b aa 78 84
  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
  a5 08 b5 f0 73 f3 1b 16  dd 01 e5 6b ff 48 48 3e
  1d 88 7c e0 f8 67 2e 49  14 d9 00 0e 80 1c d7 4e
  cd 80 5d d9 36 6c 0b c4  2d c1 6a dc 01 97 dc 2f
  00 00 00 01 00 00 00 03  6c 73 0d`);

// docs/protocol.md §2.7.
const TERMINATE_MESSAGE: ClientMessage = {
  messageType: MessageType.InputStreamData,
  schemaVersion: 1,
  createdDate: 1700000000000,
  sequenceNumber: 7,
  flags: 0,
  messageId: '11223344-5566-7788-99aa-bbccddeeff00',
  payloadType: PayloadType.Flag,
  payload: encodeFlag(Flag.TerminateSession),
};
const TERMINATE_FRAME = hex(`
  00 00 00 74 69 6e 70 75 74 5f 73 74 72 65 61 6d
  5f 64 61 74 61 20 20 20 20 20 20 20 20 20 20 20
  20 20 20 20 00 00 00 01 00 00 01 8b cf e5 68 00
  00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 00
  99 aa bb cc dd ee ff 00 11 22 33 44 55 66 77 88
  43 3e bf 5b c0 3d ff a3 85 36 67 32 07 a2 12 81
  61 2c ef 5f aa 9b c7 a4 d5 b9 be 2f db 12 cf 1a
  00 00 00 0a 00 00 00 04 00 00 00 02`);

/** Runs `fn`, expecting a ProtocolError, and returns it. */
function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

function withUint32(frame: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(frame);
  copy.writeUInt32BE(value, offset);
  return copy;
}

function withMessageType(frame: Buffer, type: string, pad = ' '): Buffer {
  const copy = Buffer.from(frame);
  copy.write(type.padEnd(32, pad), 4, 32, 'latin1');
  return copy;
}

describe('docs/protocol.md §2.5 worked example (input_stream_data "ls\\r")', () => {
  it('encodes to the 123 bytes of the example', () => {
    const frame = encodeClientMessage(LS_MESSAGE);
    expect(frame.length).toBe(123);
    expect(frame.toString('hex')).toBe(LS_FRAME.toString('hex'));
  });

  it('decodes the 123 bytes back to the inputs', () => {
    const decoded = decodeClientMessage(LS_FRAME);
    expect({ ...decoded, payloadDigest: undefined }).toEqual({ ...LS_MESSAGE, payloadDigest: undefined });
    expect(decoded.payloadDigest.toString('hex')).toBe(sha256(Buffer.from('ls\r')).toString('hex'));
    expect(decoded.payloadDigest.toString('hex')).toBe('1d887ce0f8672e4914d9000e801cd74ecd805dd9366c0bc42dc16adc0197dc2f');
  });
});

describe('docs/protocol.md §2.6 acknowledgement example', () => {
  const payload = encodeAcknowledgement({
    acknowledgedMessageType: MessageType.OutputStreamData,
    acknowledgedMessageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16',
    acknowledgedMessageSequenceNumber: 0,
    isSequentialMessage: true,
  });

  it('has the 176-byte payload with the documented digest', () => {
    expect(payload.toString('utf8')).toBe(
      '{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"dd01e56b-ff48-483e-a508-b5f073f31b16","AcknowledgedMessageSequenceNumber":0,"IsSequentialMessage":true}',
    );
    expect(payload.length).toBe(176);
    expect(sha256(payload).toString('hex')).toBe('713a0a17057de630213f7292907ce38462812ea213a29366f537f68c6ab60e85');
  });

  it('has the documented header fields', () => {
    const frame = encodeClientMessage({
      messageType: MessageType.Acknowledge,
      schemaVersion: 1,
      createdDate: 1503434274948,
      sequenceNumber: 0,
      flags: MessageFlags.Ack,
      messageId: '0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0',
      payloadType: PayloadType.Undefined,
      payload,
    });
    expect(frame.readUInt32BE(0)).toBe(116);
    expect(frame.toString('latin1', 4, 36)).toBe('acknowledge'.padEnd(32, ' '));
    expect(frame.readUInt32BE(36)).toBe(1);
    expect(frame.readBigInt64BE(48)).toBe(0n);
    expect(frame.readBigUInt64BE(56)).toBe(3n);
    expect(frame.subarray(80, 112).toString('hex')).toBe('713a0a17057de630213f7292907ce38462812ea213a29366f537f68c6ab60e85');
    expect(frame.readUInt32BE(112)).toBe(0);
    expect(frame.subarray(116, 120).toString('hex')).toBe('000000b0');
    expect(frame.length).toBe(120 + 176);
  });
});

describe('docs/protocol.md §2.7 (Flag envelope, TerminateSession)', () => {
  it('encodes byte for byte', () => {
    expect(encodeClientMessage(TERMINATE_MESSAGE).toString('hex')).toBe(TERMINATE_FRAME.toString('hex'));
  });

  it('decodes to the illustrated values', () => {
    const decoded = decodeClientMessage(TERMINATE_FRAME);
    expect(decoded).toMatchObject({ ...TERMINATE_MESSAGE, payload: Buffer.from([0, 0, 0, 2]) });
  });
});

describe('decodeClientMessage parsing rules (docs/protocol.md §2.4)', () => {
  it('accepts NUL padding of MessageType as well as spaces', () => {
    expect(decodeClientMessage(withMessageType(LS_FRAME, 'input_stream_data', '\0')).messageType).toBe('input_stream_data');
  });

  it('takes the payload from HeaderLength + 4, not from a fixed offset', () => {
    // HeaderLength 117: fields stay at their fixed offsets, the byte at 120 counts as header.
    const payload = Buffer.from('s\r');
    const frame = Buffer.concat([LS_FRAME.subarray(0, 120), Buffer.from([0xee]), payload]);
    frame.writeUInt32BE(117, 0);
    frame.writeUInt32BE(payload.length, 116);
    sha256(payload).copy(frame, 80);
    expect(decodeClientMessage(frame).payload.toString()).toBe('s\r');
  });

  it('skips the digest check when PayloadLength is 0', () => {
    const frame = encodeClientMessage({ ...LS_MESSAGE, payload: Buffer.alloc(0) });
    frame.fill(0xab, 80, 112);
    expect(decodeClientMessage(frame).payload.length).toBe(0);
  });

  it.each([MessageType.StartPublication, MessageType.PausePublication])('does not validate %s', (type) => {
    const frame = withMessageType(LS_FRAME, type);
    frame.fill(0, 40, 48); // CreatedDate 0
    frame.fill(0xab, 80, 112); // wrong digest
    frame.writeUInt32BE(999, 116); // wrong PayloadLength
    const decoded = decodeClientMessage(frame);
    expect(decoded.messageType).toBe(type);
    expect(decoded.createdDate).toBe(0);
    expect(decoded.payload.toString()).toBe('ls\r');
  });
});

describe('decodeClientMessage errors name the field', () => {
  it('rejects a frame shorter than 120 bytes', () => {
    const error = protocolError(() => decodeClientMessage(LS_FRAME.subarray(0, 119)));
    expect(error.field).toBe('HeaderLength');
    expect(error.message).toContain('119');
    expect(error.message).toContain('120');
  });

  it('rejects a HeaderLength larger than the frame allows', () => {
    const error = protocolError(() => decodeClientMessage(withUint32(LS_FRAME, 0, 200)));
    expect(error.field).toBe('HeaderLength');
    expect(error.message).toContain('200');
  });

  it.each([0, 115])('rejects HeaderLength %i (smaller than 116)', (value) => {
    const error = protocolError(() => decodeClientMessage(withUint32(LS_FRAME, 0, value)));
    expect(error.field).toBe('HeaderLength');
    expect(error.message).toContain(String(value));
  });

  it('rejects a PayloadLength that disagrees with the frame', () => {
    const error = protocolError(() => decodeClientMessage(withUint32(LS_FRAME, 116, 4)));
    expect(error.field).toBe('PayloadLength');
    expect(error.message).toContain('4');
    expect(error.message).toContain('3');
  });

  it('rejects a truncated payload as a PayloadLength mismatch', () => {
    const error = protocolError(() => decodeClientMessage(LS_FRAME.subarray(0, 122)));
    expect(error.field).toBe('PayloadLength');
  });

  it('rejects a digest mismatch, quoting both digests', () => {
    const frame = Buffer.from(LS_FRAME);
    frame[122] = 0x0a;
    const error = protocolError(() => decodeClientMessage(frame));
    expect(error.field).toBe('PayloadDigest');
    expect(error.message).toContain(LS_FRAME.subarray(80, 112).toString('hex'));
    expect(error.message).toContain(sha256(Buffer.from('ls\n')).toString('hex'));
  });

  it('rejects an unknown message type, naming it', () => {
    const error = protocolError(() => decodeClientMessage(withMessageType(LS_FRAME, 'interactive_data')));
    expect(error.field).toBe('MessageType');
    expect(error.message).toContain('interactive_data');
  });

  it('rejects an empty message type', () => {
    expect(protocolError(() => decodeClientMessage(withMessageType(LS_FRAME, ''))).field).toBe('MessageType');
  });

  it('rejects CreatedDate 0', () => {
    const frame = Buffer.from(LS_FRAME);
    frame.fill(0, 40, 48);
    expect(protocolError(() => decodeClientMessage(frame)).field).toBe('CreatedDate');
  });

  it('rejects a CreatedDate beyond 2^53 rather than losing precision', () => {
    const frame = Buffer.from(LS_FRAME);
    frame.writeBigUInt64BE(2n ** 60n, 40);
    expect(protocolError(() => decodeClientMessage(frame)).field).toBe('CreatedDate');
  });

  it('reads a negative SequenceNumber as signed (int64)', () => {
    const frame = encodeClientMessage({ ...LS_MESSAGE, sequenceNumber: -2 });
    expect(frame.readBigInt64BE(48)).toBe(-2n);
    expect(decodeClientMessage(frame).sequenceNumber).toBe(-2);
  });
});

describe('encodeClientMessage of a type outside the known set', () => {
  it('writes it space-padded as given, and decoders reject it by name', () => {
    const frame = encodeClientMessage({ ...LS_MESSAGE, messageType: 'interactive_data' as MessageTypeName });
    expect(frame.toString('latin1', 4, 36)).toBe('interactive_data'.padEnd(32, ' '));
    expect(frame.subarray(36).toString('hex')).toBe(LS_FRAME.subarray(36).toString('hex'));
    expect(protocolError(() => decodeClientMessage(frame)).message).toContain('interactive_data');
  });
});

describe('encodeClientMessage input errors', () => {
  it.each([
    'not-a-uuid',
    'dd01e56b-ff48-483e-a508-b5f073f31b1',
    'dd01e56b-ff48-483e-a508-b5f073f31b160',
    'dd01e56bff48-483e-a508-b5f073f31b16-',
    'dd01e56b-ff48-483e-a508-b5f073f31b1g',
    'dd01e56b-ff48-483e-a508-b5f073f31b1é',
    'dd01e56b-ff48-483e-a508-b5f073f3 b16',
  ])('rejects MessageId %j, quoting it', (messageId) => {
    const error = protocolError(() => encodeClientMessage({ ...LS_MESSAGE, messageId }));
    expect(error.field).toBe('MessageId');
    expect(error.message).toContain(JSON.stringify(messageId));
  });

  it('accepts an upper-case MessageId and decodes it in lower case', () => {
    const frame = encodeClientMessage({ ...LS_MESSAGE, messageId: LS_MESSAGE.messageId.toUpperCase() });
    expect(frame.toString('hex')).toBe(LS_FRAME.toString('hex'));
    expect(decodeClientMessage(frame).messageId).toBe(LS_MESSAGE.messageId);
  });

  it('rejects a negative CreatedDate', () => {
    expect(protocolError(() => encodeClientMessage({ ...LS_MESSAGE, createdDate: -1 })).field).toBe('CreatedDate');
  });

  it('rejects a SequenceNumber that is not a safe integer', () => {
    expect(protocolError(() => encodeClientMessage({ ...LS_MESSAGE, sequenceNumber: 1.5 })).field).toBe('SequenceNumber');
  });
});
