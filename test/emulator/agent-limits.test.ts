import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HANDSHAKE_TIMEOUT_OUTPUT, IDLE_TIMEOUT_OUTPUT, MAX_DURATION_OUTPUT } from '../../src/emulator/index.js';
import { decodeChannelClosed, encodeHandshakeResponse, encodeSmuxFrame, MessageType, PayloadType, SmuxCommand } from '../../src/protocol/index.js';
import { FIXTURE_TARGET, useEmulatorFixture } from '../helpers/emulator-fixture.js';
import { resumeSession, startSession, type WireClient } from '../helpers/emulator-wire-client.js';

function channelClosedOutput(client: WireClient): string | undefined {
  const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed);
  return closed === undefined ? undefined : decodeChannelClosed(closed.payload).output;
}

describe('emulated agent: limits, handshake failures, backpressure', () => {
  const fixture = useEmulatorFixture();

  it('ends an idle session as timed out: channel_closed, and ResumeSession gives no token', async () => {
    fixture.emulator.setKnobs({ idleTimeoutMs: 200 });
    const { client, session: { sessionId } } = await fixture.open();
    await client.handshake();
    await client.closed();
    expect(channelClosedOutput(client)).toBe(IDLE_TIMEOUT_OUTPUT);
    const record = fixture.emulator.session(sessionId).record;
    expect(record.state).toBe('timed-out');
    expect(record.channelClosed[0]!.reason).toBe('no stream data for 200 ms');
    expect(await resumeSession(fixture.emulator, sessionId)).toBeUndefined();
  });

  it('ends a session at its maximum duration even while data flows', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    fixture.emulator.session(sessionId).setKnobs({ maxSessionDurationMs: 300 });
    await client.handshake();
    client.sendOutput(encodeSmuxFrame({ cmd: SmuxCommand.SYN, streamId: 3, data: Buffer.alloc(0) }));
    const traffic = setInterval(() => {
      if (client.isOpen) client.sendOutput(encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: 3, data: Buffer.from('tick') }));
    }, 20);
    await client.closed();
    clearInterval(traffic);
    expect(channelClosedOutput(client)).toBe(MAX_DURATION_OUTPUT);
    expect(fixture.emulator.session(sessionId).record.state).toBe('timed-out');
  });

  it('ends a session on request as timed out or terminated, with the reason as Output', async () => {
    const first = await fixture.open();
    await first.client.handshake();
    expect(fixture.emulator.session(first.session.sessionId).end('timed-out', 'Test says time is up.')).toBe(true);
    await first.client.closed();
    expect(channelClosedOutput(first.client)).toBe('Test says time is up.');
    expect(fixture.emulator.session(first.session.sessionId).end('terminated')).toBe(false);

    const second = await fixture.open();
    await second.client.handshake();
    fixture.emulator.session(second.session.sessionId).end('terminated');
    await second.client.closed();
    expect(fixture.emulator.session(second.session.sessionId).record.state).toBe('terminated');
    expect(await resumeSession(fixture.emulator, second.session.sessionId)).toBeUndefined();
  });

  it('fails the session when no HandshakeResponse comes in time', async () => {
    fixture.emulator.setKnobs({ handshakeTimeoutMs: 150 });
    const { client, session: { sessionId } } = await fixture.open();
    await client.closed();
    expect(channelClosedOutput(client)).toBe(HANDSHAKE_TIMEOUT_OUTPUT);
    expect(fixture.emulator.session(sessionId).record.state).toBe('failed');
  });

  it('fails the session when the client reports a failed SessionType action', async () => {
    const { client, session: { sessionId } } = await fixture.open();
    await client.waitForDelivered((m) => m.payloadType === PayloadType.HandshakeRequest, 'HandshakeRequest');
    client.send(
      PayloadType.HandshakeResponse,
      encodeHandshakeResponse({
        clientVersion: '1.2.677.0',
        processedClientActions: [{ actionType: 'SessionType', actionStatus: 2, actionResult: null, error: 'Unknown session type Port' }],
        errors: ['Unknown session type Port'],
      }),
    );
    await client.closed();
    expect(channelClosedOutput(client)).toBe('Handshake failed: the client did not process action SessionType (status 2: Unknown session type Port)');
    expect(fixture.emulator.session(sessionId).record.state).toBe('failed');
  });

  it('stops acknowledging client data while the destination does not read, and catches up when it does', async () => {
    const received = createHash('sha256');
    let receivedBytes = 0;
    let destinationSocket: Socket | undefined;
    const server: Server = createServer((socket) => {
      destinationSocket = socket;
      socket.pause();
      socket.on('data', (chunk: Buffer) => {
        received.update(chunk);
        receivedBytes += chunk.length;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { client } = await fixture.open({ port: (server.address() as AddressInfo).port, clientVersion: '1.1.61.0' });
      await client.handshake();
      // More than the kernel buffers of both sockets can hold, so the destination really stalls.
      const data = randomBytes(16 * 1024 * 1024);
      client.sendOutput(Buffer.from(data.subarray(0, 1024)));
      await client.until(() => destinationSocket !== undefined, 'basic-mode dial');
      client.sendOutput(data.subarray(1024));
      const messages = Math.ceil(data.length / 1024) + 1;
      // Some messages stay unacknowledged while the destination is not reading (the agent is not ready).
      await client.until(() => client.acked.size > 100, 'first acks');
      expect(client.acked.size).toBeLessThan(messages);
      destinationSocket!.resume();
      await client.until(() => receivedBytes === data.length, 'all bytes at the destination', 30_000);
      expect(received.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      await client.until(() => client.acked.size === messages, 'every message acknowledged');
    } finally {
      destinationSocket?.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stops reading the destination while the client acknowledges nothing (the window is full)', async () => {
    let written = 0;
    let finished = false;
    let destinationSocket: Socket | undefined;
    const server: Server = createServer((socket) => {
      destinationSocket = socket;
      const chunk = randomBytes(64 * 1024);
      const pump = (): void => {
        while (written < 16 * 1024 * 1024) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        finished = true;
      };
      socket.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: (server.address() as AddressInfo).port });
      const client = await fixture.connect(session, { clientVersion: '1.1.61.0', ack: (m) => m.payloadType !== PayloadType.Output });
      await client.handshake();
      client.send(PayloadType.Output, Buffer.from('start'));
      const outputs = (): number => new Set(client.received.filter((m) => m.payloadType === PayloadType.Output).map((m) => m.sequenceNumber)).size;
      await client.until(() => outputs() >= 1000, `a window of output (${outputs()})`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The channel window (1024 messages) bounds what the agent sends unacknowledged; the rest waits in the destination.
      expect(outputs()).toBeLessThanOrEqual(1024);
      expect(finished).toBe(false);
    } finally {
      destinationSocket?.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
