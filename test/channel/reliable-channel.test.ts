import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ReliableChannel } from '../../src/channel/reliable-channel.js';
import type { FrameTransport } from '../../src/channel/frame-transport.js';
import { seededRandom } from '../../src/emulator/faults.js';
import { waitFor } from '../helpers/wait.js';
import { decodeAcknowledgement, decodeClientMessage, MessageType, PayloadType, type DecodedClientMessage } from '../../src/protocol/index.js';

interface LinkFaults {
  drop?: number;
  duplicate?: number;
  reorder?: number;
}

/** A lossy one-way link: frames arrive asynchronously at `deliver`, faults from a seeded RNG. */
function link(deliver: (frame: Buffer) => void, faults: LinkFaults = {}, seed = 1): FrameTransport & { frames: Buffer[] } {
  const random = seededRandom(seed);
  let held: Buffer | undefined;
  const frames: Buffer[] = [];
  return {
    frames,
    send(frame, onWritten) {
      frames.push(frame);
      setImmediate(() => {
        onWritten();
        if (random() < (faults.drop ?? 0)) return;
        if (random() < (faults.reorder ?? 0) && !held) {
          held = frame;
          return;
        }
        deliver(frame);
        if (random() < (faults.duplicate ?? 0)) deliver(frame);
        if (held) {
          const late = held;
          held = undefined;
          deliver(late);
        }
      });
    },
  };
}

function pair(faults: LinkFaults = {}) {
  const client = new ReliableChannel({ role: 'client', rtt: { initialRtoMs: 30, minRtoMs: 20, maxRtoMs: 200 } });
  const agent = new ReliableChannel({ role: 'agent', rtt: { initialRtoMs: 30, minRtoMs: 20, maxRtoMs: 200 } });
  const toAgent = link((f) => agent.handleFrame(f), faults, 7);
  const toClient = link((f) => client.handleFrame(f), faults, 11);
  client.attach(toAgent);
  agent.attach(toClient);
  return { client, agent, toAgent, toClient };
}

function collect(channel: ReliableChannel): DecodedClientMessage[] {
  const received: DecodedClientMessage[] = [];
  channel.setInboundHandler((m) => {
    received.push({ ...m, payload: Buffer.from(m.payload) });
    return true;
  });
  return received;
}

