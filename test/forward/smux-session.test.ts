import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '../../src/protocol/index.js';
import { SmuxKeepaliveTimeoutError, SmuxSession, type SmuxSessionOptions } from '../../src/forward/smux-session.js';
import type { SmuxStream } from '../../src/forward/smux-stream.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SYN3 = hex('01 00 00 00 03 00 00 00');
const FIN3 = hex('01 01 00 00 03 00 00 00');
const NOP = hex('01 03 00 00 00 00 00 00');
const psh = (streamId: number, data: Buffer | string): Buffer => {
  const body = Buffer.from(data);
  const header = Buffer.alloc(8);
  header[0] = 1;
  header[1] = 2;
  header.writeUInt16LE(body.length, 2);
  header.writeUInt32LE(streamId, 4);
  return Buffer.concat([header, body]);
};
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Unlike events.once, does not reject when 'error' comes first (it does, on failure). */
const closeOf = (emitter: SmuxSession | SmuxStream): Promise<unknown> =>
  new Promise((resolve) => emitter.once('close', resolve));

interface Recorded {
  session: SmuxSession;
  out: Buffer[];
  streams: SmuxStream[];
}

/** A session whose output is recorded; `outputAccepts` is what every output() call answers. */
function recorded(role: 'client' | 'server', options: Partial<SmuxSessionOptions> = {}, outputAccepts = true): Recorded {
  const out: Buffer[] = [];
  const streams: SmuxStream[] = [];
  const session = new SmuxSession({
    role,
    keepAlive: false,
    output: (bytes) => {
      out.push(bytes);
      return outputAccepts;
    },
    ...options,
  });
  session.on('stream', (stream) => streams.push(stream));
  return { session, out, streams };
}

/** Reads everything a paused stream has buffered, synchronously. */
function drain(stream: SmuxStream): string {
  const chunks: Buffer[] = [];
  for (let chunk = stream.read() as Buffer | null; chunk; chunk = stream.read() as Buffer | null) chunks.push(chunk);
  return Buffer.concat(chunks).toString('latin1');
}

describe('client role: docs/forwarding.md §3.2 bytes and §4.1 ids', () => {
  it('sends exactly SYN, PSH "hello" and FIN for stream 3', async () => {
    const { session, out } = recorded('client');
    const stream = session.openStream();
    expect(stream.id).toBe(3);
    stream.end('hello');
    await once(stream, 'finish');
    expect(Buffer.concat(out)).toEqual(
      hex('01 00 00 00 03 00 00 00 01 02 05 00 03 00 00 00 68 65 6c 6c 6f 01 01 00 00 03 00 00 00'),
    );
  });

  it('allocates ids 3, 5, 7 and never reuses one', async () => {
    const { session, out } = recorded('client');
    const first = session.openStream();
    first.destroy();
    await once(first, 'close');
    expect([session.openStream().id, session.openStream().id]).toEqual([5, 7]);
    expect(out.slice(0, 2)).toEqual([SYN3, FIN3]);
    expect(out.slice(2)).toEqual([hex('01 00 00 00 05 00 00 00'), hex('01 00 00 00 07 00 00 00')]);
  });

  it('splits a 40000-byte write on stream 7 into PSH frames of 32768 and 7232 bytes', () => {
    const { session, out } = recorded('client');
    session.openStream();
    session.openStream();
    const stream = session.openStream();
    const data = Buffer.alloc(40000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    stream.write(data);
    const frames = out.slice(3);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.subarray(0, 8)).toEqual(hex('01 02 00 80 07 00 00 00'));
    expect(frames[1]!.subarray(0, 8)).toEqual(hex('01 02 40 1c 07 00 00 00'));
    expect(frames.map((frame) => frame.length - 8)).toEqual([32768, 7232]);
    expect(Buffer.concat(frames.map((frame) => frame.subarray(8)))).toEqual(data);
  });

  it('never sends an empty PSH', async () => {
    const { session, out } = recorded('client');
    const stream = session.openStream();
    await new Promise<void>((resolve, reject) => stream.write(Buffer.alloc(0), (error) => (error ? reject(error) : resolve())));
    expect(out).toEqual([SYN3]);
  });

  it('refuses to open streams in the server role or after close', () => {
    expect(() => recorded('server').session.openStream()).toThrow(/server role never opens/);
    const { session } = recorded('client');
    session.close();
    expect(() => session.openStream()).toThrow(/closed/);
  });

  it('ignores a SYN from the server: only the client opens streams', () => {
    const { session, out, streams } = recorded('client');
    session.receive(SYN3);
    session.receive(psh(3, 'x'));
    expect(streams).toEqual([]);
    expect(out).toEqual([]);
    expect(session.streamCount).toBe(0);
  });
});

