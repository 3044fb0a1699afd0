import { hash } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { readSwappedUuid, writeSwappedUuid } from './uuid.js';

/** Value of the HeaderLength field: the offset of PayloadLength (docs/protocol.md §2.1). */
export const HEADER_LENGTH = 116;
/** Bytes before the payload: the header plus the PayloadLength field. */
export const FRAME_HEADER_SIZE = 120;

const MESSAGE_TYPE_SIZE = 32;
const OFFSET = {
  headerLength: 0,
  messageType: 4,
  schemaVersion: 36,
  createdDate: 40,
  sequenceNumber: 48,
  flags: 56,
  messageId: 64,
  payloadDigest: 80,
  payloadType: 112,
  payloadLength: 116,
} as const;

export const MessageType = {
  InputStreamData: 'input_stream_data',
  OutputStreamData: 'output_stream_data',
  Acknowledge: 'acknowledge',
  ChannelClosed: 'channel_closed',
  StartPublication: 'start_publication',
  PausePublication: 'pause_publication',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.values(MessageType));

/** The first 36 bytes of a frame: HeaderLength and the space-padded MessageType (docs/protocol.md §2.1). */
function framePrefix(messageType: string): Buffer {
  const prefix = Buffer.alloc(OFFSET.schemaVersion, 0x20);
  prefix.writeUInt32BE(HEADER_LENGTH, OFFSET.headerLength);
  prefix.write(messageType, OFFSET.messageType, MESSAGE_TYPE_SIZE, 'latin1');
  return prefix;
}

/** Prefixes of the known types, built once: copying them is cheaper than writing and padding per message. */
const FRAME_PREFIXES: ReadonlyMap<string, Buffer> = new Map(Object.values(MessageType).map((type) => [type, framePrefix(type)]));

/** PayloadType codes (docs/protocol.md §3.2). */
export const PayloadType = {
  Undefined: 0,
  Output: 1,
  Error: 2,
  Size: 3,
  Parameter: 4,
  HandshakeRequest: 5,
  HandshakeResponse: 6,
  HandshakeComplete: 7,
  EncChallengeRequest: 8,
  EncChallengeResponse: 9,
  Flag: 10,
  StdErr: 11,
  ExitCode: 12,
} as const;
export type PayloadType = (typeof PayloadType)[keyof typeof PayloadType];

/** Header Flags bits (docs/protocol.md §3.3). Receivers ignore them; senders set them as the reference does. */
export const MessageFlags = { None: 0, Syn: 1, Fin: 2, Ack: 3 } as const;

/** One data-channel message, as plain data. */
export interface ClientMessage {
  messageType: MessageType;
  schemaVersion: number;
  /** Milliseconds since the Unix epoch. */
  createdDate: number;
  sequenceNumber: number;
  flags: number;
  /** Canonical lowercase hyphenated UUID (the wire swaps its halves, docs/protocol.md §2.2). */
  messageId: string;
  payloadType: number;
  payload: Buffer;
}

/** Decoded message plus the digest as it was on the wire. */
export interface DecodedClientMessage extends ClientMessage {
  payloadDigest: Buffer;
}

const TWO_POW_32 = 0x1_0000_0000;

function writeUint64(target: Buffer, value: number, offset: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolError(`${field} must be a non-negative safe integer, got ${value}`, field);
  }
  target.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  target.writeUInt32BE(value % TWO_POW_32, offset + 4);
}

function writeInt64(target: Buffer, value: number, offset: number, field: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new ProtocolError(`${field} must be a safe integer, got ${value}`, field);
  }
  target.writeInt32BE(Math.floor(value / TWO_POW_32), offset);
  target.writeUInt32BE(((value % TWO_POW_32) + TWO_POW_32) % TWO_POW_32, offset + 4);
}

function readUint64(source: Buffer, offset: number, field: string): number {
  const value = source.readUInt32BE(offset) * TWO_POW_32 + source.readUInt32BE(offset + 4);
  if (!Number.isSafeInteger(value)) {
    throw new ProtocolError(`${field} ${source.readBigUInt64BE(offset)} is beyond 2^53`, field);
  }
  return value;
}

function readInt64(source: Buffer, offset: number, field: string): number {
  const value = source.readInt32BE(offset) * TWO_POW_32 + source.readUInt32BE(offset + 4);
  if (!Number.isSafeInteger(value)) {
    throw new ProtocolError(`${field} ${source.readBigInt64BE(offset)} is beyond ±2^53`, field);
  }
  return value;
}

export function sha256(payload: Buffer): Buffer {
  return hash('sha256', payload, 'buffer');
}

/**
 * The digest as a 32-character latin1 string ('binary' is Node's alias for latin1). The codec
 * works on this form because a one-shot hash returned as a string costs far less than a
 * createHash object or a Buffer per message (bench/codec.ts).
 */
