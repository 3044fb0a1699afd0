import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { encodeSmuxFrame, SMUX_MAX_FRAME_SIZE, SmuxCommand, type SmuxFrame } from '../../src/protocol/index.js';
import { seededRandom } from '../../src/emulator/faults.js';
import { SmuxSession } from '../../src/forward/smux-session.js';
import type { SmuxStream } from '../../src/forward/smux-stream.js';


const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface LinkOptions {
  random: () => number;
  /** Bytes queued in the link above which output() answers false, like a data channel's full window. */
  capacity: number;
  /** Largest chunk handed to receive(); the data channel's messages carry ≤ 1024 bytes. */
  maxChunk: number;
  /** Share of output() calls refused even with room, to exercise resumeOutput() (0..1). */
  refuseShare: number;
}

/**
 * One direction of the byte pipe between two sessions, standing in for the data channel: delivers
 * asynchronously in random chunks (1-byte ones included), stops feeding the receiver while its
 * receive buffer is full, and pauses the sender while its own bounded queue is over capacity.
 */
class Link {
  sender!: SmuxSession;
  receiver!: SmuxSession;
  maxQueued = 0;
  maxReceiverBuffered = 0;
  resumes = 0;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private senderPaused = false;
  private scheduled = false;

  constructor(private readonly options: LinkOptions) {}

  connect(sender: SmuxSession, receiver: SmuxSession): void {
    this.sender = sender;
    this.receiver = receiver;
    receiver.on('receiveReady', () => this.schedule());
  }

  readonly output = (bytes: Buffer): boolean => {
    this.queue.push(bytes);
    this.queued += bytes.length;
    this.maxQueued = Math.max(this.maxQueued, this.queued);
    this.schedule();
    const accepted = this.queued < this.options.capacity && this.options.random() >= this.options.refuseShare;
    if (!accepted) this.senderPaused = true;
    return accepted;
  };

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    let budget = 256 * 1024;
    while (this.queued > 0 && budget > 0 && !this.receiver.receiveBufferFull && !this.receiver.isClosed) {
      const { random, maxChunk } = this.options;
      const size = random() < 0.2 ? 1 : 1 + Math.floor(random() * maxChunk);
      const chunk = this.take(size);
      budget -= chunk.length;
      this.receiver.receive(chunk);
      this.maxReceiverBuffered = Math.max(this.maxReceiverBuffered, this.receiver.receiveBufferedBytes);
    }
    if (this.senderPaused && this.queued < this.options.capacity) {
      this.senderPaused = false;
      this.resumes++;
      this.sender.resumeOutput();
    }
    if (this.queued > 0 && !this.receiver.receiveBufferFull) this.schedule();
  }

  private take(size: number): Buffer {
    const first = this.queue[0]!;
    const chunk = first.subarray(0, size);
    if (chunk.length === first.length) this.queue.shift();
    else this.queue[0] = first.subarray(chunk.length);
    this.queued -= chunk.length;
    return chunk;
  }
}

interface Pair {
  client: SmuxSession;
  server: SmuxSession;
  up: Link;
  down: Link;
}

function connectedPair(seed: number, link: Omit<LinkOptions, 'random'>, maxReceiveBuffer?: number): Pair {
  const random = seededRandom(seed);
  const up = new Link({ ...link, random });
  const down = new Link({ ...link, random });
  const client = new SmuxSession({ role: 'client', keepAlive: false, output: up.output, maxReceiveBuffer });
  const server = new SmuxSession({ role: 'server', keepAlive: false, output: down.output, maxReceiveBuffer });
  up.connect(client, server);
  down.connect(server, client);
  return { client, server, up, down };
}

/** Writes `data` in random slices, honouring write() backpressure; resolves once the last slice is accepted. */
async function writeAll(stream: SmuxStream, data: Buffer, random: () => number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const end = Math.min(data.length, offset + 1 + Math.floor(random() * 70_000));
    const slice = data.subarray(offset, end);
    offset = end;
    if (!stream.write(slice)) await once(stream, 'drain');
  }
  await new Promise<void>((resolve, reject) => stream.write(Buffer.alloc(0), (error) => (error ? reject(error) : resolve())));
}

