/*
 * The bytes a checked connection carries, and their verification. Every connection sends a
 * different, reproducible stream each way: a rotation of one pseudo-random block whose length is
 * prime, so a lost, repeated, reordered or misrouted message shows as bytes that differ from what
 * was sent at that offset. Sending is zero-copy (slices of the block) and checking is a memcmp
 * per slice, so the pattern costs little next to the tunnel it measures.
 */

/** Prime, so that no message or frame size lines up with it. */
const BLOCK_LENGTH = 1_048_573;

function fillBlock(seed: number): Buffer {
  const block = Buffer.allocUnsafe(BLOCK_LENGTH);
  let state = seed >>> 0;
  for (let i = 0; i < BLOCK_LENGTH; i++) {
    // xorshift32: reproducible on every platform.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    block[i] = state & 0xff;
  }
  return block;
}

const BLOCK = fillBlock(0x5eed_f417);

export type PatternDirection = 'up' | 'down';

/** Where a connection's stream starts in the block: distinct per connection id and direction. */
function startOffset(connectionId: number, direction: PatternDirection): number {
  return (connectionId * 7919 + (direction === 'down' ? 524_287 : 0)) % BLOCK_LENGTH;
}

/** Produces one connection's stream in one direction, as slices of the block. */
export class PatternSource {
  private offset: number;
  private left: number;

  constructor(connectionId: number, direction: PatternDirection, length: number) {
    this.offset = startOffset(connectionId, direction);
    this.left = length;
  }

  get remaining(): number {
    return this.left;
  }

  /** The next slice of at most `max` bytes; empty once the stream is done. */
  next(max: number): Buffer {
    const size = Math.min(max, this.left, BLOCK_LENGTH - this.offset);
    const slice = BLOCK.subarray(this.offset, this.offset + size);
    this.left -= size;
    this.offset = (this.offset + size) % BLOCK_LENGTH;
    return slice;
  }
}

/**
 * Checks a received stream against what its sender produced, byte by byte: `corrupted` counts bytes
 * that differ from the sent stream at their offset, plus any bytes beyond its length.
 */
export class PatternVerifier {
  private offset: number;
  private receivedBytes = 0;
  private corruptedBytes = 0;

  constructor(
    connectionId: number,
    direction: PatternDirection,
    readonly expected: number,
  ) {
    this.offset = startOffset(connectionId, direction);
  }

  get received(): number {
    return this.receivedBytes;
  }

  get corrupted(): number {
    return this.corruptedBytes;
  }

  get complete(): boolean {
    return this.receivedBytes >= this.expected;
  }

  /** Checks `chunk`; returns the part of it beyond the expected length (not checked, not counted). */
  push(chunk: Buffer): Buffer {
    const inStream = Math.min(chunk.length, this.expected - this.receivedBytes);
    let position = 0;
    while (position < inStream) {
      const size = Math.min(inStream - position, BLOCK_LENGTH - this.offset);
      const got = chunk.subarray(position, position + size);
      const want = BLOCK.subarray(this.offset, this.offset + size);
      if (!got.equals(want)) this.corruptedBytes += countDifferences(got, want);
      position += size;
      this.offset = (this.offset + size) % BLOCK_LENGTH;
    }
    this.receivedBytes += inStream;
    return chunk.subarray(inStream);
  }

  /** Counts bytes that arrived although the stream had ended, as corrupted. */
  addUnexpected(count: number): void {
    this.corruptedBytes += count;
  }
}

function countDifferences(a: Buffer, b: Buffer): number {
  let differing = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing += 1;
  return differing;
}