function sha256Latin1(payload: Buffer): string {
  return hash('sha256', payload, 'binary');
}

/** Serializes a message (docs/protocol.md §2.1); the digest is computed over the payload as given. */
export function encodeClientMessage(message: ClientMessage): Buffer {
  const { payload } = message;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame.set(FRAME_PREFIXES.get(message.messageType) ?? framePrefix(message.messageType), 0);
  frame.writeUInt32BE(message.schemaVersion, OFFSET.schemaVersion);
  writeUint64(frame, message.createdDate, OFFSET.createdDate, 'CreatedDate');
  writeInt64(frame, message.sequenceNumber, OFFSET.sequenceNumber, 'SequenceNumber');
  writeUint64(frame, message.flags, OFFSET.flags, 'Flags');
  writeSwappedUuid(message.messageId, frame, OFFSET.messageId);
  frame.write(sha256Latin1(payload), OFFSET.payloadDigest, 32, 'latin1');
  frame.writeUInt32BE(message.payloadType, OFFSET.payloadType);
  frame.writeUInt32BE(payload.length, OFFSET.payloadLength);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/** The MessageType field of each known type as senders write it (space padded): found without trimming. */
const PADDED_MESSAGE_TYPES: ReadonlyMap<string, MessageType> = new Map(
  Object.values(MessageType).map((type) => [type.padEnd(MESSAGE_TYPE_SIZE, ' '), type]),
);

function readMessageType(frame: Buffer): string {
  const field = frame.toString('latin1', OFFSET.messageType, OFFSET.messageType + MESSAGE_TYPE_SIZE);
  // docs/protocol.md §2.4: strip NULs from both ends, then whitespace, so space- and NUL-padding both decode.
  return PADDED_MESSAGE_TYPES.get(field) ?? field.replace(/^\0+|\0+$/g, '').trim();
}

/**
 * Parses and validates one data-channel frame (docs/protocol.md §2.4). The payload is a view into
 * `frame`, not a copy. `start_publication`/`pause_publication` skip validation, as in the official client.
 */
export function decodeClientMessage(frame: Buffer): DecodedClientMessage {
  if (frame.length < FRAME_HEADER_SIZE) {
    throw new ProtocolError(`frame is ${frame.length} bytes, shorter than the ${FRAME_HEADER_SIZE}-byte header`, 'HeaderLength');
  }
  const headerLength = frame.readUInt32BE(OFFSET.headerLength);
  if (headerLength < HEADER_LENGTH || headerLength + 4 > frame.length) {
    throw new ProtocolError(
      `HeaderLength ${headerLength} does not fit a ${frame.length}-byte frame (expected ${HEADER_LENGTH})`,
      'HeaderLength',
    );
  }
  const messageType = readMessageType(frame);
  if (!MESSAGE_TYPES.has(messageType)) {
    throw new ProtocolError(`unknown MessageType ${JSON.stringify(messageType)}`, 'MessageType');
  }
  const payloadLength = frame.readUInt32BE(OFFSET.payloadLength);
  const payload = frame.subarray(headerLength + 4);
  const payloadDigest = frame.subarray(OFFSET.payloadDigest, OFFSET.payloadDigest + 32);
  const message: DecodedClientMessage = {
    messageType: messageType as MessageType,
    schemaVersion: frame.readUInt32BE(OFFSET.schemaVersion),
    createdDate: readUint64(frame, OFFSET.createdDate, 'CreatedDate'),
    sequenceNumber: readInt64(frame, OFFSET.sequenceNumber, 'SequenceNumber'),
    flags: readUint64(frame, OFFSET.flags, 'Flags'),
    messageId: readSwappedUuid(frame, OFFSET.messageId),
    payloadDigest,
    payloadType: frame.readUInt32BE(OFFSET.payloadType),
    payload,
  };
  if (messageType === MessageType.StartPublication || messageType === MessageType.PausePublication) {
    return message;
  }
  if (payloadLength !== payload.length) {
    throw new ProtocolError(
      `PayloadLength ${payloadLength} disagrees with the ${payload.length} payload bytes in the frame`,
      'PayloadLength',
    );
  }
  if (message.createdDate === 0) {
    throw new ProtocolError('CreatedDate is 0', 'CreatedDate');
  }
  if (payloadLength === 0) return message;
  const digest = sha256Latin1(payload);
  if (digest !== frame.toString('latin1', OFFSET.payloadDigest, OFFSET.payloadDigest + 32)) {
    throw new ProtocolError(
      `PayloadDigest ${payloadDigest.toString('hex')} does not match SHA-256 of the ${payloadLength}-byte payload (${Buffer.from(digest, 'latin1').toString('hex')})`,
      'PayloadDigest',
    );
  }
  return message;
}
