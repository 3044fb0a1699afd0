import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PayloadType } from '../../src/protocol/index.js';
import { SmuxSession } from '../../src/forward/smux-session.js';
import type { SmuxStream } from '../../src/forward/smux-stream.js';
import { capturedMessages, type Direction, type TranscriptName } from '../helpers/vectors.js';

/*
 * Replays the smux bytes of the official client's transcripts (test/fixtures/): our client role must
 * emit what session-manager-plugin 1.2.677.0 emitted, and our server role what the recorded agent did.
 */

/** Output payloads (smux bytes) in one direction, in sequence order, without retransmissions. */
function smuxPayloads(name: TranscriptName, dir: Direction): Buffer[] {
  const bySequence = new Map<number, Buffer>();
  for (const message of capturedMessages(name)) {
    if (message.dir !== dir || message.decoded.payloadType !== PayloadType.Output) continue;
    if (!message.decoded.messageType.trim().endsWith('_stream_data')) continue;
    bySequence.set(message.decoded.sequenceNumber, message.payload);
  }
  return [...bySequence.entries()].sort(([a], [b]) => a - b).map(([, payload]) => payload);
}

function recordingSession(role: 'client' | 'server'): { session: SmuxSession; out: Buffer[] } {
  const out: Buffer[] = [];
  const session = new SmuxSession({
    role,
    keepAlive: false,
    output: (bytes) => {
      out.push(bytes);
      return true;
    },
  });
  return { session, out };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('mux-session transcript (two echo connections on streams 3 and 5)', () => {
  it('our client emits the official client bytes, given the recorded agent replies', async () => {
    const fromAgent = smuxPayloads('mux-session', 'service->client');
    const { session, out } = recordingSession('client');
    for (const [index, line] of ['hello 1\n', 'hello 2\n'].entries()) {
      const stream = session.openStream();
      const echoed: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => echoed.push(chunk));
      stream.write(line);
      session.receive(fromAgent[2 * index]!);
      await nextTurn();
      expect(Buffer.concat(echoed).toString()).toBe(line);
      const closed = once(stream, 'close');
      stream.end();
      await closed;
      session.receive(fromAgent[2 * index + 1]!);
    }
    expect(Buffer.concat(out)).toEqual(Buffer.concat(smuxPayloads('mux-session', 'client->service')));
  });

  it('our server, echoing, emits the recorded agent bytes, given the official client bytes', async () => {
    const { session, out } = recordingSession('server');
    session.on('stream', (stream: SmuxStream) => {
      stream.on('data', (chunk: Buffer) => stream.write(chunk));
      stream.on('end', () => stream.end());
    });
    for (const payload of smuxPayloads('mux-session', 'client->service')) {
      session.receive(payload);
      await nextTurn();
    }
    expect(Buffer.concat(out)).toEqual(Buffer.concat(smuxPayloads('mux-session', 'service->client')));
  });
});

describe('refused transcript (agent FINs stream 3 after ConnectToPortError)', () => {
  it('our client answers the agent FIN with its own, as the official client did', async () => {
    const { session, out } = recordingSession('client');
    const stream = session.openStream();
    for (const payload of smuxPayloads('refused', 'service->client')) session.receive(payload);
    stream.resume();
    await once(stream, 'end');
    expect(Buffer.concat(out)).toEqual(Buffer.concat(smuxPayloads('refused', 'client->service')));
  });

  it('our server, destroying the refused stream, emits the recorded FIN and ignores the client FIN', () => {
    const { session, out } = recordingSession('server');
    session.on('stream', (stream: SmuxStream) => stream.destroy());
    for (const payload of smuxPayloads('refused', 'client->service')) session.receive(payload);
    expect(Buffer.concat(out)).toEqual(Buffer.concat(smuxPayloads('refused', 'service->client')));
  });
});
