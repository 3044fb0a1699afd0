/*
 * An agent that stops reading its socket and floods the client with messages, each of which the
 * client would acknowledge: the acknowledgements may not pile up in the client without bound.
 * Measured in bytes queued for the socket (never in time), on a real WebSocket.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientDataChannel } from '../../src/channel/client-data-channel.js';
import { encodeSmuxHeader, SmuxCommand } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/wait.js';
import { HostileAgent } from '../helpers/hostile-agent.js';

/** The channel's default transportHighWaterBytes: acks may use as much again, then are dropped. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** An acknowledgement frame: a 116-byte header and ~160 bytes of JSON. */
const MAX_ACK_FRAME_BYTES = 400;
const NOP = encodeSmuxHeader(SmuxCommand.NOP, 0, 0);

let agent: HostileAgent;
let channel: ClientDataChannel;
let delivered: number;
let logLines: string[];

beforeEach(async () => {
  agent = await HostileAgent.start();
  const api = agent.sessionApi;
  const grant = await api.startSession({ target: 'i-0123456789abcdef0', remotePort: 5432 });
  logLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  channel = new ClientDataChannel({ ...grant, apiEndpoint: api.endpoint, resumeSession: () => api.resumeSession(grant.sessionId), logger: pino(sink) });
  await channel.open();
  delivered = 0;
  channel.setInboundHandler(() => {
    delivered += 1;
    return true;
  });
});

afterEach(async () => {
  channel.close();
  await agent.close();
});

describe('an agent that floods messages and reads nothing', () => {
  it('gets one pending acknowledgement per duplicated message, not one per copy', async () => {
    const original = agent.output(NOP);
    await agent.sendRaw(original);
    await waitFor(() => delivered === 1, 'the original to be delivered');
    agent.stopReading();
    // 100,000 copies of a delivered message: each would be acknowledged again (about 27 MB of acks).
    await Promise.all(Array.from({ length: 100_000 }, () => agent.sendRaw(original)));
    // A new message after the flood: once it is delivered, every copy before it has been handled.
    await agent.sendRaw(agent.output(NOP));
    await waitFor(() => delivered === 2, 'the message after the flood', 60_000);
    expect(channel.queuedTransportBytes).toBeLessThanOrEqual(2 * HIGH_WATER_BYTES + MAX_ACK_FRAME_BYTES);
  });

  it('drops acknowledgements once twice the high-water mark is queued, and says so in one line', async () => {
    agent.stopReading();
    // 100,000 distinct messages in order: each is delivered and needs its own acknowledgement (about 27 MB).
    const flood = Array.from({ length: 100_000 }, () => agent.output(NOP));
    await Promise.all(flood.map((frame) => agent.sendRaw(frame)));
    await waitFor(() => delivered === flood.length, 'the flood to be delivered', 60_000);
    expect(channel.queuedTransportBytes).toBeGreaterThan(HIGH_WATER_BYTES);
    expect(channel.queuedTransportBytes).toBeLessThanOrEqual(2 * HIGH_WATER_BYTES + MAX_ACK_FRAME_BYTES);
    // One line per 5 s however many are dropped.
    const lines = logLines.filter((line) => line.includes('dropped an acknowledgement')).length;
    expect(lines).toBeGreaterThanOrEqual(1);
    expect(lines).toBeLessThanOrEqual(10);
  });
});
