import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { encodeSmuxFrame, encodeSmuxHeader, PayloadType, SmuxCommand } from '../../src/protocol/index.js';
import { connectTo } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';
import { HostileAgent } from '../helpers/hostile-agent.js';

/*
 * A broken or malicious server against the real client (openTunnel over a real WebSocket): it may
 * not make the client hold more than its caps, and it may not crash the process. Each attack is
 * checked by what the client acknowledged (what it took responsibility for) and by the tunnel
 * carrying on, resuming or starting a new session.
 */

const REORDER_CAP = 4096;
const SMUX_RECEIVE_BUFFER = 4 * 1024 * 1024;
const MIB = 1024 * 1024;

let agent: HostileAgent;
let tunnel: Tunnel;
let logLines: string[];

beforeEach(async () => {
  agent = await HostileAgent.start();
  logLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  tunnel = await openTunnel({
    target: 'i-0123456789abcdef0',
    remotePort: 5432,
    sessionApi: agent.sessionApi,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    logger: pino({ level: 'debug' }, sink),
  });
  await waitFor(() => agent.handshakeCompleted, 'the handshake');
});

afterEach(async () => {
  await tunnel.close();
  await agent.close();
});

/** A smux NOP: harmless to deliver, so only the channel's rules are under test. */
const NOP = encodeSmuxHeader(SmuxCommand.NOP, 0, 0);

/** Sends frames without waiting for each; resolves once the last one left. */
async function sendAll(frames: Buffer[]): Promise<void> {
  await Promise.all(frames.map((frame) => agent.sendRaw(frame)));
}