describe('server role: docs/forwarding.md §3.3 receiver rules', () => {
  it('reassembles the split messages of docs/forwarding.md §3.2 and answers "world" then its own FIN', async () => {
    const { session, out, streams } = recorded('server');
    session.receive(SYN3);
    expect(streams.map((stream) => stream.id)).toEqual([3]);
    const stream = streams[0]!;
    session.receive(hex('01 02 05'));
    session.receive(hex('00 03 00 00 00 68 65'));
    stream.write('world');
    expect(out).toEqual([hex('01 02 05 00 03 00 00 00 77 6f 72 6c 64')]);
    session.receive(hex('6c 6c 6f 01 01 00 00 03 00 00 00'));
    expect(out).toEqual([hex('01 02 05 00 03 00 00 00 77 6f 72 6c 64'), FIN3]);
    expect(drain(stream)).toBe('hello');
    await once(stream, 'end');
    expect(session.streamCount).toBe(0);
  });

  it('ignores duplicate SYNs and the Length of SYN/FIN/NOP', () => {
    const { session, out, streams } = recorded('server');
    session.receive(Buffer.concat([hex('01 00 05 00 03 00 00 00'), psh(3, 'a'), SYN3, hex('01 03 09 00 00 00 00 00'), psh(3, 'b')]));
    expect(streams).toHaveLength(1);
    expect(drain(streams[0]!)).toBe('ab');
    expect(out).toEqual([]);
  });

  it('discards PSH and ignores FIN for unknown streams', () => {
    const { session, out, streams } = recorded('server');
    session.receive(Buffer.concat([psh(9, 'lost'), hex('01 01 00 00 0b 00 00 00')]));
    expect(streams).toEqual([]);
    expect(out).toEqual([]);
    session.receive(Buffer.concat([hex('01 00 00 00 09 00 00 00'), psh(9, 'kept')]));
    expect(streams.map((stream) => stream.id)).toEqual([9]);
    expect(drain(streams[0]!)).toBe('kept');
  });

  it.each([
    ['a wrong version byte', hex('02 00 00 00 05 00 00 00'), 'smux.Version', /version byte is 2, expected 1/],
    ['an unknown command', hex('01 05 00 00 05 00 00 00'), 'smux.Cmd', /unknown smux command 5/],
    ['a v2 UPD frame', hex('01 04 08 00 03 00 00 00'), 'smux.Cmd', /UPD \(cmd 4\)/],
  ])('treats %s as fatal: ProtocolError, every stream destroyed, nothing sent', async (_name, bad, field, message) => {
    const { session, out, streams } = recorded('server');
    session.receive(SYN3);
    const streamErrors: Error[] = [];
    streams[0]!.on('error', (error) => streamErrors.push(error));
    const errors: Error[] = [];
    session.on('error', (error) => errors.push(error));
    const closed = closeOf(session);
    session.receive(Buffer.concat([bad, psh(3, 'after')]));
    await closed;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProtocolError);
    expect(errors[0]!.message).toMatch(message);
    expect((errors[0] as ProtocolError).field).toBe(field);
    expect(session.isClosed).toBe(true);
    expect(streams[0]!.destroyed).toBe(true);
    await closeOf(streams[0]!);
    expect(streamErrors).toEqual(errors);
    session.receive(hex('01 00 00 00 05 00 00 00'));
    expect(streams).toHaveLength(1);
    expect(out).toEqual([]);
  });
});