/** Hashes what a stream delivers; `onLength` fires once `expected` bytes have arrived. */
function receiveAll(stream: SmuxStream, expected: number, onLength: () => void): Promise<{ hash: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  if (expected === 0) queueMicrotask(onLength);
  stream.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    length += chunk.length;
    if (length === expected) onLength();
  });
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('end', () => resolve({ hash: hash.digest('hex'), length }));
  });
}

interface Exchange {
  up: Buffer;
  down: Buffer;
}

/**
 * Each client stream sends `up`, the server answers `down` on the same stream. The client ends the
 * stream (FIN) only after it has all of `down` and its writes went out: v1 has no half-close (docs/forwarding.md §4.3).
 */
async function exchangeAll(pair: Pair, exchanges: Exchange[], seed: number): Promise<void> {
  const random = seededRandom(seed ^ 0x5eed);
  const byId = new Map<number, Exchange>();
  const serverDone: Promise<void>[] = [];
  pair.server.on('stream', (stream) => {
    const exchange = byId.get(stream.id);
    expect(exchange, `unexpected stream ${stream.id}`).toBeDefined();
    const received = receiveAll(stream, exchange!.up.length, () => undefined);
    const written = writeAll(stream, exchange!.down, random);
    serverDone.push(
      (async () => {
        const [got] = await Promise.all([received, written]);
        expect(got).toEqual({ hash: sha256(exchange!.up), length: exchange!.up.length });
        const closed = once(stream, 'close');
        stream.end();
        await closed;
      })(),
    );
  });

  const clientDone = exchanges.map(async (exchange, index) => {
    const stream = pair.client.openStream();
    const closed = once(stream, 'close');
    expect(stream.id).toBe(3 + 2 * index);
    byId.set(stream.id, exchange);
    let haveAll!: () => void;
    const allReceived = new Promise<void>((resolve) => (haveAll = resolve));
    const received = receiveAll(stream, exchange.down.length, haveAll);
    await Promise.all([writeAll(stream, exchange.up, random), allReceived]);
    stream.end();
    expect(await received).toEqual({ hash: sha256(exchange.down), length: exchange.down.length });
    await closed;
  });

  await Promise.all(clientDone);
  await vi.waitFor(() => expect(serverDone).toHaveLength(exchanges.length));
  await Promise.all(serverDone);
  await vi.waitFor(() => expect(pair.server.streamCount + pair.client.streamCount).toBe(0));
  expect(pair.client.receiveBufferedBytes).toBe(0);
  expect(pair.server.receiveBufferedBytes).toBe(0);
}

function randomExchanges(count: number, maxSize: number, seed: number): Exchange[] {
  const random = seededRandom(seed);
  const edgeSizes = [0, 1, SMUX_MAX_FRAME_SIZE - 1, SMUX_MAX_FRAME_SIZE, SMUX_MAX_FRAME_SIZE + 1, 40_000];
  const size = (): number =>
    random() < 0.3 ? edgeSizes[Math.floor(random() * edgeSizes.length)]! : Math.floor(random() * maxSize);
  return Array.from({ length: count }, () => ({ up: randomBytes(size()), down: randomBytes(size()) }));
}

