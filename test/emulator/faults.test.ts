import { randomBytes } from 'node:crypto';
import { ResumeSessionCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/emulator/faults.js';
import { MessageType, SmuxCommand } from '../../src/protocol/index.js';
import { pshFrames, smuxFrame, useEmulatorFixture } from '../helpers/emulator-fixture.js';
import { keepResuming, resumeSession, ssmClientFor, type StartedSession, type WireClient } from '../helpers/emulator-wire-client.js';

describe('emulator faults', () => {
  const fixture = useEmulatorFixture();

  /** Sends `data` on a new stream and waits for its echo, resuming through socket drops. */
  async function echoThrough(client: WireClient, session: StartedSession, streamId: number, data: Buffer): Promise<void> {
    const resuming = keepResuming(fixture.emulator, client, session);
    try {
      client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, streamId), pshFrames(streamId, data)]));
      await client.until(() => client.streamData(streamId).length >= data.length, `echo of ${data.length} bytes on stream ${streamId}`, 30_000);
      expect(client.streamData(streamId).equals(data)).toBe(true);
    } finally {
      resuming.stop();
    }
  }

  it('drops the socket after the client sent N messages, once, like resume.jsonl', async () => {
    const { client, session } = await fixture.open({ faults: { closeAfter: { messages: 3, direction: 'fromClient' } } });
    await client.handshake();
    await client.closed();
    const token = await resumeSession(fixture.emulator, session.sessionId);
    await client.resume(session.streamUrl, token!);
    await echoThrough(client, session, 3, Buffer.from('hello 1\n'));
    const record = fixture.emulator.session(session.sessionId).record;
    expect(record.webSockets.map((w) => w.closedBy ?? 'open')).toEqual(['fault: close after 3 messages', 'open']);
    expect(record.webSockets[0]!.framesFromClient).toBe(3);
  });

  it('drops every socket after N bytes to the client when repeating, and the data still arrives whole', async () => {
    // The limit must exceed what a resume retransmits at once (up to the 1024-message window, about
    // 1.2 MB), or no socket lives long enough to carry an acknowledgement back.
    const { client, session } = await fixture.open({ faults: { closeAfter: { bytes: 1_500_000, direction: 'toClient', repeat: true } } });
    await client.handshake();
    await echoThrough(client, session, 3, randomBytes(3_000_000));
    const drops = fixture.emulator.session(session.sessionId).record.faults.filter((f) => f.fault === 'close after 1500000 bytes');
    expect(drops.length).toBeGreaterThanOrEqual(2);
  });

  it('drops each socket a fixed time after it opened', async () => {
    const { client, session } = await fixture.open({ faults: { closeEveryMs: 100 } });
    await client.handshake();
    const resuming = keepResuming(fixture.emulator, client, session);
    try {
      await client.until(() => fixture.emulator.session(session.sessionId).record.webSockets.length >= 3, 'three sockets');
    } finally {
      resuming.stop();
    }
    expect(fixture.emulator.session(session.sessionId).record.webSockets[0]!.closedBy).toBe('fault: close every 100 ms');
  });

  it('loses, duplicates, reorders and delays messages both ways without corrupting the stream', async () => {
    const share = { fromClient: 0.1, toClient: 0.1 };
    const { client, session } = await fixture.open({ faults: { seed: 7, drop: share, duplicate: share, reorder: share, delay: share, delayMs: 20 } });
    await client.handshake();
    await echoThrough(client, session, 3, randomBytes(200_000));
    const kinds = new Set(fixture.emulator.session(session.sessionId).record.faults.map((f) => f.fault));
    for (const kind of ['drop', 'duplicate', 'reorder', 'delay']) {
      expect(kinds).toContain(`${kind} fromClient`);
      expect(kinds).toContain(`${kind} toClient`);
    }
  });

  it('draws fault decisions from a seeded generator', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('refuses a destination with ECONNREFUSED while the fault is set, fixture.emulator-wide', async () => {
    const { client, session } = await fixture.open();
    await client.handshake();
    fixture.emulator.setFaults({ refuseDestinations: [`127.0.0.1:${fixture.echo.port}`] });
    client.sendOutput(smuxFrame(SmuxCommand.SYN, 3));
    await client.until(() => client.smuxFrames().some((f) => f.cmd === SmuxCommand.FIN && f.streamId === 3), 'FIN for the refused stream');
    expect(client.delivered.some((m) => m.payloadType === 10 && m.payload.readUInt32BE(0) === 3)).toBe(true);
    fixture.emulator.setFaults({});
    await echoThrough(client, session, 5, Buffer.from('after the fault'));
    const record = fixture.emulator.session(session.sessionId).record;
    expect(record.faults.map((f) => f.fault)).toContain(`refuse 127.0.0.1:${fixture.echo.port}`);
    expect(record.connections.map((c) => [c.id, c.error])).toEqual([
      [3, `dial tcp 127.0.0.1:${fixture.echo.port}: connect: connection refused`],
      [5, undefined],
    ]);
  });

  it('sends pause_publication and start_publication, holding agent output in between', async () => {
    const { client, session } = await fixture.open();
    await client.handshake();
    const controls = fixture.emulator.session(session.sessionId);
    controls.pausePublication();
    await client.waitForReceived((m) => m.messageType === MessageType.PausePublication, 'pause_publication');
    client.sendOutput(Buffer.concat([smuxFrame(SmuxCommand.SYN, 3), pshFrames(3, Buffer.from('held'))]));
    await client.until(() => controls.record.connections[0]?.bytesFromDestination === 4, 'the echo back at the agent');
    expect(client.streamData(3).length).toBe(0);
    controls.startPublication();
    await client.waitForReceived((m) => m.messageType === MessageType.StartPublication, 'start_publication');
    await client.until(() => client.streamData(3).toString() === 'held', 'the held echo');
  });

  it('rejects the next K ResumeSession calls', async () => {
    const { session } = await fixture.open();
    fixture.emulator.rejectNextResumeSessions(2);
    const ssm = ssmClientFor(fixture.emulator);
    try {
      for (let i = 0; i < 2; i++) {
        await expect(ssm.send(new ResumeSessionCommand({ SessionId: session.sessionId }))).rejects.toMatchObject({ name: 'InternalServerError' });
      }
      const resumed = await ssm.send(new ResumeSessionCommand({ SessionId: session.sessionId }));
      expect(resumed.TokenValue).toBeDefined();
    } finally {
      ssm.destroy();
    }
  });

  it('sends a malformed frame on request', async () => {
    const { client, session } = await fixture.open();
    await client.handshake();
    for (const kind of ['bad-digest', 'truncated', 'bad-payload-length', 'garbage'] as const) fixture.emulator.session(session.sessionId).sendMalformedFrame(kind);
    await client.until(() => client.undecodable.length === 4, 'four undecodable frames');
    expect(fixture.emulator.session(session.sessionId).record.faults.map((f) => f.fault)).toEqual([
      'malformed frame (bad-digest)',
      'malformed frame (truncated)',
      'malformed frame (bad-payload-length)',
      'malformed frame (garbage)',
    ]);
  });

  it('applies faults configured for a target', async () => {
    await fixture.restartEmulator({ faults: { closeAfter: { messages: 1, direction: 'toClient' } } });
    const { client, session } = await fixture.open();
    await client.closed();
    expect(fixture.emulator.session(session.sessionId).record.webSockets[0]!.closedBy).toBe('fault: close after 1 messages');
  });

  it('rejects fault settings that cannot work, naming the field', () => {
    expect(() => fixture.emulator.setFaults({ drop: { toClient: 1.5 } })).toThrow('drop.toClient must be a share between 0 and 1, got 1.5');
    expect(() => fixture.emulator.setFaults({ closeEveryMs: 0 })).toThrow('closeEveryMs must be positive, got 0');
  });
});