describe('FIN handling (docs/forwarding.md §4.3: a FIN is a full close, each side sends one)', () => {
  it('peer FIN ends the reader after buffered data, answers FIN once and discards later writes', async () => {
    const { session, out } = recorded('client');
    const stream = session.openStream();
    session.receive(Buffer.concat([psh(3, 'last words'), FIN3]));
    expect(out).toEqual([SYN3, FIN3]);
    const written = vi.fn();
    stream.write('too late', written);
    session.receive(psh(3, 'late'));
    session.receive(FIN3);
    expect(drain(stream)).toBe('last words');
    stream.end();
    await once(stream, 'close');
    expect(written).toHaveBeenCalledOnce();
    expect(out).toEqual([SYN3, FIN3]);
  });

  it('local end sends FIN once, ends the reader and ignores the peer FIN and late PSH', async () => {
    const { session, out } = recorded('client');
    const stream = session.openStream();
    session.receive(psh(3, 'before'));
    stream.end();
    await once(stream, 'finish');
    expect(out).toEqual([SYN3, FIN3]);
    expect(session.streamCount).toBe(0);
    session.receive(Buffer.concat([psh(3, 'after'), FIN3]));
    expect(drain(stream)).toBe('before');
    await once(stream, 'close');
    expect(out).toEqual([SYN3, FIN3]);
  });

  it('destroy(err) sends FIN so the peer closes its side, and only once', async () => {
    const { session, out } = recorded('client');
    const stream = session.openStream();
    const failure = new Error('local socket reset');
    const errored = once(stream, 'error');
    stream.destroy(failure);
    expect(await errored).toEqual([failure]);
    stream.destroy();
    stream.end();
    expect(out).toEqual([SYN3, FIN3]);
    expect(session.streamCount).toBe(0);
  });

  it('a server-side destroy (refused destination) is a FIN the client reads as end of stream', async () => {
    const client = recorded('client');
    const server = recorded('server');
    const stream = client.session.openStream();
    server.session.receive(Buffer.concat(client.out.splice(0)));
    server.streams[0]!.destroy();
    client.session.receive(Buffer.concat(server.out.splice(0)));
    stream.resume();
    await once(stream, 'end');
    expect(client.out).toEqual([FIN3]);
    server.session.receive(Buffer.concat(client.out));
    expect(server.out).toEqual([]);
  });
});

describe('output backpressure', () => {
  // Every output() answers "stop": each resumeOutput() lets exactly one data frame through.
  const paused = (): Recorded => recorded('client', {}, false);

  it('holds writes and their callbacks until resumeOutput(), while control frames still go out', async () => {
    const { session, out } = paused();
    const stream = session.openStream();
    const firstDone = vi.fn();
    stream.write(Buffer.alloc(40000, 1), firstDone);
    stream.write(Buffer.alloc(10, 2));
    expect(out).toEqual([SYN3]);
    expect(stream.writableLength).toBe(40010);

    session.openStream();
    expect(out.map((bytes) => bytes.subarray(0, 8))).toEqual([SYN3, hex('01 00 00 00 05 00 00 00')]);

    session.resumeOutput();
    await nextTurn();
    expect(out.map((bytes) => bytes.length)).toEqual([8, 8, 8 + 32768]);
    expect(firstDone).not.toHaveBeenCalled();

    session.resumeOutput();
    await nextTurn();
    expect(out.map((bytes) => bytes.length)).toEqual([8, 8, 8 + 32768, 8 + 7232]);
    expect(firstDone).toHaveBeenCalledOnce();

    session.resumeOutput();
    await nextTurn();
    expect(out[4]).toEqual(psh(3, Buffer.alloc(10, 2)));
    expect(stream.writableLength).toBe(0);
  });

  it('takes one frame per stream in turn', () => {
    const { session, out } = paused();
    const a = session.openStream();
    const b = session.openStream();
    a.write(Buffer.alloc(70000, 0xaa));
    b.write(Buffer.alloc(70000, 0xbb));
    for (let i = 0; i < 6; i++) session.resumeOutput();
    expect(out.slice(2).map((frame) => frame.readUInt32LE(4))).toEqual([3, 5, 3, 5, 3, 5]);
    expect(out.slice(2).map((frame) => frame.length - 8)).toEqual([32768, 32768, 32768, 32768, 4464, 4464]);
  });

  it('drops a held write when its stream is destroyed, sending FIN after what already left', () => {
    const { session, out } = paused();
    const stream = session.openStream();
    stream.write(Buffer.alloc(40000));
    session.resumeOutput();
    stream.destroy();
    session.resumeOutput();
    expect(out.map((bytes) => bytes.length)).toEqual([8, 8 + 32768, 8]);
    expect(out[2]).toEqual(FIN3);
  });

  it('sends nothing for a stream after the peer FIN, not even writes queued behind the held one', async () => {
    const { session, out } = paused();
    const stream = session.openStream();
    const firstDone = vi.fn();
    const secondDone = vi.fn();
    stream.write(Buffer.alloc(40000), firstDone);
    stream.write(Buffer.alloc(10), secondDone);
    session.resumeOutput();
    session.receive(FIN3);
    for (let i = 0; i < 3; i++) {
      session.resumeOutput();
      await nextTurn();
    }
    expect(out.map((bytes) => bytes.length)).toEqual([8, 8 + 32768, 8]);
    expect(out[2]).toEqual(FIN3);
    expect(firstDone).toHaveBeenCalledOnce();
    expect(secondDone).toHaveBeenCalledOnce();
  });
});

