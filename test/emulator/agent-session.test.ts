import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeChannelClosed, MessageType, PayloadType, SmuxCommand } from '../../src/protocol/index.js';
import { closedPort } from '../helpers/destinations.js';
import { FIXTURE_TARGET, pshFrames, smuxFrame, useEmulatorFixture } from '../helpers/emulator-fixture.js';
import { resumeSession, startSession } from '../helpers/emulator-wire-client.js';

describe('emulated agent: handshake and forwarding', () => {
  const fixture = useEmulatorFixture();

  it('sends the HandshakeRequest and HandshakeComplete the official client expects', async () => {
    const { client, session: { sessionId } } = await fixture.open({ pingFirst: true });
    const { request, complete } = await client.handshake();

    expect(request).toMatchObject({ messageType: MessageType.OutputStreamData, sequenceNumber: 0, flags: 1, payloadType: PayloadType.HandshakeRequest });
    expect(JSON.parse(request.payload.toString())).toEqual({
      AgentVersion: '3.3.1142.0',
      RequestedClientActions: [
        {
          ActionType: 'SessionType',
          ActionParameters: {
            SessionType: 'Port',
            Properties: { portNumber: String(fixture.echo.port), type: 'LocalPortForwarding', localPortNumber: '0' },
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

    const record = fixture.emulator.session(sessionId).record;
    expect(record).toMatchObject({ clientVersion: '1.2.677.0', mode: 'mux', smuxKeepAlive: false, agentVersion: '3.3.1142.0', state: 'connected' });
    expect(record.webSockets).toHaveLength(1);
  });

  it('forwards mux streams byte-exact to a TCP destination and closes them with FIN', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    await client.handshake();
    const first = randomBytes(100_000);
    const second = randomBytes(5_000);
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, first.subarray(0, 30_000)), pshFrames(3, first.subarray(30_000))]));
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 5), pshFrames(5, second)]));
    await client.until(() => client.streamData(3).length === first.length && client.streamData(5).length === second.length, 'both echoes');
    expect(client.streamData(3).equals(first)).toBe(true);
    expect(client.streamData(5).equals(second)).toBe(true);
    // Agent messages carry at most 1024 payload bytes.
    expect(client.delivered.every((m) => m.payload.length <= 1024)).toBe(true);

    client.sendOutput(smuxFrame(SmuxCommand.FIN, 3));
    await client.until(() => client.smuxFrames().some((f) => f.cmd === SmuxCommand.FIN && f.streamId === 3), 'FIN for stream 3');
    const record = fixture.emulator.session(sessionId).record;
    const connection = record.connections.find((c) => c.id === 3)!;
    expect(connection).toMatchObject({ destination: `127.0.0.1:${fixture.echo.port}`, bytesToDestination: first.length, bytesFromDestination: first.length });
  });

  it('forwards basic mode raw bytes for an old client version and redials after DisconnectToPort', async () => {
    const { client, session: { sessionId } } = await fixture.open({ clientVersion: '1.1.61.0' });
    await client.handshake();
    const data = randomBytes(20_000);
    client.sendOutput(data);
    await client.until(() => client.outputBytes().length === data.length, 'echo');
    expect(client.outputBytes().equals(data)).toBe(true);

    client.sendFlag(1);
    await client.until(() => fixture.emulator.session(sessionId).record.connections[0]?.closedAt !== undefined, 'destination closed');
    client.sendOutput(Buffer.from('again'));
    await client.until(() => client.outputBytes().length === data.length + 5, 'second echo');
    const record = fixture.emulator.session(sessionId).record;
    expect(record.mode).toBe('basic');
    expect(record.flags.map((f) => f.name)).toEqual(['DisconnectToPort']);
    expect(record.connections.map((c) => c.id)).toEqual([1, 2]);
    expect(fixture.echo.connections).toBe(2);
  });

  it('ends the session on the TerminateSession flag with channel_closed and a close frame', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    await client.handshake();
    const flagSequence = client.sendFlag(2);
    await client.closed();

    const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed)!;
    expect(closed).toMatchObject({ sequenceNumber: 0, flags: 0, payloadType: 0 });
    expect(decodeChannelClosed(closed.payload)).toMatchObject({ sessionId, messageType: 'channel_closed', schemaVersion: 1, output: '' });
    expect(client.acked.has(flagSequence)).toBe(true);
    expect(client.closeCode).toBe(1000);
    const record = fixture.emulator.session(sessionId).record;
    expect(record.state).toBe('terminated');
    expect(record.flags.map((f) => f.name)).toEqual(['TerminateSession']);
    expect(record.channelClosed).toHaveLength(1);
    expect(await resumeSession(fixture.emulator, sessionId)).toBeUndefined();
  });

  it('resumes on a new token with all sequence state kept and no second handshake', async () => {
    const { client, session: { sessionId, streamUrl } } = await fixture.open();
    await client.handshake();
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, Buffer.from('before'))]));
    await client.until(() => client.streamData(3).toString() === 'before', 'first echo');

    fixture.emulator.session(sessionId).dropConnection();
    await client.closed();
    const token = await resumeSession(fixture.emulator, sessionId);
    expect(token).toBeDefined();
    await client.resume(streamUrl, token!);
    client.sendOutput(pshFrames(3, Buffer.from(' after')));
    await client.until(() => client.streamData(3).toString() === 'before after', 'echo after resume');

    expect(client.delivered.filter((m) => m.payloadType === PayloadType.HandshakeRequest)).toHaveLength(1);
    const record = fixture.emulator.session(sessionId).record;
    expect(record.webSockets.map((w) => w.closedBy ?? 'open')).toEqual(['fault: drop connection', 'open']);
  });

  it('acknowledges and drops client data sent before the handshake completes', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    await client.waitForDelivered((m) => m.payloadType === PayloadType.HandshakeRequest, 'HandshakeRequest');
    const early = client.send(PayloadType.Output, Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, Buffer.from('too early'))]));
    await client.until(() => client.acked.has(early), 'ack of the early message');
    await client.handshake();
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 5), pshFrames(5, Buffer.from('on time'))]));
    await client.until(() => client.streamData(5).toString() === 'on time', 'echo on stream 5');
    expect(client.streamData(3).length).toBe(0);
    expect(fixture.emulator.session(sessionId).record.discardedBeforeHandshake).toBe(1);
  });

  it('re-acknowledges a duplicate client message and retransmits its own unacknowledged message', async () => {
    let skippedCompleteAck = false;
    const { client } = await fixture.open({
      // Lose our first ack of HandshakeComplete (agent seq 1): the agent must send it again.
      ack: (m) => {
        if (m.sequenceNumber !== 1 || skippedCompleteAck) return true;
        skippedCompleteAck = true;
        return false;
      },
    });
    await client.handshake();
    const copies = client.received.filter((m) => m.messageType === MessageType.OutputStreamData && m.sequenceNumber === 1);
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(new Set(copies.map((m) => m.messageId)).size).toBe(1);

    const sequence = client.send(PayloadType.Output, smuxFrame(SmuxCommand.SYN, 3));
    await client.until(() => client.acked.has(sequence), 'first ack');
    const acksBefore = client.received.filter((m) => m.messageType === MessageType.Acknowledge).length;
    client.sendRaw(client.frameOf(sequence));
    await client.until(() => client.received.filter((m) => m.messageType === MessageType.Acknowledge).length > acksBefore, 'ack of the duplicate');
  });

  it('sends ConnectToPortError, then FIN, for a refused mux stream and keeps the session', async () => {
    const port = await closedPort();
    const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: port });
    const client = await fixture.connect(session);
    await client.handshake();
    client.sendOutput(smuxFrame(SmuxCommand.SYN, 3));
    await client.until(() => client.smuxFrames().some((f) => f.cmd === SmuxCommand.FIN && f.streamId === 3), 'FIN for stream 3');
    const [flag, finMessage] = client.delivered.slice(2);
    expect(flag).toMatchObject({ sequenceNumber: 2, payloadType: PayloadType.Flag });
    expect(flag!.payload.toString('hex')).toBe('00000003');
    expect(finMessage).toMatchObject({ sequenceNumber: 3, payloadType: PayloadType.Output });
    expect(finMessage!.payload.toString('hex')).toBe('0101000003000000');
    const record = fixture.emulator.session(session.sessionId).record;
    expect(record.state).toBe('connected');
    expect(record.connections[0]!.error).toBe(`dial tcp 127.0.0.1:${port}: connect: connection refused`);
  });

  it('fails a basic session whose destination refuses at start, with the reason in channel_closed', async () => {
    const port = await closedPort();
    const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: port });
    const client = await fixture.connect(session, { clientVersion: '1.1.61.0' });
    await client.handshake();
    await client.closed();
    const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed)!;
    expect(decodeChannelClosed(closed.payload).output).toBe(`Unable to connect to specified port: dial tcp 127.0.0.1:${port}: connect: connection refused`);
    expect(fixture.emulator.session(session.sessionId).record.state).toBe('failed');
  });

  it('ignores DisconnectToPort, unknown flags and short flags in mux mode', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    await client.handshake();
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, Buffer.from('one'))]));
    await client.until(() => client.streamData(3).toString() === 'one', 'first echo');
    client.sendFlag(1);
    client.sendFlag(77);
    client.send(PayloadType.Flag, Buffer.from([0, 2]));
    client.sendOutput(pshFrames(3, Buffer.from(' two')));
    await client.until(() => client.streamData(3).toString() === 'one two', 'second echo on the same stream');
    const record = fixture.emulator.session(sessionId).record;
    expect(record.flags.map((f) => f.name)).toEqual(['DisconnectToPort', 'Unknown(77)', 'Unknown(0)']);
    expect(record.state).toBe('connected');
    expect(fixture.echo.connections).toBe(1);
  });

  it('refuses a ToRemoteHost destination on the deny list, quoting the host as given', async () => {
    const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: 80, host: '169.254.169.254' });
    const client = await fixture.connect(session);
    const { request } = await client.handshake();
    expect(JSON.parse(request.payload.toString())).toMatchObject({
      RequestedClientActions: [{ ActionParameters: { Properties: { host: '169.254.169.254', portNumber: '80', type: 'LocalPortForwarding' } } }],
    });
    await client.closed();
    const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed)!;
    expect(decodeChannelClosed(closed.payload).output).toBe('Forwarding to IP address 169.254.169.254 is forbidden.');
  });

  it('applies a configured deny list to the resolved address of the remote host', async () => {
    const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: fixture.echo.port, host: 'localhost' });
    fixture.emulator.session(session.sessionId).setKnobs({ denyList: ['127.0.0.1'] });
    const client = await fixture.connect(session);
    await client.handshake();
    await client.closed();
    expect(fixture.emulator.session(session.sessionId).record.endReason).toBe('Forwarding to IP address localhost is forbidden.');
  });

  it('forwards with pacing on', async () => {
    fixture.emulator.setKnobs({ pacing: true });
    const { client } = await fixture.open();
    await client.handshake();
    const data = randomBytes(8_000);
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, data)]));
    await client.until(() => client.streamData(3).length === data.length, 'paced echo');
    expect(client.streamData(3).equals(data)).toBe(true);
  });

  it('runs smux keepalive for a client version that expects it, and ends a silent session', async () => {
    fixture.emulator.setKnobs({ smuxKeepAliveIntervalMs: 30, smuxKeepAliveTimeoutMs: 150 });
    const { client, session: { sessionId } } = await fixture.open({ clientVersion: '1.2.331.0' });
    await client.handshake();
    await client.closed();
    expect(client.smuxFrames().some((f) => f.cmd === SmuxCommand.NOP && f.streamId === 0)).toBe(true);
    const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed)!;
    expect(decodeChannelClosed(closed.payload).output).toMatch(/^Port session failed: smux keepalive/);
    expect(fixture.emulator.session(sessionId).record).toMatchObject({ mode: 'mux', smuxKeepAlive: true, state: 'failed' });
  });

  it('keeps smux keepalive on for an agent version from before the client-dependent rule', async () => {
    fixture.emulator.setKnobs({ agentVersion: '3.1.1476.0' });
    const { client, session: { sessionId } } = await fixture.open();
    await client.handshake();
    expect(fixture.emulator.session(sessionId).record).toMatchObject({ mode: 'mux', smuxKeepAlive: true });
  });

  it('uses basic mode on both ends when the agent version predates mux', async () => {
    fixture.emulator.setKnobs({ agentVersion: '3.0.0.0' });
    const { client, session: { sessionId } } = await fixture.open();
    await client.handshake();
    client.sendOutput(Buffer.from('raw bytes'));
    await client.until(() => client.outputBytes().toString() === 'raw bytes', 'raw echo');
    expect(fixture.emulator.session(sessionId).record.mode).toBe('basic');
  });

  it('parses smux frames split across one-byte messages and can split its own the same way', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    fixture.emulator.session(sessionId).setKnobs({ outputChunkSize: 1 });
    await client.handshake();
    const bytes = Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, Buffer.from('split')), smuxFrame(SmuxCommand.SYN, 5), pshFrames(5, Buffer.from('apart'))]);
    for (const byte of bytes) client.send(PayloadType.Output, Buffer.from([byte]));
    await client.until(() => client.streamData(3).toString() === 'split' && client.streamData(5).toString() === 'apart', 'both echoes');
    const outputs = client.delivered.filter((m) => m.payloadType === PayloadType.Output);
    expect(outputs.every((m) => m.payload.length === 1)).toBe(true);
    expect(outputs).toHaveLength(2 * (8 + 5));
  });
});
