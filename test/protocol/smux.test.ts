import { describe, expect, it } from 'vitest';
import { encodeSmuxFrame, ProtocolError, SmuxCommand, SmuxFrameParser } from '../../src/protocol/index.js';
import type { SmuxFrame } from '../../src/protocol/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string): Buffer => Buffer.from(s, 'latin1');
const syn = (streamId: number): SmuxFrame => ({ cmd: SmuxCommand.SYN, streamId, data: Buffer.alloc(0) });
const fin = (streamId: number): SmuxFrame => ({ cmd: SmuxCommand.FIN, streamId, data: Buffer.alloc(0) });
const psh = (streamId: number, data: Buffer): SmuxFrame => ({ cmd: SmuxCommand.PSH, streamId, data });

function parseAll(...chunks: Buffer[]): SmuxFrame[][] {
  const parser = new SmuxFrameParser();
  return chunks.map((chunk) => parser.push(chunk));
}

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

describe('docs/forwarding.md §3.2 byte example', () => {
  it('encodes SYN, PSH "hello", PSH "world", FIN and the next SYN', () => {
    expect(encodeSmuxFrame(syn(3))).toEqual(hex('01 00 00 00 03 00 00 00'));
    expect(encodeSmuxFrame(psh(3, text('hello')))).toEqual(hex('01 02 05 00 03 00 00 00 68 65 6c 6c 6f'));
    expect(encodeSmuxFrame(psh(3, text('world')))).toEqual(hex('01 02 05 00 03 00 00 00 77 6f 72 6c 64'));
    expect(encodeSmuxFrame(fin(3))).toEqual(hex('01 01 00 00 03 00 00 00'));
    expect(encodeSmuxFrame(syn(5))).toEqual(hex('01 00 00 00 05 00 00 00'));
  });

  it('parses the 21-byte coalesced SYN+PSH payload', () => {
    const payload = hex('01 00 00 00 03 00 00 00 01 02 05 00 03 00 00 00 68 65 6c 6c 6f');
    expect(payload.length).toBe(21);
    expect(parseAll(payload)).toEqual([[syn(3), psh(3, text('hello'))]]);
  });

  it('reassembles the PSH and FIN split over three payloads', () => {
    const parser = new SmuxFrameParser();
    expect(parser.push(hex('01 02 05'))).toEqual([]);
    expect(parser.pendingBytes).toBe(3);
    expect(parser.push(hex('00 03 00 00 00 68 65'))).toEqual([]);
    expect(parser.push(hex('6c 6c 6f 01 01 00 00 03 00 00 00'))).toEqual([psh(3, text('hello')), fin(3)]);
    expect(parser.pendingBytes).toBe(0);
  });

  it('encodes a 1000-byte PSH on stream 5 with length e8 03', () => {
    const frame = encodeSmuxFrame(psh(5, Buffer.alloc(1000, 0x61)));
    expect(frame.subarray(0, 8)).toEqual(hex('01 02 e8 03 05 00 00 00'));
    expect(frame.length).toBe(1008);
    expect(parseAll(frame)).toEqual([[psh(5, Buffer.alloc(1000, 0x61))]]);
  });

  it('carries a 40000-byte write on stream 7 as 32768 + 7232 bytes', () => {
    const write = Buffer.alloc(40000, 0x62);
    const first = encodeSmuxFrame(psh(7, write.subarray(0, 32768)));
    const second = encodeSmuxFrame(psh(7, write.subarray(32768)));
    expect(first.subarray(0, 8)).toEqual(hex('01 02 00 80 07 00 00 00'));
    expect(first.length).toBe(32776);
    expect(second.subarray(0, 8)).toEqual(hex('01 02 40 1c 07 00 00 00'));
    expect(second.length).toBe(8 + 7232);
    // The first frame alone needs 33 Output messages of at most 1024 bytes (docs/forwarding.md §3.2).
    const stream = Buffer.concat([first, second]);
    const parser = new SmuxFrameParser();
    const frames: SmuxFrame[] = [];
    let messagesForFirstFrame = 0;
    for (let offset = 0; offset < stream.length; offset += 1024) {
      const completed = parser.push(stream.subarray(offset, offset + 1024));
      if (frames.length === 0) messagesForFirstFrame += 1;
      frames.push(...completed);
    }
    expect(messagesForFirstFrame).toBe(33);
    expect(frames).toEqual([psh(7, write.subarray(0, 32768)), psh(7, write.subarray(32768))]);
  });

  it('parses a keepalive NOP on stream 0', () => {
    expect(parseAll(hex('01 03 00 00 00 00 00 00'))).toEqual([[{ cmd: SmuxCommand.NOP, streamId: 0, data: Buffer.alloc(0) }]]);
  });
});

describe('smux receiver rules (docs/forwarding.md §3.3)', () => {
  it('ignores the Length of SYN, FIN and NOP (no body is read)', () => {
    const frames = parseAll(hex('01 00 09 00 03 00 00 00  01 01 ff ff 03 00 00 00'));
    expect(frames).toEqual([[syn(3), fin(3)]]);
  });

  it('reads a PSH with Length 0 as an empty frame', () => {
    expect(parseAll(hex('01 02 00 00 03 00 00 00'))).toEqual([[psh(3, Buffer.alloc(0))]]);
  });

  it('reads stream ids as unsigned little-endian', () => {
    expect(parseAll(hex('01 00 00 00 ff ff ff ff'))).toEqual([[syn(0xffffffff)]]);
  });

  it('rejects a version byte other than 1, and stays failed', () => {
    const parser = new SmuxFrameParser();
    const error = protocolError(() => parser.push(hex('02 00 00 00 03 00 00 00')));
    expect(error.field).toBe('smux.Version');
    expect(error.message).toContain('2');
    expect(protocolError(() => parser.push(hex('01 00 00 00 03 00 00 00'))).field).toBe('smux.Version');
  });

  it('rejects UPD (a v2 frame)', () => {
    // A protocol v2 UPD frame (window update), with a v1 version byte.
    const error = protocolError(() => parseAll(hex('01 04 08 00 03 00 00 00 00 00 01 00 00 00 01 00')));
    expect(error.field).toBe('smux.Cmd');
    expect(error.message).toContain('UPD');
  });

  it.each([5, 0x80, 0xff])('rejects unknown command %i', (cmd) => {
    const header = hex('01 00 00 00 03 00 00 00');
    header[1] = cmd;
    const error = protocolError(() => parseAll(header));
    expect(error.field).toBe('smux.Cmd');
    expect(error.message).toContain(String(cmd));
  });
});

describe('smux encoder (sender rules, docs/forwarding.md §3.4)', () => {
  it('never puts a body on SYN, FIN or NOP', () => {
    const error = protocolError(() => encodeSmuxFrame({ cmd: SmuxCommand.FIN, streamId: 3, data: Buffer.from('x') }));
    expect(error.field).toBe('smux.Length');
  });

  it.each([0, 65536])('rejects a PSH body of %i bytes', (size) => {
    expect(protocolError(() => encodeSmuxFrame(psh(3, Buffer.alloc(size)))).field).toBe('smux.Length');
  });
});