describe('receive buffer accounting (docs/forwarding.md §4.5)', () => {
  it('counts unread bytes session-wide, reports full, and emits receiveReady once reading frees room', async () => {
    const { session, streams } = recorded('server', { maxReceiveBuffer: 100 });
    session.receive(Buffer.concat([SYN3, psh(3, Buffer.alloc(60)), hex('01 00 00 00 05 00 00 00')]));
    expect(session.receiveBufferedBytes).toBe(60);
    expect(session.receiveBufferFull).toBe(false);
    session.receive(psh(5, Buffer.alloc(60)));
    expect(session.receiveBufferedBytes).toBe(120);
    expect(session.receiveBufferFull).toBe(true);

    const ready = once(session, 'receiveReady');
    expect(streams[0]!.read(30)).toHaveLength(30);
    expect(session.receiveBufferedBytes).toBe(90);
    await ready;

    streams[1]!.destroy();
    expect(session.receiveBufferedBytes).toBe(30);
    streams[0]!.on('data', () => undefined);
    await vi.waitFor(() => expect(session.receiveBufferedBytes).toBe(0));
  });

  it('never counts bytes that a flowing reader takes at once', async () => {
    const { session, streams } = recorded('server', { maxReceiveBuffer: 10 });
    session.receive(SYN3);
    const received: Buffer[] = [];
    streams[0]!.on('data', (chunk: Buffer) => received.push(chunk));
    await nextTurn();
    for (let i = 0; i < 20; i++) session.receive(psh(3, Buffer.alloc(5, i)));
    await vi.waitFor(() => expect(Buffer.concat(received)).toHaveLength(100));
    expect(session.receiveBufferedBytes).toBe(0);
    expect(session.receiveBufferFull).toBe(false);
  });
});

describe('close()', () => {
  it('destroys every stream with the reason, sends nothing, emits close once and ignores later input', async () => {
    const { session, out } = recorded('client');
    const open = session.openStream();
    const finished = session.openStream();
    session.receive(Buffer.concat([psh(5, 'unread'), hex('01 01 00 00 05 00 00 00')]));
    const sent = out.length;
    const errors: Error[] = [];
    open.on('error', (error) => errors.push(error));
    finished.on('error', (error) => errors.push(error));
    const closes = vi.fn();
    session.on('close', closes);
    const reason = new Error('data channel closed');
    session.close(reason);
    session.close();
    expect(closes).toHaveBeenCalledOnce();
    expect(closes).toHaveBeenCalledWith(reason);
    expect(open.destroyed && finished.destroyed).toBe(true);
    await Promise.all([closeOf(open), closeOf(finished)]);
    expect(errors).toEqual([reason, reason]);
    expect(out).toHaveLength(sent);
    expect(session.streamCount).toBe(0);
    expect(session.receiveBufferedBytes).toBe(0);
    session.receive(psh(3, 'ignored'));
  });
});

