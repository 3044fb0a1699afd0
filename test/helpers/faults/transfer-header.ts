/*
 * The request a checked connection opens with, client → destination (32 bytes):
 *   0  magic "SSMF"
 *   4  connection id (uint32 BE): picks the byte pattern both ways
 *   8  upload length (uint64 BE): pattern bytes the client sends after this header
 *  16  download length (uint64 BE): pattern bytes the destination sends back
 *  24  behaviour (uint8): 0 normal, 1 close after `param` download bytes, 2 stall until released
 *  25  reserved (3 bytes)
 *  28  param (uint32 BE)
 * Once the whole upload arrived and the whole download was written, the destination sends one
 * DONE byte: the client ends the connection only then (smux has no half-close).
 */

export const TRANSFER_HEADER_SIZE = 32;
export const DONE_BYTE = 0x2e;
const MAGIC = Buffer.from('SSMF', 'latin1');

export const DestinationBehaviour = {
  normal: 0,
  /** Sends `param` bytes of the download, then ends the connection (FIN). */
  closeMidStream: 1,
  /** Neither reads nor writes until the destination's releaseStalled() is called. */
  stall: 2,
} as const;
export type DestinationBehaviour = (typeof DestinationBehaviour)[keyof typeof DestinationBehaviour];

export interface TransferHeader {
  connectionId: number;
  upload: number;
  download: number;
  behaviour: DestinationBehaviour;
  param: number;
}

export function encodeTransferHeader(header: TransferHeader): Buffer {
  const bytes = Buffer.alloc(TRANSFER_HEADER_SIZE);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32BE(header.connectionId, 4);
  bytes.writeBigUInt64BE(BigInt(header.upload), 8);
  bytes.writeBigUInt64BE(BigInt(header.download), 16);
  bytes.writeUInt8(header.behaviour, 24);
  bytes.writeUInt32BE(header.param, 28);
  return bytes;
}

/** Undefined when the bytes are not a header this suite wrote (a corrupted or misrouted start). */
export function decodeTransferHeader(bytes: Buffer): TransferHeader | undefined {
  if (bytes.length < TRANSFER_HEADER_SIZE || !bytes.subarray(0, 4).equals(MAGIC)) return undefined;
  const behaviour = bytes.readUInt8(24);
  if (behaviour > DestinationBehaviour.stall) return undefined;
  return {
    connectionId: bytes.readUInt32BE(4),
    upload: Number(bytes.readBigUInt64BE(8)),
    download: Number(bytes.readBigUInt64BE(16)),
    behaviour: behaviour as DestinationBehaviour,
    param: bytes.readUInt32BE(28),
  };
}