describe('ReliableChannel', () => {
  it('delivers a byte stream in order, both ways, and every message gets acknowledged', async () => {
    const { client, agent } = pair();
    const atAgent = collect(agent);
    const atClient = collect(client);
    const up = randomBytes(300_000);
    const down = randomBytes(200_000);
    client.send(PayloadType.Output, up);
    agent.send(PayloadType.Output, down);
    await waitFor(() => client.unacknowledgedCount === 0 && agent.unacknowledgedCount === 0, 'all acks');
    expect(Buffer.concat(atAgent.map((m) => m.payload)).equals(up)).toBe(true);
    expect(Buffer.concat(atClient.map((m) => m.payload)).equals(down)).toBe(true);
    expect(atAgent.every((m) => m.payload.length <= 1024 && m.messageType === MessageType.InputStreamData)).toBe(true);
    expect(atClient.map((m) => m.sequenceNumber)).toEqual(atClient.map((_, i) => i));
    expect(atClient[0]!.flags).toBe(1); // the agent's first message is marked SYN (docs/protocol.md §3.3)
    expect(atAgent[0]!.flags).toBe(0);
  });

  it('is byte-exact with 10% of frames dropped, 10% duplicated and 10% reordered', async () => {
    const { client, agent } = pair({ drop: 0.1, duplicate: 0.1, reorder: 0.1 });
    const atAgent = collect(agent);
    const atClient = collect(client);
    const up = randomBytes(150_000);
    const down = randomBytes(150_000);
    client.send(PayloadType.Output, up);
    agent.send(PayloadType.Output, down);
    await waitFor(() => client.unacknowledgedCount === 0 && agent.unacknowledgedCount === 0, 'all acks');
    expect(Buffer.concat(atAgent.map((m) => m.payload)).equals(up)).toBe(true);
    expect(Buffer.concat(atClient.map((m) => m.payload)).equals(down)).toBe(true);
  });

  it('bounds the window: send() turns false, and drain comes once acks free room', async () => {
    const client = new ReliableChannel({ role: 'client', windowMessages: 8 });
    const agent = new ReliableChannel({ role: 'agent' });
    collect(agent);
    client.attach(link((f) => agent.handleFrame(f)));
    agent.attach(link((f) => client.handleFrame(f)));
    const results = Array.from({ length: 10 }, () => client.send(PayloadType.Output, Buffer.alloc(10)));
    expect(results.slice(0, 7).every(Boolean)).toBe(true);
    expect(results[9]).toBe(false);
    await new Promise<void>((resolve) => client.once('drain', resolve));
    expect(client.writable).toBe(true);
  });

  it('holds a refused message unacknowledged and delivers it after resumeDelivery()', async () => {
    const { client, agent } = pair();
    let ready = false;
    const received: string[] = [];
    agent.setInboundHandler((m) => {
      if (!ready) return false;
      received.push(m.payload.toString());
      return true;
    });
    client.send(PayloadType.Output, Buffer.from('a'));
    client.send(PayloadType.Output, Buffer.from('b'));
    client.send(PayloadType.Output, Buffer.from('c'));
    await waitFor(() => agent.heldCount === 3, 'held messages');
    expect(received).toEqual([]);
    expect(client.unacknowledgedCount).toBeGreaterThan(0);
    ready = true;
    agent.resumeDelivery();
    expect(received).toEqual(['a', 'b', 'c']);
    await waitFor(() => client.unacknowledgedCount === 0, 'acks after resume');
  });

  it('keeps data sent while detached and transmits it on the next attach, without a gap in sequence', async () => {
    const client = new ReliableChannel({ role: 'client' });
    const agent = new ReliableChannel({ role: 'agent' });
    const atAgent = collect(agent);
    client.attach(link((f) => agent.handleFrame(f)));
    agent.attach(link((f) => client.handleFrame(f)));
    client.send(PayloadType.Output, Buffer.from('before'));
    await waitFor(() => atAgent.length === 1, 'first message');
    client.detach();
    client.send(PayloadType.Output, Buffer.from('during'));
    await new Promise((r) => setTimeout(r, 20));
    expect(atAgent.length).toBe(1);
    client.attach(link((f) => agent.handleFrame(f)));
    await waitFor(() => atAgent.length === 2, 'message sent while detached');
    expect(atAgent.map((m) => [m.sequenceNumber, m.payload.toString()])).toEqual([
      [0, 'before'],
      [1, 'during'],
    ]);
  });

  it('re-acknowledges a duplicate so a lost ack does not cause endless resends', async () => {
    const agent = new ReliableChannel({ role: 'agent' });
    const client = new ReliableChannel({ role: 'client' });
    collect(agent);
    const toClient = link(() => {});
    agent.attach(toClient);
    const sent: Buffer[] = [];
    client.attach({ send: (frame, done) => (sent.push(frame), done()) });
    client.send(PayloadType.Output, Buffer.from('x'));
    agent.handleFrame(sent[0]!);
    // The first ack has left (a copy arriving while it is still queued would add nothing, see below).
    await waitFor(() => toClient.frames.length === 1 && agent.queuedTransportBytes === 0, 'the first ack written');
    agent.handleFrame(sent[0]!);
    await waitFor(() => toClient.frames.length === 2, 'two acks');
    const acks = toClient.frames.map((f) => decodeClientMessage(f));
    expect(acks.map((a) => a.messageType)).toEqual(['acknowledge', 'acknowledge']);
    expect(acks.map((a) => decodeAcknowledgement(a.payload).acknowledgedMessageSequenceNumber)).toEqual([0, 0]);
    expect(acks[0]!.flags).toBe(3);
  });

  it('queues one ack for copies of a message that arrive while its ack is still queued', async () => {
    const agent = new ReliableChannel({ role: 'agent' });
    const client = new ReliableChannel({ role: 'client' });
    collect(agent);
    const toClient = link(() => {});
    agent.attach(toClient);
    const sent: Buffer[] = [];
    client.attach({ send: (frame, done) => (sent.push(frame), done()) });
    client.send(PayloadType.Output, Buffer.from('x'));
    for (let copy = 0; copy < 1000; copy++) agent.handleFrame(sent[0]!);
    await waitFor(() => agent.queuedTransportBytes === 0, 'the ack written');
    expect(toClient.frames).toHaveLength(1);
  });

  it('acknowledges handshake messages before handing them on', () => {
    const order: string[] = [];
    const client = new ReliableChannel({ role: 'client', ackBeforeDelivery: (t) => t === PayloadType.HandshakeRequest });
    client.attach({ send: (frame, done) => (order.push(decodeClientMessage(frame).messageType), done()) });
    client.setInboundHandler(() => {
      order.push('handler');
      client.send(PayloadType.HandshakeResponse, Buffer.from('{}'));
      return true;
    });
    const agent = new ReliableChannel({ role: 'agent' });
    agent.attach({ send: (frame, done) => (client.handleFrame(frame), done()) });
    agent.send(PayloadType.HandshakeRequest, Buffer.from('{}'));
    expect(order).toEqual(['acknowledge', 'handler', 'input_stream_data']);
  });

  it('reports malformed frames without throwing and keeps working', () => {
    const errors: Error[] = [];
    const agent = new ReliableChannel({ role: 'agent' });
    agent.on('protocolError', (e) => errors.push(e));
    agent.attach({ send: (_f, done) => done() });
    const received = collect(agent);
    agent.handleFrame(Buffer.from('garbage'));
    agent.handleFrame(randomBytes(200));
    const client = new ReliableChannel({ role: 'client' });
    const frames: Buffer[] = [];
    client.attach({ send: (f, done) => (frames.push(f), done()) });
    client.send(PayloadType.Output, Buffer.from('ok'));
    const corrupted = Buffer.from(frames[0]!);
    corrupted.writeUInt8(corrupted.readUInt8(corrupted.length - 1) ^ 0xff, corrupted.length - 1);
    agent.handleFrame(corrupted);
    agent.handleFrame(frames[0]!);
    expect(errors.map((e) => e.name)).toEqual(['ProtocolError', 'ProtocolError', 'ProtocolError']);
    expect(errors[2]!.message).toMatch(/PayloadDigest/);
    expect(received.map((m) => m.payload.toString())).toEqual(['ok']);
  });

  it('gives up with resendTimeout when nothing is ever acknowledged', async () => {
    const client = new ReliableChannel({ role: 'client', resendTimeoutMs: 200, rtt: { initialRtoMs: 20, minRtoMs: 20, maxRtoMs: 50 } });
    client.attach({ send: (_f, done) => done() });
    client.send(PayloadType.Output, Buffer.from('lost'));
    const seq = await new Promise<number>((resolve) => client.once('resendTimeout', resolve));
    expect(seq).toBe(0);
  });
});