describe('keepalive (docs/forwarding.md §5)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rejects a timeout shorter than the interval', () => {
    expect(() => recorded('client', { keepAlive: true, keepAliveIntervalMs: 100, keepAliveTimeoutMs: 50 })).toThrow(
      /interval 100 ms, timeout 50 ms/,
    );
  });

  it('sends NOPs and, when the peer stays silent, eventually fails with a keepalive timeout', async () => {
    const { session, out } = recorded('client', { keepAlive: true, keepAliveIntervalMs: 5, keepAliveTimeoutMs: 40 });
    const [error] = (await once(session, 'error')) as [Error];
    expect(error).toBeInstanceOf(SmuxKeepaliveTimeoutError);
    expect(error.message).toMatch(/no frame received from the peer in 40 ms/);
    expect(session.isClosed).toBe(true);
    expect(out.length).toBeGreaterThan(0);
    for (const frame of out) expect(frame).toEqual(NOP);
  });

  it('with the default periods, peers that exchange NOPs stay up; a peer gone silent is dropped within 30–60 s', () => {
    vi.useFakeTimers();
    let serverToClient = true;
    const nops = { client: 0, server: 0 };
    const client = new SmuxSession({
      role: 'client',
      keepAlive: true,
      output: (bytes) => {
        nops.client++;
        server.receive(bytes);
        return true;
      },
    });
    const server = new SmuxSession({
      role: 'server',
      keepAlive: true,
      output: (bytes) => {
        nops.server++;
        if (serverToClient) client.receive(bytes);
        return true;
      },
    });
    const clientErrors: Error[] = [];
    client.on('error', (error) => clientErrors.push(error));
    server.on('error', () => undefined);

    vi.advanceTimersByTime(120_000);
    expect(nops).toEqual({ client: 12, server: 12 });
    expect(client.isClosed || server.isClosed).toBe(false);

    serverToClient = false;
    vi.advanceTimersByTime(30_000);
    expect(client.isClosed).toBe(false);
    vi.advanceTimersByTime(30_000);
    expect(clientErrors).toHaveLength(1);
    expect(clientErrors[0]).toBeInstanceOf(SmuxKeepaliveTimeoutError);
    server.close();
  });

  it('does not drop the peer while our receive buffer is exhausted (we stopped reading, not the peer)', () => {
    vi.useFakeTimers();
    const { session, streams } = recorded('server', { keepAlive: true, maxReceiveBuffer: 10 });
    const errors: Error[] = [];
    session.on('error', (error) => errors.push(error));
    session.receive(Buffer.concat([SYN3, psh(3, Buffer.alloc(20))]));
    streams[0]!.on('error', () => undefined);
    expect(session.receiveBufferFull).toBe(true);
    vi.advanceTimersByTime(300_000);
    expect(errors).toEqual([]);
    drain(streams[0]!);
    vi.advanceTimersByTime(30_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SmuxKeepaliveTimeoutError);
  });

  it('sendNop() emits one NOP on demand, keepalive or not, and nothing once closed', () => {
    const { session, out } = recorded('client');
    session.sendNop();
    expect(out).toEqual([NOP]);
    const server = recorded('server');
    server.session.receive(out[0]!);
    expect(server.out).toEqual([]);
    session.close();
    session.sendNop();
    expect(out).toEqual([NOP]);
  });

  it('sends nothing and never times out when disabled', () => {
    vi.useFakeTimers();
    const { session, out } = recorded('client');
    vi.advanceTimersByTime(300_000);
    expect(out).toEqual([]);
    expect(session.isClosed).toBe(false);
  });
});
