import { describe, expect, it } from 'vitest';
import { encodeSmuxFrame, MessageType, PayloadType, SmuxCommand } from '../../src/protocol/index.js';
import { FIXTURE_TARGET, useEmulatorFixture } from '../helpers/emulator-fixture.js';
import { resumeSession, startSession } from '../helpers/emulator-wire-client.js';
import { messageFrame } from '../helpers/wire-frames.js';

function validFrame(payload: Buffer): Buffer {
  return messageFrame({ messageType: MessageType.InputStreamData, sequenceNumber: 0, flags: 0, payloadType: PayloadType.Output, payload });
}

const hugePayloadLength = (): Buffer => {
  const frame = validFrame(Buffer.from('abc'));
  frame.writeUInt32BE(0xffff_ffff, 116);
  return frame;
};

const malformedAck = (): Buffer =>
  messageFrame({ messageType: MessageType.Acknowledge, sequenceNumber: 0, flags: 3, payloadType: 0, payload: Buffer.from('{not json') });

describe('emulated agent: malformed input from a client', () => {
  const fixture = useEmulatorFixture();

  /** A fresh session completes a handshake and an echo: the fixture.emulator is still serving. */
  async function expectServing(): Promise<void> {
    const { client } = await fixture.open();
    await client.handshake();
    client.sendOutput(
      Buffer.concat([
        encodeSmuxFrame({ cmd: SmuxCommand.SYN, streamId: 3, data: Buffer.alloc(0) }),
        encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: 3, data: Buffer.from('still here') }),
      ]),
    );
    await client.until(() => client.outputBytes().includes('still here'), 'echo on a fresh session');
  }

  const cases: [string, () => Buffer | string, RegExp][] = [
    ['garbage bytes', () => Buffer.from('this is not a data channel message'), /shorter than the 120-byte header/],
    ['a huge PayloadLength', hugePayloadLength, /PayloadLength 4294967295 disagrees/],
    ['a bad digest', () => {
      const frame = validFrame(Buffer.from('abc'));
      frame[90] = frame[90]! ^ 0xff;
      return frame;
    }, /PayloadDigest/],
    ['a text frame', () => '{"MessageSchemaVersion":"1.0"}', /shorter than the 120-byte header/],
    ['a malformed acknowledgement', malformedAck, /Acknowledgement is not valid JSON/],
  ];

  for (const [what, frame, error] of cases) {
    it(`closes the socket on ${what}, keeps the session resumable and serves others`, async () => {
      const { client, session } = await fixture.open();
      await client.handshake();
      client.sendRaw(frame());
      await client.closed();
      expect(client.closeCode).toBe(1008);
      const record = fixture.emulator.session(session.sessionId).record;
      expect(record.protocolErrors).toHaveLength(1);
      expect(record.protocolErrors[0]).toMatch(error);
      expect(record.webSockets[0]!.closedBy).toMatch(/^protocol error: /);
      expect(await resumeSession(fixture.emulator, session.sessionId)).toBeDefined();
      await expectServing();
    });
  }

  it('refuses a wrong token and keeps serving', async () => {
    const session = await startSession(fixture.emulator, { target: FIXTURE_TARGET, portNumber: fixture.echo.port });
    const client = await fixture.connect({ ...session, tokenValue: 'not-the-token' });
    await client.closed();
    expect(client.closeCode).toBe(1008);
    expect(fixture.emulator.record.channelRefusals.map((r) => r.reason)).toEqual([`token is not an unused token of session ${session.sessionId}`]);
    await expectServing();
  });

  it('survives a client that closes right after the TerminateSession flag, as the official one does', async () => {
    const { client, session } = await fixture.open();
    await client.handshake();
    client.sendFlag(2);
    client.close();
    await client.until(() => fixture.emulator.session(session.sessionId).record.state === 'terminated', 'the session terminated');
    await expectServing();
  });

  it('keeps other sessions flowing while one client sends garbage', async () => {
    const healthy = await fixture.open();
    await healthy.client.handshake();
    healthy.client.sendOutput(encodeSmuxFrame({ cmd: SmuxCommand.SYN, streamId: 3, data: Buffer.alloc(0) }));
    const bad = await fixture.open();
    await bad.client.handshake();
    bad.client.sendRaw(Buffer.alloc(5000, 0xee));
    await bad.client.closed();
    healthy.client.sendOutput(encodeSmuxFrame({ cmd: SmuxCommand.PSH, streamId: 3, data: Buffer.from('unaffected') }));
    await healthy.client.until(() => healthy.client.outputBytes().includes('unaffected'), 'echo on the healthy session');
    expect(fixture.emulator.session(healthy.session.sessionId).record.protocolErrors).toEqual([]);
  });
});
