import { describe, expect, it } from 'vitest';
import {
  ActionStatus,
  decodeAcknowledgement,
  decodeChannelClosed,
  decodeClientMessage,
  decodeFlag,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  decodeSessionTypeParameters,
  encodeClientMessage,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  flagName,
  MessageType,
  PayloadType,
  sha256,
  SmuxFrameParser,
} from '../../src/protocol/index.js';
import type { MessageType as MessageTypeName } from '../../src/protocol/index.js';
import { capturedMessages, openDataChannelTexts, TRANSCRIPT_NAMES } from '../helpers/vectors.js';
import type { CapturedMessage, Direction, TranscriptName } from '../helpers/vectors.js';

/*
 * The golden transcripts of the official client 1.2.677.0 (test/fixtures/README.md). The
 * client->service direction is the real client, so it is also the byte-exact target for encoding.
 */

const all = TRANSCRIPT_NAMES.flatMap((name) => capturedMessages(name));
const ofPayloadType = (type: number): CapturedMessage[] =>
  all.filter((m) => m.decoded.payloadType === type && m.decoded.messageType !== MessageType.Acknowledge && m.decoded.messageType !== MessageType.ChannelClosed);
const label = (m: CapturedMessage): string => `${m.transcript} ${m.dir} ${m.decoded.messageType} seq ${m.decoded.sequenceNumber} ${m.decoded.messageId}`;

describe('transcript inventory', () => {
  it('holds the 86 ClientMessages and 41 acknowledgements the README counts', () => {
    expect(all).toHaveLength(86);
    expect(TRANSCRIPT_NAMES.map((name) => capturedMessages(name).length)).toEqual([21, 29, 17, 19]);
    expect(all.filter((m) => m.decoded.messageType === MessageType.Acknowledge)).toHaveLength(41);
  });
});

describe('decodeClientMessage on every captured frame', () => {
  it.each(all.map((m) => [label(m), m] as const))('%s', (_label, m) => {
    const decoded = decodeClientMessage(m.frame);
    const expected = m.decoded;
    expect(m.frame.readUInt32BE(0)).toBe(expected.headerLength);
    expect(decoded).toMatchObject({
      messageType: expected.messageType,
      schemaVersion: expected.schemaVersion,
      createdDate: expected.createdDate,
      sequenceNumber: expected.sequenceNumber,
      flags: expected.flags,
      messageId: expected.messageId,
      payloadType: expected.payloadType,
    });
    expect(decoded.payload.toString('hex')).toBe(m.payload.toString('hex'));
    expect(decoded.payload.length).toBe(expected.payloadLength);
    expect(decoded.payloadDigest.toString('hex')).toBe(expected.payloadDigest);
    expect(sha256(decoded.payload).equals(decoded.payloadDigest)).toBe(expected.digestOk);
  });
});

describe('client->service frames re-encode byte for byte', () => {
  const clientFrames = all.filter((m) => m.dir === 'client->service');

  it('covers every client message', () => {
    expect(clientFrames).toHaveLength(41);
  });

  it.each(clientFrames.map((m) => [label(m), m] as const))('%s', (_label, m) => {
    const d = m.decoded;
    const frame = encodeClientMessage({
      messageType: d.messageType as MessageTypeName,
      schemaVersion: d.schemaVersion,
      createdDate: d.createdDate,
      sequenceNumber: d.sequenceNumber,
      flags: d.flags,
      messageId: d.messageId,
      payloadType: d.payloadType,
      payload: m.payload,
    });
    expect(frame.toString('hex')).toBe(m.frame.toString('hex'));
  });
});

describe('acknowledgements name the message they acknowledge (docs/protocol.md §5.2)', () => {
  const opposite = (dir: Direction): Direction => (dir === 'client->service' ? 'service->client' : 'client->service');
  const acks = all.filter((m) => m.decoded.messageType === MessageType.Acknowledge);

  it.each(acks.map((m) => [label(m), m] as const))('%s', (_label, m) => {
    const ack = decodeAcknowledgement(decodeClientMessage(m.frame).payload);
    const acknowledged = capturedMessages(m.transcript).filter(
      (other) => other.dir === opposite(m.dir) && other.decoded.messageId === ack.acknowledgedMessageId,
    );
    expect(acknowledged).toHaveLength(1);
    expect(ack).toEqual({
      acknowledgedMessageType: acknowledged[0]!.decoded.messageType,
      acknowledgedMessageId: acknowledged[0]!.decoded.messageId,
      acknowledgedMessageSequenceNumber: acknowledged[0]!.decoded.sequenceNumber,
      isSequentialMessage: true,
    });
    // Acks carry SequenceNumber 0, Flags 3 and PayloadType 0 both ways (README fact 2).
    expect(m.decoded).toMatchObject({ sequenceNumber: 0, flags: 3, payloadType: 0 });
  });
});