describe('a hostile server', () => {
  it('cannot grow the reorder buffer past its cap: messages too far ahead are dropped unacknowledged', async () => {
    const expected = agent.sequence;
    // 20,000 messages after a gap: they can only wait in the reorder buffer, and most may not.
    const flood = Array.from({ length: 20_000 }, (_, i) => agent.output(NOP, { sequenceNumber: expected + 1 + i }));
    await sendAll(flood);
    // The gap last: once it is acknowledged, every earlier frame has been handled.
    await agent.sendRaw(agent.output(NOP, { sequenceNumber: expected }));
    await waitFor(() => agent.acknowledged.has(expected), 'the acknowledgement of the missing message');
    const heldAndAcknowledged = [...agent.acknowledged].filter((sequence) => sequence > expected);
    expect(heldAndAcknowledged).toHaveLength(REORDER_CAP - 1);
    expect(Math.max(...heldAndAcknowledged)).toBe(expected + REORDER_CAP - 1);
    expect(tunnel.state).toBe('ready');
  });

  it('cannot fill the reorder buffer with large frames: it holds 8 MiB at most', async () => {
    const expected = agent.sequence;
    // 64 KiB of harmless smux NOPs per message (the agent sends at most 1 KiB), 300 of them after a gap.
    const large = Buffer.concat(Array.from({ length: 8192 }, () => NOP));
    for (let i = 1; i <= 300; i++) await agent.sendRaw(agent.output(large, { sequenceNumber: expected + i }));
    await agent.sendRaw(agent.output(NOP, { sequenceNumber: expected }));
    await waitFor(() => agent.acknowledged.has(expected), 'the acknowledgement of the missing message');
    const held = [...agent.acknowledged].filter((sequence) => sequence > expected);
    expect(held).toHaveLength((8 * MIB) / large.length);
    expect(tunnel.state).toBe('ready');
  });

  it('closes the socket on a frame over the 256 KiB cap, resumes, and goes on', async () => {
    await agent.sendRaw(agent.output(Buffer.alloc(300 * 1024, 0x41)));
    await waitFor(() => agent.sockets === 2 && tunnel.stats.resumes === 1, 'a resume on a new socket');
    const local = await connectTo(tunnel.localPort);
    await waitFor(() => agent.fromClient.some((m) => m.payloadType === PayloadType.Output && m.payload[1] === SmuxCommand.SYN), 'a stream opened after the resume');
    local.destroy();
    expect(agent.sessionsStarted).toBe(1);
  });

  it('drops frames with a huge PayloadLength, a truncated header, a bad digest or no structure, and goes on', async () => {
    const hugeLength = agent.output(NOP);
    hugeLength.writeUInt32BE(0xffff_ffff, 116);
    const badDigest = agent.output(NOP, { sequenceNumber: agent.sequence - 1 });
    badDigest[90] = badDigest[90]! ^ 0xff;
    const truncated = agent.output(NOP, { sequenceNumber: agent.sequence - 1 }).subarray(0, 60);
    await sendAll([hugeLength, badDigest, truncated, Buffer.from('\x00\x01not a frame\xff'), Buffer.alloc(0)]);
    // The same sequence number, intact this time: all the broken copies were dropped unacknowledged.
    const sequence = agent.sequence - 1;
    expect(agent.acknowledged.has(sequence)).toBe(false);
    await agent.sendRaw(agent.output(NOP, { sequenceNumber: sequence }));
    await waitFor(() => agent.acknowledged.has(sequence), 'the intact copy to be acknowledged');
    expect(agent.sockets).toBe(1);
    expect(tunnel.state).toBe('ready');
    // Five malformed frames in a row: one warning line, the rest counted for the next one (rate limit).
    expect(logLines.filter((line) => line.includes('dropped a malformed data-channel frame'))).toHaveLength(1);
  });

  it('cannot make the client buffer an unread stream without bound', async () => {
    const local = await connectTo(tunnel.localPort);
    local.pause();
    let streamId = 0;
    await waitFor(() => {
      const syn = agent.fromClient.find((m) => m.payloadType === PayloadType.Output && m.payload[1] === SmuxCommand.SYN);
      if (syn) streamId = syn.payload.readUInt32LE(4);
      return syn !== undefined;
    }, 'the stream to open');
    // 48 MiB for a local client that reads nothing, sent without waiting for acknowledgements.
    const data = Buffer.alloc(1016, 0x5a);
    const psh = encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId, data });
    const first = agent.sequence;
    await sendAll(Array.from({ length: 48 * 1024 }, () => agent.output(psh)));
    // A copy of a message delivered long ago is acknowledged again at once, blocked or not: once
    // that second acknowledgement is back, the client has handled the whole flood.
    const marker = first - 1;
    await agent.sendRaw(agent.output(NOP, { sequenceNumber: marker }));
    await waitFor(() => (agent.acknowledgements.get(marker) ?? 0) >= 2, 'the client to handle the whole flood', 30_000);
    const acknowledgedBytes = [...agent.acknowledged].filter((s) => s >= first).length * psh.length;
    // The smux receive buffer, the held messages of the reorder buffer, and the two sockets' buffers.
    expect(acknowledgedBytes).toBeGreaterThan(SMUX_RECEIVE_BUFFER);
    expect(acknowledgedBytes).toBeLessThan(24 * MIB);
    expect(tunnel.state).toBe('ready');
    local.destroy();
  });

  it('cannot flood the log: 2 MiB of smux SYN frames give one warning line', async () => {
    // A server may not open streams (docs/forwarding.md); each SYN used to log one line.
    const syns = Buffer.concat(Array.from({ length: 127 }, (_, i) => encodeSmuxHeader(SmuxCommand.SYN, 0, 1001 + 2 * i)));
    const first = agent.sequence;
    await sendAll(Array.from({ length: 2100 }, () => agent.output(syns)));
    await waitFor(() => agent.acknowledged.has(first + 2099), 'the flood to be handled', 30_000);
    const warnings = logLines.filter((line) => line.includes('smux SYN from the server ignored'));
    // 266,700 SYNs; a line per 5 s at most.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(10);
    expect(tunnel.state).toBe('ready');
  });

  it('ends only that session with a corrupt smux stream: the tunnel starts another', async () => {
    await agent.sendRaw(agent.output(Buffer.from([9, 9, 9, 9, 9, 9, 9, 9])));
    await waitFor(() => agent.sessionsStarted === 2 && agent.handshakeCompleted && tunnel.state === 'ready', 'a new session');
    expect(logLines.some((line) => line.includes('smux version byte is 9'))).toBe(true);
  });
});
