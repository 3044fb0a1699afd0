import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { ErrorCode, openStream, type SsmStream, type StreamOptions } from '../../src/index.js';
import { answerAndCloseServer, echoServer, type Destination } from '../helpers/destinations.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0a1b2c3d4e5f60718';

/** Writes `payload` and reads until as many bytes came back. */
async function echoThrough(stream: SsmStream, payload: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= payload.length) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
  stream.write(payload);
  await done;
  return Buffer.concat(chunks);
}

describe('openStream', () => {
  let emulator: Emulator | undefined;
  let destination: Destination | undefined;
  let stream: SsmStream | undefined;

  afterEach(async () => {
    await stream?.close();
    await emulator?.close();
    await destination?.close();
    stream = emulator = destination = undefined;
  });

  async function setUp(server: Destination): Promise<Pick<StreamOptions, 'endpoint' | 'region' | 'credentials'>> {
    destination = server;
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    return { endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials };
  }

  function onlySession() {
    expect(emulator!.record.sessions).toHaveLength(1);
    return emulator!.record.sessions[0]!;
  }

  it('carries bytes byte-exact to a port on the target (AWS-StartSSHSession, basic mode) and terminates the session on end()', async () => {
    const aws = await setUp(await echoServer());
    stream = await openStream({ ...aws, target: TARGET, remotePort: destination!.port });
    expect(stream.mode).toBe('basic');
    const payload = randomBytes(1024 * 1024);
    expect((await echoThrough(stream, payload)).equals(payload)).toBe(true);
    stream.end();
    stream.resume();
    await once(stream, 'close');
    expect(onlySession()).toMatchObject({ documentName: 'AWS-StartSSHSession', state: 'terminated', mode: 'basic' });
  });

  it('reaches a host behind the target with remoteHost (the remote-host document, mux mode)', async () => {
    const aws = await setUp(await echoServer());
    stream = await openStream({ ...aws, target: TARGET, remoteHost: '127.0.0.1', remotePort: destination!.port });
    expect(stream.mode).toBe('mux');
    const payload = randomBytes(1024 * 1024);
    expect((await echoThrough(stream, payload)).equals(payload)).toBe(true);
    await stream.close();
    expect(onlySession()).toMatchObject({ documentName: 'AWS-StartPortForwardingSessionToRemoteHost', state: 'terminated' });
  });

  it('resumes a dropped WebSocket without losing or repeating a byte', async () => {
    const aws = await setUp(await echoServer());
    emulator!.setFaults({ closeAfter: { bytes: 256 * 1024, direction: 'fromClient' } });
    stream = await openStream({ ...aws, target: TARGET, remotePort: destination!.port });
    const payload = randomBytes(1024 * 1024);
    expect((await echoThrough(stream, payload)).equals(payload)).toBe(true);
    expect(onlySession().webSockets.length).toBeGreaterThanOrEqual(2);
  });

  it("ends after the destination's last bytes when the destination closes", async () => {
    const answer = Buffer.from('goodbye');
    const aws = await setUp(await answerAndCloseServer(answer));
    stream = await openStream({ ...aws, target: TARGET, remotePort: destination!.port });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.write('hello');
    await once(stream, 'close');
    expect(Buffer.concat(chunks).toString()).toBe('goodbye');
    await waitFor(() => onlySession().state === 'terminated', 'the session to end');
  });

  it('still delivers every byte the destination sent before closing when the reader was slow', async () => {
    const answer = randomBytes(512 * 1024);
    const aws = await setUp(await answerAndCloseServer(answer));
    stream = await openStream({ ...aws, target: TARGET, remotePort: destination!.port });
    stream.write('send it');
    // Nothing is read until the destination has closed and the agent has ended the session.
    await waitFor(() => onlySession().state !== 'connected', 'the agent to end the session');
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(stream, 'close');
    const received = Buffer.concat(chunks);
    expect(received.length).toBe(answer.length);
    expect(received.equals(answer)).toBe(true);
  });

  it('rejects with the service error and leaves nothing open when the target is not connected', async () => {
    const aws = await setUp(await echoServer());
    await expect(openStream({ ...aws, target: 'i-00000000000000000' })).rejects.toMatchObject({ name: 'TargetNotConnected' });
    expect(emulator!.record.sessions).toHaveLength(0);
  });

  it.each([
    ['a missing target', { target: '' }],
    ['port 0', { target: TARGET, remotePort: 0 }],
    ['a host with a space', { target: TARGET, remoteHost: 'db internal' }],
    ['an empty document name', { target: TARGET, document: '' }],
  ])('rejects %s with ERR_INVALID_OPTION before calling AWS', async (_case, options) => {
    const aws = await setUp(await echoServer());
    await expect(openStream({ ...aws, ...options })).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
    expect(emulator!.record.apiCalls).toHaveLength(0);
  });

  it('closes the stream with ERR_ABORTED and terminates the session when its signal fires', async () => {
    const aws = await setUp(await echoServer());
    const controller = new AbortController();
    stream = await openStream({ ...aws, target: TARGET, remotePort: destination!.port, signal: controller.signal });
    const failed = once(stream, 'error');
    controller.abort();
    const [error] = (await failed) as [Error & { code?: string }];
    expect(error.code).toBe(ErrorCode.ABORTED);
    await waitFor(() => onlySession().state === 'terminated', 'the session to be terminated');
  });
});
