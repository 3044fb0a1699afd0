import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { decodeChannelClosed, encodeSmuxFrame, MessageType, PayloadType, SmuxCommand } from '../../src/protocol/index.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { resumeSession, startSession, WireClient, type WireClientOptions } from '../helpers/emulator-wire-client.js';

const TARGET = 'i-0123456789abcdef0';

const syn = (id: number): Buffer => encodeSmuxFrame({ cmd: SmuxCommand.SYN, streamId: id, data: Buffer.alloc(0) });
const fin = (id: number): Buffer => encodeSmuxFrame({ cmd: SmuxCommand.FIN, streamId: id, data: Buffer.alloc(0) });
/** PSH frames of at most 32768 bytes, as an smux sender splits a write (port-forwarding.md §4.3). */
function psh(id: number, data: Buffer): Buffer {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += 32_768) {
    frames.push(encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: id, data: data.subarray(offset, offset + 32_768) }));
  }
  return Buffer.concat(frames);
}

/** Bytes of every PSH on `streamId` in the agent's Output. */
function streamData(client: WireClient, streamId: number): Buffer {
  return Buffer.concat(client.smuxFrames().filter((f) => f.cmd === SmuxCommand.PSH && f.streamId === streamId).map((f) => f.data));
}

describe('emulated agent: handshake and forwarding', () => {
  let emulator: Emulator;
  let echo: Destination;
  const clients: WireClient[] = [];

  beforeEach(async () => {
    echo = await echoServer();
    emulator = await startEmulator({ targets: { [TARGET]: {} }, pacing: false });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await emulator.close();
    await echo.close();
  });

  async function open(options: WireClientOptions = {}): Promise<{ client: WireClient; sessionId: string; streamUrl: string }> {
    const session = await startSession(emulator, { target: TARGET, portNumber: echo.port });
    const client = await WireClient.open(session, options);
    clients.push(client);
    return { client, sessionId: session.sessionId, streamUrl: session.streamUrl };
  }

  it('sends the HandshakeRequest and HandshakeComplete the official client expects', async () => {
    const { client, sessionId } = await open({ pingFirst: true });
    const { request, complete } = await client.handshake();

    expect(request).toMatchObject({ messageType: MessageType.OutputStreamData, sequenceNumber: 0, flags: 1, payloadType: PayloadType.HandshakeRequest });
    expect(JSON.parse(request.payload.toString())).toEqual({
      AgentVersion: '3.3.1142.0',
      RequestedClientActions: [
        {
          ActionType: 'SessionType',
          ActionParameters: {
            SessionType: 'Port',
            Properties: { portNumber: String(echo.port), type: 'LocalPortForwarding', localPortNumber: '0' },
          },
        },
      ],
    });
    expect(complete).toMatchObject({ sequenceNumber: 1, flags: 0, payloadType: PayloadType.HandshakeComplete });
    const body = JSON.parse(complete.payload.toString()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['HandshakeTimeToComplete', 'CustomerMessage']);
    expect(Number.isInteger(body.HandshakeTimeToComplete)).toBe(true);
    expect(body.CustomerMessage).toBe('');

    // The HandshakeResponse (our seq 0) is acknowledged before HandshakeComplete is sent.
    const ackIndex = client.received.findIndex((m) => m.messageType === MessageType.Acknowledge);
    expect(ackIndex).toBeGreaterThanOrEqual(0);
    const completeIndex = client.received.findIndex((m) => m.payloadType === PayloadType.HandshakeComplete);
    expect(ackIndex).toBeLessThan(completeIndex);
    const ack = client.received[ackIndex]!;
    expect(ack).toMatchObject({ sequenceNumber: 0, flags: 3, payloadType: 0 });

    const record = emulator.session(sessionId).record;
    expect(record).toMatchObject({ clientVersion: '1.2.677.0', mode: 'mux', smuxKeepAlive: false, agentVersion: '3.3.1142.0', state: 'connected' });
    expect(record.webSockets).toHaveLength(1);
  });

  it('forwards mux streams byte-exact to a TCP destination and closes them with FIN', async () => {
    const { client, sessionId } = await open();
    await client.handshake();
    const first = randomBytes(100_000);
    const second = randomBytes(5_000);
    client.sendOutput(Buffer.concat([syn(3), psh(3, first.subarray(0, 30_000)), psh(3, first.subarray(30_000))]));
    client.sendOutput(Buffer.concat([syn(5), psh(5, second)]));
    await client.until(() => streamData(client, 3).length === first.length && streamData(client, 5).length === second.length, 'both echoes');
    expect(streamData(client, 3).equals(first)).toBe(true);
    expect(streamData(client, 5).equals(second)).toBe(true);
    // Agent messages carry at most 1024 payload bytes.
    expect(client.delivered.every((m) => m.payload.length <= 1024)).toBe(true);

    client.sendOutput(fin(3));
    await client.until(() => client.smuxFrames().some((f) => f.cmd === SmuxCommand.FIN && f.streamId === 3), 'FIN for stream 3');
    const record = emulator.session(sessionId).record;
    const connection = record.connections.find((c) => c.id === 3)!;
    expect(connection).toMatchObject({ destination: `127.0.0.1:${echo.port}`, bytesToDestination: first.length, bytesFromDestination: first.length });
  });

  it('forwards basic mode raw bytes for an old client version and redials after DisconnectToPort', async () => {
    const { client, sessionId } = await open({ clientVersion: '1.1.61.0' });
    await client.handshake();
    const data = randomBytes(20_000);
    client.sendOutput(data);
    await client.until(() => client.outputBytes().length === data.length, 'echo');
    expect(client.outputBytes().equals(data)).toBe(true);

    client.sendFlag(1);
    await client.until(() => emulator.session(sessionId).record.connections[0]?.closedAt !== undefined, 'destination closed');
    client.sendOutput(Buffer.from('again'));
    await client.until(() => client.outputBytes().length === data.length + 5, 'second echo');
    const record = emulator.session(sessionId).record;
    expect(record.mode).toBe('basic');
    expect(record.flags.map((f) => f.name)).toEqual(['DisconnectToPort']);
    expect(record.connections.map((c) => c.id)).toEqual([1, 2]);
    expect(echo.connections).toBe(2);
  });

  it('ends the session on the TerminateSession flag with channel_closed and a close frame', async () => {
    const { client, sessionId } = await open();
    await client.handshake();
    const flagSequence = client.sendFlag(2);
    await client.closed();

    const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed)!;
    expect(closed).toMatchObject({ sequenceNumber: 0, flags: 0, payloadType: 0 });
    expect(decodeChannelClosed(closed.payload)).toMatchObject({ sessionId, messageType: 'channel_closed', schemaVersion: 1, output: '' });
    expect(client.acked.has(flagSequence)).toBe(true);
    expect(client.closeCode).toBe(1000);
    const record = emulator.session(sessionId).record;
    expect(record.state).toBe('terminated');
    expect(record.flags.map((f) => f.name)).toEqual(['TerminateSession']);
    expect(record.channelClosed).toHaveLength(1);
    expect(await resumeSession(emulator, sessionId)).toBeUndefined();
  });

  it('resumes on a new token with all sequence state kept and no second handshake', async () => {
    const { client, sessionId, streamUrl } = await open();
    await client.handshake();
    client.sendOutput(Buffer.concat([syn(3), psh(3, Buffer.from('before'))]));
    await client.until(() => streamData(client, 3).toString() === 'before', 'first echo');

    emulator.session(sessionId).dropConnection();
    await client.closed();
    const token = await resumeSession(emulator, sessionId);
    expect(token).toBeDefined();
    await client.resume(streamUrl, token!);
    client.sendOutput(psh(3, Buffer.from(' after')));
    await client.until(() => streamData(client, 3).toString() === 'before after', 'echo after resume');

    expect(client.delivered.filter((m) => m.payloadType === PayloadType.HandshakeRequest)).toHaveLength(1);
    const record = emulator.session(sessionId).record;
    expect(record.webSockets.map((w) => w.closedBy ?? 'open')).toEqual(['fault: drop connection', 'open']);
  });
});
