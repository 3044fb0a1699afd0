import { ProtocolError } from './errors.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Writes a UUID into 16 bytes the way the data channel carries it (data-channel.md §4.2):
 * the second half of the canonical bytes first, then the first half.
 */
export function writeSwappedUuid(uuid: string, target: Buffer, offset: number): void {
  if (!UUID_PATTERN.test(uuid)) {
    throw new ProtocolError(`MessageId must be a hyphenated UUID, got ${JSON.stringify(uuid)}`, 'MessageId');
  }
  const hex = uuid.replace(/-/g, '');
  target.write(hex.slice(16, 32), offset, 8, 'hex');
  target.write(hex.slice(0, 16), offset + 8, 8, 'hex');
}

/** Reads a half-swapped UUID (data-channel.md §4.2) as a lowercase hyphenated string. */
export function readSwappedUuid(source: Buffer, offset: number): string {
  const hex = source.toString('hex', offset + 8, offset + 16) + source.toString('hex', offset, offset + 8);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
