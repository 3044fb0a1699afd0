import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type FaultSettings } from '../../src/emulator/index.js';
import { MessageType, PayloadType } from '../../src/protocol/index.js';
import { closedPort, echoServer, type Destination } from '../helpers/destinations.js';
import { keepResuming, startSession, WireClient } from '../helpers/emulator-wire-client.js';
import { capturedMessages, type CapturedMessage, type TranscriptName } from '../helpers/vectors.js';

/*
 * Replays the official client's side of each golden transcript against the emulator and checks
 * that the emulator answers as the transcript's service side did: the same agent stream messages
 * (sequence numbers, header flags, payload types, payloads), every client message acknowledged,
 * then channel_closed and a 1000 close frame.
 */

const TARGET = 'i-0123456789abcdef0';

interface Scenario {
  name: TranscriptName;
  agentVersion: string;
  destination: 'echo' | 'closed';
  faults?: FaultSettings;
}

const SCENARIOS: Scenario[] = [
  { name: 'mux-session', agentVersion: '3.3.1142.0', destination: 'echo' },
  { name: 'basic-session', agentVersion: '3.0.0.0', destination: 'echo' },
  { name: 'refused', agentVersion: '3.3.1142.0', destination: 'closed' },
  // The recording's service cut the socket after the client's third message (its ack of HandshakeComplete).
  { name: 'resume', agentVersion: '3.3.1142.0', destination: 'echo', faults: { closeAfter: { messages: 3, direction: 'fromClient' } } },
];

/** The client's stream messages, and how many agent stream messages the transcript shows before each. */
function script(messages: CapturedMessage[]): { input: CapturedMessage; outputsBefore: number }[] {
  const seen = new Set<number>();
  const steps: { input: CapturedMessage; outputsBefore: number }[] = [];
  for (const message of messages) {
    if (message.decoded.messageType === MessageType.OutputStreamData) seen.add(message.decoded.sequenceNumber);
    if (message.dir === 'client->service' && message.decoded.messageType === MessageType.InputStreamData) {
      steps.push({ input: message, outputsBefore: seen.size });
    }
  }
  return steps;
}

describe('emulated agent against the golden transcripts', () => {
  let emulator: Emulator | undefined;
  let destination: Destination | undefined;
  let client: WireClient | undefined;

  afterEach(async () => {
    client?.close();
    await emulator?.close();
    await destination?.close();
  });

  for (const scenario of SCENARIOS) {
    it(`answers the official client as in ${scenario.name}.jsonl`, async () => {
      emulator = await startEmulator({
        targets: { [TARGET]: {} },
        pacing: false,
        agentVersion: scenario.agentVersion,
        ...(scenario.faults === undefined ? {} : { faults: scenario.faults }),
      });
      destination = scenario.destination === 'echo' ? await echoServer() : undefined;
      const port = destination?.port ?? (await closedPort());
      const session = await startSession(emulator, { target: TARGET, portNumber: port });
      const messages = capturedMessages(scenario.name);
      client = await WireClient.open(session, { pingFirst: true });
      const open = client;
      const resuming = keepResuming(emulator, open, session);

      for (const { input, outputsBefore } of script(messages)) {
        await open.until(() => open.delivered.length >= outputsBefore, `${outputsBefore} agent messages before client seq ${input.decoded.sequenceNumber}`);
        open.send(input.decoded.payloadType, input.payload);
      }
      await open.until(() => open.received.some((m) => m.messageType === MessageType.ChannelClosed), 'channel_closed');
      await open.closed();
      resuming.stop();

      const expected = messages.filter((m) => m.dir === 'service->client' && m.decoded.messageType === MessageType.OutputStreamData);
      expect(open.delivered.map((m) => [m.sequenceNumber, m.flags, m.payloadType])).toEqual(
        expected.map((m) => [m.decoded.sequenceNumber, m.decoded.flags, m.decoded.payloadType]),
      );
      for (const [index, message] of open.delivered.entries()) {
        const want = expected[index]!;
        if (message.payloadType === PayloadType.HandshakeRequest) {
          const request = JSON.parse(want.payload.toString()) as { RequestedClientActions: { ActionParameters: { Properties: Record<string, string> } }[] };
          request.RequestedClientActions[0]!.ActionParameters.Properties.portNumber = String(port);
          expect(JSON.parse(message.payload.toString())).toEqual(request);
        } else if (message.payloadType === PayloadType.HandshakeComplete) {
          expect(Object.keys(JSON.parse(message.payload.toString()) as object)).toEqual(Object.keys(JSON.parse(want.payload.toString()) as object));
        } else {
          expect(message.payload.toString('hex')).toBe(want.payload.toString('hex'));
        }
      }

      const inputs = script(messages).map((step) => step.input.decoded.sequenceNumber);
      expect(inputs.filter((sequence) => !open.acked.has(sequence))).toEqual([]);
      const closed = open.received.find((m) => m.messageType === MessageType.ChannelClosed)!;
      const wantClosed = messages.find((m) => m.decoded.messageType === MessageType.ChannelClosed)!;
      expect(closed).toMatchObject({ sequenceNumber: 0, flags: 0, payloadType: 0 });
      const body = JSON.parse(closed.payload.toString()) as Record<string, unknown>;
      const wantBody = JSON.parse(wantClosed.payload.toString()) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(Object.keys(wantBody));
      expect(body).toMatchObject({ SessionId: session.sessionId, MessageType: 'channel_closed', SchemaVersion: 1, Output: wantBody.Output });
      expect(open.closeCode).toBe(1000);
      expect(open.closeReason).toBe('channel closed');
      const sockets = new Set(messages.map((m) => m.conn)).size;
      expect(emulator.session(session.sessionId).record.webSockets).toHaveLength(sockets);
    });
  }
});