describe('handshake, channel_closed and flag payloads decode', () => {
  it('HandshakeRequest: one SessionType action for a LocalPortForwarding port session', () => {
    const requests = ofPayloadType(PayloadType.HandshakeRequest);
    expect(requests).toHaveLength(4);
    for (const m of requests) {
      const request = decodeHandshakeRequest(m.payload);
      expect(request.agentVersion).toBe(m.transcript === 'basic-session' ? '3.0.0.0' : '3.3.1142.0');
      expect(request.requestedClientActions).toHaveLength(1);
      expect(request.requestedClientActions[0]!.actionType).toBe('SessionType');
      const parameters = decodeSessionTypeParameters(request.requestedClientActions[0]!.actionParameters);
      expect(parameters.sessionType).toBe('Port');
      expect(parameters.properties).toMatchObject({ type: 'LocalPortForwarding', localPortNumber: '0' });
      expect(parameters.properties.portNumber).toMatch(/^\d+$/);
    }
  });

  it('HandshakeResponse: the official client reports 1.2.677.0 and Success', () => {
    const responses = ofPayloadType(PayloadType.HandshakeResponse);
    expect(responses).toHaveLength(4);
    for (const m of responses) {
      expect(decodeHandshakeResponse(m.payload)).toEqual({
        clientVersion: '1.2.677.0',
        processedClientActions: [{ actionType: 'SessionType', actionStatus: ActionStatus.Success, actionResult: null, error: '' }],
        errors: [],
      });
    }
  });

  it('HandshakeResponse: our encoder produces the captured payload bytes', () => {
    const ours = encodeHandshakeResponse({
      clientVersion: '1.2.677.0',
      processedClientActions: [{ actionType: 'SessionType', actionStatus: ActionStatus.Success, actionResult: null, error: '' }],
      errors: [],
    });
    for (const m of ofPayloadType(PayloadType.HandshakeResponse)) {
      expect(ours.toString('hex')).toBe(m.payload.toString('hex'));
    }
  });

  it('HandshakeComplete: nanoseconds and an empty customer message', () => {
    const completes = ofPayloadType(PayloadType.HandshakeComplete);
    expect(completes).toHaveLength(4);
    for (const m of completes) {
      const complete = decodeHandshakeComplete(m.payload);
      expect(complete.customerMessage).toBe('');
      expect(Number.isInteger(complete.handshakeTimeToComplete)).toBe(true);
      expect(complete.handshakeTimeToComplete).toBeGreaterThan(0);
    }
  });

  it('channel_closed: seq 0, Flags 0, PayloadType 0, a JSON body naming the session', () => {
    const closed = all.filter((m) => m.decoded.messageType === MessageType.ChannelClosed);
    expect(closed).toHaveLength(4);
    for (const m of closed) {
      expect(m.decoded).toMatchObject({ sequenceNumber: 0, flags: 0, payloadType: 0 });
      const body = decodeChannelClosed(m.payload);
      expect(body.messageType).toBe('channel_closed');
      expect(body.sessionId).not.toBe('');
      expect(body.schemaVersion).toBe(1);
    }
  });

  it('Flag: every flag message matches the annotation', () => {
    const flags = ofPayloadType(PayloadType.Flag);
    expect(flags).toHaveLength(7);
    for (const m of flags) {
      const value = decodeFlag(m.payload);
      expect({ value, name: flagName(value) }).toEqual(m.decoded.flag);
    }
    const seen = flags.map((m) => `${m.transcript}:${m.decoded.flag!.name}`);
    expect(seen).toContain('basic-session:DisconnectToPort');
    expect(seen).toContain('refused:ConnectToPortError');
    expect(seen.filter((s) => s.endsWith(':TerminateSession'))).toHaveLength(4);
  });
});

describe('OpenDataChannel text frames (docs/protocol.md §4.1)', () => {
  const texts = TRANSCRIPT_NAMES.flatMap((name) => openDataChannelTexts(name).map((text) => [name, text] as const));

  it('are one per WebSocket (two in resume)', () => {
    expect(texts.map(([name]) => name)).toEqual(['basic-session', 'mux-session', 'refused', 'resume', 'resume']);
  });

  it.each(texts)('%s: decodes and re-encodes identically', (_name, text) => {
    const open = decodeOpenDataChannel(text);
    expect(open.messageSchemaVersion).toBe('1.0');
    expect(open.clientVersion).toBe('1.2.677.0');
    expect(encodeOpenDataChannel(open)).toBe(text);
  });
});

describe('smux frames in mux-mode transcripts match the annotations', () => {
  const muxTranscripts: TranscriptName[] = ['mux-session', 'resume', 'refused'];
  const directions: Direction[] = ['client->service', 'service->client'];

  it.each(muxTranscripts.flatMap((name) => directions.map((dir) => [name, dir] as const)))('%s %s', (name, dir) => {
    // One parser per direction: smux is one byte stream over the Output messages in sequence order,
    // and it survives a resume (same session, sequence numbers carry on).
    const outputs = capturedMessages(name)
      .filter((m) => m.dir === dir && m.decoded.payloadType === PayloadType.Output && m.decoded.messageType !== MessageType.Acknowledge)
      .sort((a, b) => a.decoded.sequenceNumber - b.decoded.sequenceNumber);
    expect(outputs.length).toBeGreaterThan(0);
    const parser = new SmuxFrameParser();
    for (const m of outputs) {
      const annotation = m.decoded.smux;
      expect(annotation, label(m)).toBeDefined();
      const frames = parser.push(m.payload);
      expect(
        frames.map((f) => ({ ver: 1, cmd: f.cmd, len: f.data.length, sid: f.streamId, data_hex: f.data.toString('hex') })),
        label(m),
      ).toEqual(annotation!.map(({ ver, cmd, len, sid, data_hex }) => ({ ver, cmd, len, sid, data_hex })));
    }
    expect(parser.pendingBytes).toBe(0);
  });

  it('basic-mode data carries no smux annotation', () => {
    for (const m of capturedMessages('basic-session')) expect(m.decoded.smux).toBeUndefined();
  });
});
