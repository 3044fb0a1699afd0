import { ProtocolError } from './errors.js';

/* smux protocol version 1 frames (docs/forwarding.md §3.1). */

export const SMUX_VERSION = 1;
export const SMUX_HEADER_SIZE = 8;
/** Largest PSH body a sender emits (smux DefaultConfig, docs/forwarding.md §3.5). */
export const SMUX_MAX_FRAME_SIZE = 32768;

export const SmuxCommand = { SYN: 0, FIN: 1, PSH: 2, NOP: 3, UPD: 4 } as const;
export type SmuxCommand = (typeof SmuxCommand)[keyof typeof SmuxCommand];

const COMMAND_NAMES = ['SYN', 'FIN', 'PSH', 'NOP', 'UPD'];

export function smuxCommandName(cmd: number): string {
  return COMMAND_NAMES[cmd] ?? `0x${cmd.toString(16).padStart(2, '0')}`;
}

export interface SmuxFrame {
  cmd: SmuxCommand;
  streamId: number;
  /** PSH body; empty for SYN, FIN and NOP. */
  data: Buffer;
}

/** The 8-byte header: version, cmd, length (uint16 LE), stream id (uint32 LE). */
export function encodeSmuxHeader(cmd: SmuxCommand, length: number, streamId: number): Buffer {
  const header = Buffer.allocUnsafe(SMUX_HEADER_SIZE);
  header[0] = SMUX_VERSION;
  header[1] = cmd;
  header.writeUInt16LE(length, 2);
  header.writeUInt32LE(streamId, 4);
  return header;
}

/** One frame as bytes. SYN/FIN/NOP never carry a body (docs/forwarding.md §3.4). */
export function encodeSmuxFrame(frame: SmuxFrame): Buffer {
  if (frame.cmd !== SmuxCommand.PSH) {
    if (frame.data.length !== 0) {
      throw new ProtocolError(`smux ${smuxCommandName(frame.cmd)} must not carry a body`, 'smux.Length');
    }
    return encodeSmuxHeader(frame.cmd, 0, frame.streamId);
  }
  if (frame.data.length === 0 || frame.data.length > 0xffff) {
    throw new ProtocolError(`smux PSH body must be 1..65535 bytes, got ${frame.data.length}`, 'smux.Length');
  }
  return Buffer.concat([encodeSmuxHeader(SmuxCommand.PSH, frame.data.length, frame.streamId), frame.data]);
}

/**
 * Incremental smux v1 parser: feed it bytes in any chunking, get whole frames back. Mirrors the
 * receiver rules of smux v1.5.15/16 (docs/forwarding.md §3.3): the Length of SYN/FIN/NOP is ignored, a wrong version
 * byte or an unknown command is fatal. UPD is a v2 frame and is rejected here.
 * After a ProtocolError the parser stays failed: the byte stream has no resynchronisation point.
 */
export class SmuxFrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: { cmd: SmuxCommand; length: number; streamId: number } | undefined;
  private failure: ProtocolError | undefined;

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): SmuxFrame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: SmuxFrame[] = [];
    try {
      for (;;) {
        if (!this.header) {
          if (this.buffered < SMUX_HEADER_SIZE) break;
          this.header = this.readHeader(this.take(SMUX_HEADER_SIZE));
          if (this.header.cmd !== SmuxCommand.PSH) {
            frames.push({ cmd: this.header.cmd, streamId: this.header.streamId, data: EMPTY });
            this.header = undefined;
            continue;
          }
        }
        if (this.buffered < this.header.length) break;
        frames.push({ cmd: SmuxCommand.PSH, streamId: this.header.streamId, data: this.take(this.header.length) });
        this.header = undefined;
      }
    } catch (error) {
      this.failure = error as ProtocolError;
      throw error;
    }
    return frames;
  }

  private readHeader(bytes: Buffer): { cmd: SmuxCommand; length: number; streamId: number } {
    const version = bytes[0]!;
    const cmd = bytes[1]!;
    if (version !== SMUX_VERSION) {
      throw new ProtocolError(`smux version byte is ${version}, expected ${SMUX_VERSION}`, 'smux.Version');
    }
    if (cmd === SmuxCommand.UPD) {
      throw new ProtocolError('smux UPD (cmd 4) is a protocol v2 frame; this session speaks v1', 'smux.Cmd');
    }
    if (cmd > SmuxCommand.NOP) {
      throw new ProtocolError(`unknown smux command ${cmd}`, 'smux.Cmd');
    }
    return { cmd: cmd as SmuxCommand, length: bytes.readUInt16LE(2), streamId: bytes.readUInt32LE(4) };
  }

  /** Removes `n` bytes from the front of the buffered chunks; zero-copy when one chunk holds them. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      this.buffered -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(chunk.length, n - written);
      chunk.copy(out, written, 0, count);
      written += count;
      if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    this.buffered -= n;
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