describe('client and server sessions back to back', () => {
  it.each([
    ['the default 4 MiB', undefined],
    ['a 64 KiB', 64 * 1024],
  ])('move data both ways on 24 concurrent streams byte-exact, through random chunking and output pauses (%s receive buffer)', async (_name, maxReceiveBuffer) => {
    const seed = 0x2024;
    const pair = connectedPair(seed, { capacity: 48 * 1024, maxChunk: 1024, refuseShare: 0.25 }, maxReceiveBuffer);
    await exchangeAll(pair, randomExchanges(24, 200_000, seed), seed);
    for (const link of [pair.up, pair.down]) {
      expect(link.resumes).toBeGreaterThan(0);
      // The link's queue stays bounded by its capacity plus what one pump step may add.
      expect(link.maxQueued).toBeLessThan(48 * 1024 + SMUX_MAX_FRAME_SIZE + 8 + 24 * 8 * 2);
    }
  });

  it('survive a pipe that only ever carries 1-byte chunks', async () => {
    const seed = 7;
    const pair = connectedPair(seed, { capacity: 4096, maxChunk: 1, refuseShare: 0.1 });
    await exchangeAll(pair, randomExchanges(6, 12_000, seed), seed);
  });

  it('bound memory when a consumer stops reading: receiveBufferFull, then receiveReady once it reads', async () => {
    const maxReceiveBuffer = 64 * 1024;
    const capacity = 16 * 1024;
    const maxChunk = 1024;
    const pair = connectedPair(99, { capacity, maxChunk, refuseShare: 0 }, maxReceiveBuffer);
    const accepted = new Promise<SmuxStream>((resolve) => pair.server.once('stream', resolve));
    const data = randomBytes(1024 * 1024);
    const stream = pair.client.openStream();
    let writesDone = false;
    const written = writeAll(stream, data, seededRandom(1)).then(() => (writesDone = true));
    const serverStream = await accepted;

    await vi.waitFor(() => expect(pair.server.receiveBufferFull).toBe(true));
    // Stalled: nothing moves until the consumer reads, whatever the number of turns.
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(writesDone).toBe(false);
    expect(pair.server.receiveBufferedBytes).toBeLessThan(maxReceiveBuffer + SMUX_MAX_FRAME_SIZE + maxChunk);
    expect(pair.up.maxQueued).toBeLessThan(capacity + SMUX_MAX_FRAME_SIZE + 8 + 16);

    const readies = vi.fn();
    pair.server.on('receiveReady', readies);
    const received = receiveAll(serverStream, data.length, () => stream.end());
    await written;
    expect(await received).toEqual({ hash: sha256(data), length: data.length });
    expect(readies).toHaveBeenCalled();
    expect(pair.up.maxReceiverBuffered).toBeLessThan(maxReceiveBuffer + SMUX_MAX_FRAME_SIZE + maxChunk);
  });
});

describe('receive() under arbitrary chunking', () => {
  it('delivers the same bytes per stream wherever the input is cut', () => {
    const streamData = fc.array(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 5 }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(streamData, fc.array(fc.nat(), { maxLength: 20 }), (perStream, cutSeeds) => {
        const frames: SmuxFrame[] = [];
        const ids = perStream.map((_, index) => 3 + 2 * index);
        for (const id of ids) frames.push({ cmd: SmuxCommand.SYN, streamId: id, data: Buffer.alloc(0) });
        const longest = Math.max(...perStream.map((chunks) => chunks.length));
        for (let round = 0; round < longest; round++) {
          perStream.forEach((chunks, index) => {
            const chunk = chunks[round];
            if (chunk) frames.push({ cmd: SmuxCommand.PSH, streamId: ids[index]!, data: Buffer.from(chunk) });
          });
        }
        for (const id of ids) frames.push({ cmd: SmuxCommand.FIN, streamId: id, data: Buffer.alloc(0) });
        const wire = Buffer.concat(frames.map(encodeSmuxFrame));
        const cuts = [...new Set(cutSeeds.map((n) => n % (wire.length + 1)))].sort((a, b) => a - b);

        const session = new SmuxSession({ role: 'server', keepAlive: false, output: () => true });
        const streams: SmuxStream[] = [];
        session.on('stream', (stream) => streams.push(stream));
        let start = 0;
        for (const cut of [...cuts, wire.length]) {
          session.receive(wire.subarray(start, cut));
          start = cut;
        }
        expect(streams.map((stream) => stream.id)).toEqual(ids);
        streams.forEach((stream, index) => {
          const expected = Buffer.concat(perStream[index]!.map((chunk) => Buffer.from(chunk)));
          const read = stream.read() as Buffer | null;
          expect(read ?? Buffer.alloc(0)).toEqual(expected);
        });
        expect(session.streamCount).toBe(0);
      }),
    );
  });
});
