import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HANDSHAKE_TIMEOUT_OUTPUT,
  IDLE_TIMEOUT_OUTPUT,
  MAX_DURATION_OUTPUT,
  startEmulator,
  type Emulator,
} from '../../src/emulator/index.js';
import { decodeChannelClosed, encodeHandshakeResponse, encodeSmuxFrame, MessageType, PayloadType, SmuxCommand } from '../../src/protocol/index.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { resumeSession, startSession, WireClient, type WireClientOptions } from '../helpers/emulator-wire-client.js';

const TARGET = 'i-0123456789abcdef0';

function channelClosedOutput(client: WireClient): string | undefined {
  const closed = client.received.find((m) => m.messageType === MessageType.ChannelClosed);
  return closed === undefined ? undefined : decodeChannelClosed(closed.payload).output;
}

describe('emulated agent: limits, handshake failures, backpressure', () => {
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

  async function open(port = echo.port, options: WireClientOptions = {}): Promise<{ client: WireClient; sessionId: string }> {
    const session = await startSession(emulator, { target: TARGET, portNumber: port });
    const client = await WireClient.open(session, options);
    clients.push(client);
    return { client, sessionId: session.sessionId };
  }

  it('ends an idle session as timed out: channel_closed, and ResumeSession gives no token', async () => {
    emulator.setKnobs({ idleTimeoutMs: 200 });
    const { client, sessionId } = await open();
    await client.handshake();
    await client.closed();
    expect(channelClosedOutput(client)).toBe(IDLE_TIMEOUT_OUTPUT);
    const record = emulator.session(sessionId).record;
    expect(record.state).toBe('timed-out');
    expect(record.channelClosed[0]!.reason).toBe('no stream data for 200 ms');
    expect(await resumeSession(emulator, sessionId)).toBeUndefined();
  });

  it('ends a session at its maximum duration even while data flows', async () => {
    const { client, sessionId } = await open();
    emulator.session(sessionId).setKnobs({ maxSessionDurationMs: 300 });
    await client.handshake();
    client.sendOutput(encodeSmuxFrame({ cmd: SmuxCommand.SYN, streamId: 3, data: Buffer.alloc(0) }));
    const traffic = setInterval(() => {
      if (client.isOpen) client.sendOutput(encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: 3, data: Buffer.from('tick') }));
    }, 20);
    await client.closed();
    clearInterval(traffic);
    expect(channelClosedOutput(client)).toBe(MAX_DURATION_OUTPUT);
    expect(emulator.session(sessionId).record.state).toBe('timed-out');
  });

  it('ends a session on request as timed out or terminated, with the reason as Output', async () => {
    const first = await open();
    await first.client.handshake();
    expect(emulator.session(first.sessionId).end('timed-out', 'Test says time is up.')).toBe(true);
    await first.client.closed();
    expect(channelClosedOutput(first.client)).toBe('Test says time is up.');
    expect(emulator.session(first.sessionId).end('terminated')).toBe(false);

    const second = await open();
    await second.client.handshake();
    emulator.session(second.sessionId).end('terminated');
    await second.client.closed();
    expect(emulator.session(second.sessionId).record.state).toBe('terminated');
    expect(await resumeSession(emulator, second.sessionId)).toBeUndefined();
  });

  it('fails the session when no HandshakeResponse comes in time', async () => {
    emulator.setKnobs({ handshakeTimeoutMs: 150 });
    const { client, sessionId } = await open();
    await client.closed();
    expect(channelClosedOutput(client)).toBe(HANDSHAKE_TIMEOUT_OUTPUT);
    expect(emulator.session(sessionId).record.state).toBe('failed');
  });

  it('fails the session when the client reports a failed SessionType action', async () => {
    const { client, sessionId } = await open();
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
    expect(emulator.session(sessionId).record.state).toBe('failed');
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
      const { client } = await open((server.address() as AddressInfo).port, { clientVersion: '1.1.61.0' });
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
      const session = await startSession(emulator, { target: TARGET, portNumber: (server.address() as AddressInfo).port });
      const client = await WireClient.open(session, { clientVersion: '1.1.61.0', ack: (m) => m.payloadType !== PayloadType.Output });
      clients.push(client);
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
