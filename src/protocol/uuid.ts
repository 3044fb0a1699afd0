import { ProtocolError } from './errors.js';

/*
 * UUIDs are converted by hand with lookup tables: every data-channel message carries one, and
 * regex + hex-string round trips were a measurable share of the codec's time (bench/codec.ts).
 */

const UUID_LENGTH = 36;
const HYPHENS = [8, 13, 18, 23];
/** String index of the first hex digit of each canonical byte u[0..15]. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** Value of an ASCII hex digit (either case), or -1. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function hexValue(uuid: string, index: number): number {
  const code = uuid.charCodeAt(index);
  return code < 128 ? HEX_VALUE[code]! : -1;
}

/**
 * Writes a UUID into 16 bytes the way the data channel carries it (docs/protocol.md §2.2):
 * the second half of the canonical bytes first, then the first half.
 */
export function writeSwappedUuid(uuid: string, target: Buffer, offset: number): void {
  const malformed = (): ProtocolError => new ProtocolError(`MessageId must be a hyphenated UUID, got ${JSON.stringify(uuid)}`, 'MessageId');
  if (uuid.length !== UUID_LENGTH) throw malformed();
  for (const at of HYPHENS) if (uuid.charCodeAt(at) !== 0x2d) throw malformed();
  for (let i = 0; i < 16; i++) {
    const high = hexValue(uuid, DIGIT_AT[i]!);
    const low = hexValue(uuid, DIGIT_AT[i]! + 1);
    if (high < 0 || low < 0) throw malformed();
    // u[0..7] go to wire bytes 8..15, u[8..15] to wire bytes 0..7.
    target[offset + ((i + 8) & 15)] = (high << 4) | low;
  }
}

/** Reads a half-swapped UUID (docs/protocol.md §2.2) as a lowercase hyphenated string. */
export function readSwappedUuid(source: Buffer, offset: number): string {
  let uuid = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuid += '-';
    uuid += BYTE_HEX[source[offset + ((i + 8) & 15)]!]!;
  }
  return uuid;
}
