import { once } from 'node:events';
import { Writable } from 'node:stream';
import {
  DescribeInstanceInformationCommand,
  ResumeSessionCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm';
import type { DescribeInstanceInformationCommandInput, SSMClientConfig, StartSessionCommandInput } from '@aws-sdk/client-ssm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ApiError } from '../../src/emulator/api-errors.js';
import type { DataChannelHandler } from '../../src/emulator/data-channel-gate.js';
import { EmulatorService } from '../../src/emulator/service-api.js';
import type { EmulatedSession } from '../../src/emulator/session-registry.js';
import { EMULATOR_CREDENTIALS, EMULATOR_SECRET_ACCESS_KEY } from '../../src/emulator/sigv4-verifier.js';
import type { OpenDataChannel } from '../../src/protocol/index.js';
import { encodeOpenDataChannel } from '../../src/protocol/index.js';

const WEB = 'i-0123456789abcdef0';
const LOST = 'i-0fedcba9876543210';
const MANAGED = 'mi-0123456789abcdef0';

/** The smallest agent: remembers what it was given and closes the channel when told to. */
class RecordingHandler implements DataChannelHandler {
  readonly attached: { session: EmulatedSession; open: OpenDataChannel; ws: WebSocket }[] = [];
  readonly terminated: { session: EmulatedSession; reason: string }[] = [];

  attach(session: EmulatedSession, ws: WebSocket, open: OpenDataChannel): void {
    this.attached.push({ session, open, ws });
  }

  terminate(session: EmulatedSession, reason: string): void {
    this.terminated.push({ session, reason });
    for (const channel of this.attached) if (channel.session.id === session.id) channel.ws.close(1000, 'session ended');
  }
}

interface Closed {
  code: number;
  reason: string;
}

/** Connects to a data channel URL, optionally pings, sends `first` and resolves the socket and how it closed. */
async function openChannel(url: string, first?: string | Buffer): Promise<{ ws: WebSocket; closed: Promise<Closed> }> {
  const ws = new WebSocket(url);
  const closed = new Promise<Closed>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await once(ws, 'open');
  ws.ping('keepalive');
  if (first !== undefined) ws.send(first);
  return { ws, closed };
}

function openFrame(tokenValue: string): string {
  return encodeOpenDataChannel({
    messageSchemaVersion: '1.0',
    requestId: '0b7c6f4e-3d55-4a3a-9b0e-6a1f2c3d4e5f',
    tokenValue,
    clientId: '4f1c2a9e-8d7b-4c6a-b5e4-d3c2b1a09f8e',
    clientVersion: '1.2.677.0',
  });
}

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logLines.push(chunk.toString());
    done();
  },
});
const issuedTokens: string[] = [];

const handler = new RecordingHandler();
const emulator = new EmulatorService({
  targets: {
    [WEB]: {
      computerName: 'web-1',
      tags: { Name: 'web-1', env: 'prod' },
      allowedDestinations: ['127.0.0.1:80', '127.0.0.1:5432', 'db.internal:*', 'localhost:6379', '[::1]:8080'],
    },
    [LOST]: { pingStatus: 'ConnectionLost', tags: { Name: 'old' } },
    [MANAGED]: { address: '127.0.0.2', tags: { env: 'dev' } },
  },
  dataChannelHandler: handler,
  logger: pino({ level: 'debug' }, logSink),
});
let endpoint: string;
let client: SSMClient;

function sdkClient(overrides: SSMClientConfig = {}): SSMClient {
  return new SSMClient({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1, ...overrides });
}

async function startSession(input: Partial<StartSessionCommandInput> = {}) {
  const output = await client.send(
    new StartSessionCommand({ Target: WEB, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: ['5432'] }, ...input }),
  );
  issuedTokens.push(output.TokenValue ?? '');
  return { sessionId: output.SessionId ?? '', tokenValue: output.TokenValue ?? '', streamUrl: output.StreamUrl ?? '' };
}

beforeAll(async () => {
  ({ endpoint } = await emulator.listen());
  client = sdkClient();
});

afterAll(async () => {
  client.destroy();
  await emulator.close();
  const logs = logLines.join('');
  expect(logs).not.toContain(EMULATOR_SECRET_ACCESS_KEY);
  for (const token of issuedTokens) expect(logs).not.toContain(token);
});

describe('StartSession', () => {
  it('starts an AWS-StartPortForwardingSession with defaults filled in', async () => {
    const { sessionId, tokenValue, streamUrl } = await startSession({ Parameters: {} });
    expect(sessionId).toMatch(/^emulator-[0-9a-f]{17}$/);
    expect(tokenValue).toMatch(/^[A-Za-z0-9+/]{128}$/);
    expect(streamUrl).toBe(`${endpoint.replace('http:', 'ws:')}/v1/data-channel/${sessionId}?role=publish_subscribe`);
    const session = emulator.sessions.get(sessionId);
    expect(session).toMatchObject({
      target: WEB,
      documentName: 'AWS-StartPortForwardingSession',
      parameters: {},
      destination: { host: '127.0.0.1', port: 80 },
      state: 'pending',
      tokensIssued: 1,
    });
    expect(Object.entries(session?.properties ?? {})).toEqual([
      ['portNumber', '80'],
      ['type', 'LocalPortForwarding'],
      ['localPortNumber', '0'],
    ]);
  });

  it('starts an AWS-StartPortForwardingSessionToRemoteHost with the host first in the properties', async () => {
    const { sessionId } = await startSession({
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: ['db.internal'], portNumber: ['5432'], localPortNumber: ['15432'] },
      Reason: 'nightly report',
    });
    const session = emulator.sessions.get(sessionId);
    expect(Object.entries(session?.properties ?? {})).toEqual([
      ['host', 'db.internal'],
      ['portNumber', '5432'],
      ['type', 'LocalPortForwarding'],
      ['localPortNumber', '15432'],
    ]);
    expect(session).toMatchObject({ destination: { host: 'db.internal', port: 5432 }, reason: 'nightly report' });
    expect(emulator.record.calls.at(-1)).toMatchObject({ operation: 'StartSession', target: WEB, sessionId });
  });

  it('starts an AWS-StartSSHSession on port 22 by default, with no type in the properties', async () => {
    const { sessionId } = await startSession({ Target: MANAGED, DocumentName: 'AWS-StartSSHSession', Parameters: {} });
    const session = emulator.sessions.get(sessionId);
    expect(session).toMatchObject({ documentName: 'AWS-StartSSHSession', destination: { host: '127.0.0.2', port: 22 } });
    expect(Object.entries(session?.properties ?? {})).toEqual([['portNumber', '22']]);
  });

  it("resolves the target's own addresses for the agent", async () => {
    const viaLocalhost = await startSession({
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: ['localhost'], portNumber: ['6379'] },
    });
    expect(emulator.sessions.get(viaLocalhost.sessionId)?.destination).toEqual({ host: '127.0.0.1', port: 6379 });
    const managed = await startSession({ Target: MANAGED, Parameters: { portNumber: ['22'] } });
    expect(emulator.sessions.get(managed.sessionId)?.destination).toEqual({ host: '127.0.0.2', port: 22 });
    const ipv6 = await startSession({
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: ['::1'], portNumber: ['8080'] },
    });
    expect(emulator.sessions.get(ipv6.sessionId)?.destination).toEqual({ host: '::1', port: 8080 });
  });

  it.each([
    ['an unknown target', { Target: 'i-00000000000000000' }, 'TargetNotConnected', 'i-00000000000000000 is not connected'],
    ['a target that lost its connection', { Target: LOST }, 'TargetNotConnected', `${LOST} is not connected`],
    ['an unknown document', { DocumentName: 'AWS-StartInteractiveCommand' }, 'InvalidDocument', 'AWS-StartInteractiveCommand'],
    ['an SSH session with a local port', { DocumentName: 'AWS-StartSSHSession', Parameters: { localPortNumber: ['2222'] } }, 'ValidationException', '"localPortNumber" is not defined'],
    ['no document', { DocumentName: undefined }, 'InvalidDocument', 'DocumentName is required'],
    ['portNumber 70000', { Parameters: { portNumber: ['70000'] } }, 'ValidationException', '"portNumber" value "70000"'],
    ['portNumber 08', { Parameters: { portNumber: ['08'] } }, 'ValidationException', '"portNumber" value "08"'],
    ['portNumber 0', { Parameters: { portNumber: ['0'] } }, 'ValidationException', '"portNumber" value "0"'],
    ['localPortNumber 65536', { Parameters: { localPortNumber: ['65536'] } }, 'ValidationException', '"localPortNumber" value "65536"'],
    ['two values', { Parameters: { portNumber: ['80', '81'] } }, 'ValidationException', '"portNumber" takes exactly one value'],
    ['an undefined parameter', { Parameters: { portNumber: ['80'], remotePort: ['1'] } }, 'ValidationException', '"remotePort" is not defined'],
    [
      'a ToRemoteHost session without host',
      { DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost', Parameters: { portNumber: ['5432'] } },
      'ValidationException',
      '"host" is required',
    ],
    [
      'a destination the target does not allow',
      { DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost', Parameters: { host: ['10.0.0.9'], portNumber: ['22'] } },
      'AccessDeniedException',
      `target ${WEB} with destination 10.0.0.9:22`,
    ],
    ['a port the target does not allow', { Parameters: { portNumber: ['443'] } }, 'AccessDeniedException', '127.0.0.1:443'],
  ])('refuses %s', async (_case, input, name, message) => {
    await expect(startSession(input)).rejects.toMatchObject({ name, message: expect.stringContaining(message) as unknown });
    expect(emulator.record.calls.at(-1)).toMatchObject({ operation: 'StartSession', error: name });
  });
});

describe('authentication', () => {
  it('rejects a request without an Authorization header (MissingAuthenticationTokenException)', async () => {
    const unsigned = sdkClient();
    unsigned.middlewareStack.add(
      (next) => (args) => {
        delete (args.request as { headers: Record<string, string> }).headers.authorization;
        return next(args);
      },
      { step: 'deserialize', name: 'dropAuthorization' },
    );
    await expect(unsigned.send(new StartSessionCommand({ Target: WEB }))).rejects.toMatchObject({
      name: 'MissingAuthenticationTokenException',
    });
    unsigned.destroy();
  });

  it('rejects an unknown access key id (UnrecognizedClientException)', async () => {
    const stranger = sdkClient({ credentials: { accessKeyId: 'AKIASTRANGER00000000', secretAccessKey: EMULATOR_SECRET_ACCESS_KEY } });
    await expect(stranger.send(new StartSessionCommand({ Target: WEB }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 400 },
    });
    stranger.destroy();
  });

  it.each([
    ['a wrong secret key', { credentials: { ...EMULATOR_CREDENTIALS, secretAccessKey: 'not-the-secret' } }, 'does not match'],
    ['a scope for another region', { region: 'eu-west-1' }, "'us-east-1', got 'eu-west-1'"],
    ['a clock an hour behind', { systemClockOffset: -3_600_000 }, 'Signature expired'],
  ])('rejects a signature made with %s (InvalidSignatureException)', async (_case, overrides: SSMClientConfig, message) => {
    const wrong = sdkClient(overrides);
    await expect(wrong.send(new StartSessionCommand({ Target: WEB }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining(message) as unknown,
    });
    wrong.destroy();
  });

  it('answers in the AWS JSON 1.1 error shape', async () => {
    const response = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AmazonSSM.StartSession' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' });
    expect(emulator.record.calls.at(-1)).toMatchObject({ operation: 'StartSession', error: 'MissingAuthenticationTokenException' });
  });
});

describe('ResumeSession and TerminateSession', () => {
  it('issues a fresh token and the same StreamUrl', async () => {
    const started = await startSession();
    const resumed = await client.send(new ResumeSessionCommand({ SessionId: started.sessionId }));
    issuedTokens.push(resumed.TokenValue ?? '');
    expect(resumed.SessionId).toBe(started.sessionId);
    expect(resumed.StreamUrl).toBe(started.streamUrl);
    expect(resumed.TokenValue).toMatch(/^[A-Za-z0-9+/]{128}$/);
    expect(resumed.TokenValue).not.toBe(started.tokenValue);
    expect(emulator.sessions.get(started.sessionId)?.tokensIssued).toBe(2);
  });

  it('resumes a terminated session without a token and tells the agent', async () => {
    const { sessionId, streamUrl } = await startSession();
    const terminated = await client.send(new TerminateSessionCommand({ SessionId: sessionId }));
    expect(terminated.SessionId).toBe(sessionId);
    expect(handler.terminated.at(-1)).toMatchObject({ session: { id: sessionId }, reason: 'TerminateSession called' });
    expect(emulator.sessions.get(sessionId)).toMatchObject({ state: 'terminated', endedReason: 'TerminateSession called' });

    const resumed = await client.send(new ResumeSessionCommand({ SessionId: sessionId }));
    expect(resumed).toMatchObject({ SessionId: sessionId, StreamUrl: streamUrl });
    expect(resumed.TokenValue).toBeUndefined();

    const again = await client.send(new TerminateSessionCommand({ SessionId: sessionId }));
    expect(again.SessionId).toBe(sessionId);
    expect(handler.terminated.filter((t) => t.session.id === sessionId)).toHaveLength(1);
  });

  it('resumes a timed-out session without a token', async () => {
    const { sessionId } = await startSession();
    expect(emulator.endSession(sessionId, 'timed-out', 'idle timeout')).toBe(true);
    expect(emulator.endSession(sessionId, 'terminated', 'late')).toBe(false);
    const resumed = await client.send(new ResumeSessionCommand({ SessionId: sessionId }));
    expect(resumed.TokenValue).toBeUndefined();
    expect(emulator.sessions.get(sessionId)).toMatchObject({ state: 'timed-out', endedReason: 'idle timeout' });
  });

  it('answers DoesNotExistException for an unknown session', async () => {
    for (const command of [new ResumeSessionCommand({ SessionId: 'emulator-0000' }), new TerminateSessionCommand({ SessionId: 'emulator-0000' })]) {
      await expect(client.send(command)).rejects.toMatchObject({ name: 'DoesNotExistException', message: expect.stringContaining('emulator-0000') as unknown });
    }
  });

  it('fails the next K ResumeSession calls on request', async () => {
    const { sessionId } = await startSession();
    emulator.rejectNextResumeSessions(2);
    for (let i = 0; i < 2; i += 1) {
      await expect(client.send(new ResumeSessionCommand({ SessionId: sessionId }))).rejects.toMatchObject({
        name: 'InternalServerError',
        $metadata: { httpStatusCode: 500 },
      });
    }
    const resumed = await client.send(new ResumeSessionCommand({ SessionId: sessionId }));
    issuedTokens.push(resumed.TokenValue ?? '');
    expect(resumed.TokenValue).toBeDefined();

    emulator.rejectNextResumeSessions(1, new ApiError('ThrottlingException', 'Rate exceeded'));
    await expect(client.send(new ResumeSessionCommand({ SessionId: sessionId }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    const calls = emulator.record.calls.filter((call) => call.operation === 'ResumeSession' && call.sessionId === sessionId);
    expect(calls.map((call) => call.error)).toEqual(['InternalServerError', 'InternalServerError', undefined, 'ThrottlingException']);
  });
});

describe('DescribeInstanceInformation', () => {
  const ids = async (input: DescribeInstanceInformationCommandInput) =>
    (await client.send(new DescribeInstanceInformationCommand(input))).InstanceInformationList?.map((i) => i.InstanceId);

  it('lists every target with its details', async () => {
    const output = await client.send(new DescribeInstanceInformationCommand({}));
    expect(output.InstanceInformationList?.map((i) => i.InstanceId)).toEqual([WEB, LOST, MANAGED]);
    expect(output.InstanceInformationList?.[0]).toMatchObject({
      InstanceId: WEB,
      PingStatus: 'Online',
      ComputerName: 'web-1',
      PlatformType: 'Linux',
      ResourceType: 'EC2Instance',
      IPAddress: '127.0.0.1',
    });
    expect(output.InstanceInformationList?.[0]?.LastPingDateTime).toBeInstanceOf(Date);
    expect(output.InstanceInformationList?.[2]).toMatchObject({ ResourceType: 'ManagedInstance', ComputerName: MANAGED, IPAddress: '127.0.0.2' });
    expect(output.NextToken).toBeUndefined();
  });

  it('filters by tag, tag key, ping status and instance id', async () => {
    expect(await ids({ Filters: [{ Key: 'tag:Name', Values: ['web-1', 'nope'] }] })).toEqual([WEB]);
    expect(await ids({ Filters: [{ Key: 'tag-key', Values: ['env'] }] })).toEqual([WEB, MANAGED]);
    expect(await ids({ Filters: [{ Key: 'PingStatus', Values: ['ConnectionLost'] }] })).toEqual([LOST]);
    expect(await ids({ Filters: [{ Key: 'InstanceIds', Values: [MANAGED, LOST] }] })).toEqual([LOST, MANAGED]);
    expect(await ids({ InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [WEB] }] })).toEqual([WEB]);
    expect(
      await ids({ Filters: [{ Key: 'tag-key', Values: ['env'] }, { Key: 'PingStatus', Values: ['Online'] }, { Key: 'tag:env', Values: ['dev'] }] }),
    ).toEqual([MANAGED]);
  });

  it('rejects filter keys it does not know', async () => {
    await expect(ids({ Filters: [{ Key: 'Color', Values: ['red'] }] })).rejects.toMatchObject({ name: 'InvalidFilterKey' });
    await expect(ids({ Filters: [{ Key: 'tag:Name', Values: [] }] })).rejects.toMatchObject({ name: 'InvalidInstanceInformationFilterValue' });
  });

  it('pages with MaxResults and NextToken', async () => {
    const many = new EmulatorService({ targets: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`i-${String(i).padStart(17, '0')}`, {}])) });
    const manyClient = sdkClient({ endpoint: (await many.listen()).endpoint });
    const first = await manyClient.send(new DescribeInstanceInformationCommand({ MaxResults: 5 }));
    expect(first.InstanceInformationList).toHaveLength(5);
    const second = await manyClient.send(new DescribeInstanceInformationCommand({ MaxResults: 5, NextToken: first.NextToken }));
    expect(second.InstanceInformationList?.map((i) => i.InstanceId)).toEqual(['i-00000000000000005', 'i-00000000000000006']);
    expect(second.NextToken).toBeUndefined();
    await expect(manyClient.send(new DescribeInstanceInformationCommand({ MaxResults: 51 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(manyClient.send(new DescribeInstanceInformationCommand({ NextToken: 'bogus' }))).rejects.toMatchObject({ name: 'InvalidNextToken' });
    manyClient.destroy();
    await many.close();
  });
});

describe('data channel', () => {
  it('opens once with a valid token, after a ping, and hands the socket to the handler', async () => {
    const { sessionId, tokenValue, streamUrl } = await startSession();
    const { ws, closed } = await openChannel(streamUrl, openFrame(tokenValue));
    await vi.waitFor(() => expect(handler.attached.at(-1)?.session.id).toBe(sessionId));
    expect(handler.attached.at(-1)?.open).toMatchObject({ clientVersion: '1.2.677.0', clientId: '4f1c2a9e-8d7b-4c6a-b5e4-d3c2b1a09f8e' });
    expect(emulator.sessions.get(sessionId)).toMatchObject({ state: 'connected', channelsOpened: 1, openChannels: 1 });

    const reused = await openChannel(streamUrl, openFrame(tokenValue));
    expect(await reused.closed).toEqual({ code: 1008, reason: `token is not an unused token of session ${sessionId}` });

    ws.close();
    await closed;
    await vi.waitFor(() => expect(emulator.sessions.get(sessionId)).toMatchObject({ state: 'disconnected', openChannels: 0 }));

    const resumed = await client.send(new ResumeSessionCommand({ SessionId: sessionId }));
    issuedTokens.push(resumed.TokenValue ?? '');
    const reopened = await openChannel(streamUrl, openFrame(resumed.TokenValue ?? ''));
    await vi.waitFor(() => expect(emulator.sessions.get(sessionId)).toMatchObject({ state: 'connected', channelsOpened: 2 }));

    await client.send(new TerminateSessionCommand({ SessionId: sessionId }));
    expect(await reopened.closed).toEqual({ code: 1000, reason: 'session ended' });
    expect(emulator.sessions.get(sessionId)?.state).toBe('terminated');
  });

  it.each([
    ['a wrong token', (token: string) => openFrame(`${token.slice(0, -4)}AAAA`), 'token is not an unused token'],
    ['a binary first frame', () => Buffer.from([0, 0, 0, 116]), 'got a binary frame of 4 bytes'],
    ['a first frame that is not JSON', () => 'hello', 'invalid OpenDataChannel frame: OpenDataChannel is not valid JSON'],
    ['an OpenDataChannel frame without a token', () => '{"MessageSchemaVersion":"1.0","RequestId":"r"}', 'OpenDataChannel.TokenValue: expected a string'],
  ])('closes a channel that starts with %s', async (_case, frame, reason) => {
    const { sessionId, tokenValue, streamUrl } = await startSession();
    const { closed } = await openChannel(streamUrl, frame(tokenValue));
    const { code, reason: seen } = await closed;
    expect(code).toBe(1008);
    expect(seen).toContain(reason);
    expect(emulator.record.channelRefusals.at(-1)).toMatchObject({ sessionId, reason: expect.stringContaining(reason) as unknown });
    expect(emulator.sessions.get(sessionId)?.state).toBe('pending');
  });

  it('closes a channel for an unknown session or an ended one, and refuses other paths', async () => {
    const unknown = await openChannel(`${endpoint.replace('http:', 'ws:')}/v1/data-channel/emulator-nobody`);
    expect(await unknown.closed).toEqual({ code: 1008, reason: 'unknown session emulator-nobody' });

    const { sessionId, tokenValue, streamUrl } = await startSession();
    emulator.endSession(sessionId, 'timed-out', 'idle timeout');
    const late = await openChannel(streamUrl, openFrame(tokenValue));
    expect(await late.closed).toEqual({ code: 1008, reason: `session ${sessionId} has ended (timed-out)` });

    const stray = new WebSocket(`${endpoint.replace('http:', 'ws:')}/elsewhere`);
    const [error] = (await once(stray, 'error')) as [Error];
    expect(error.message).toBe('Unexpected server response: 404');
  });

  it('keeps serving after refusing channels', async () => {
    const { sessionId, tokenValue, streamUrl } = await startSession();
    const { ws, closed } = await openChannel(streamUrl, openFrame(tokenValue));
    await vi.waitFor(() => expect(emulator.sessions.get(sessionId)?.state).toBe('connected'));
    ws.close();
    await closed;
  });
});

describe('lifecycle', () => {
  it('refuses channels without a handler or an OpenDataChannel frame, and ends everything on close', async () => {
    const bare = new EmulatorService({ targets: { [WEB]: {} }, openFrameTimeoutMs: 50 });
    const bareClient = sdkClient({ endpoint: (await bare.listen()).endpoint });
    const start = () => bareClient.send(new StartSessionCommand({ Target: WEB, DocumentName: 'AWS-StartPortForwardingSession' }));

    const first = await start();
    const noHandler = await openChannel(first.StreamUrl ?? '', openFrame(first.TokenValue ?? ''));
    expect(await noHandler.closed).toEqual({ code: 1011, reason: 'no data channel handler (agent) is installed' });

    const silent = await openChannel(first.StreamUrl ?? '');
    expect(await silent.closed).toEqual({ code: 1008, reason: 'no OpenDataChannel frame within 50 ms' });

    const lateHandler = new RecordingHandler();
    bare.setDataChannelHandler(lateHandler);
    const second = await start();
    const open = await openChannel(second.StreamUrl ?? '', openFrame(second.TokenValue ?? ''));
    await vi.waitFor(() => expect(lateHandler.attached).toHaveLength(1));
    const idle = await openChannel(second.StreamUrl ?? '');

    bareClient.destroy();
    await bare.close();
    expect(await open.closed).toEqual({ code: 1000, reason: 'session ended' });
    expect(await idle.closed).toEqual({ code: 1001, reason: 'emulator stopped' });
    expect(bare.sessions.list().map((s) => [s.state, s.endedReason])).toEqual([
      ['terminated', 'emulator stopped'],
      ['terminated', 'emulator stopped'],
    ]);
    // The handler hears of every session that ends, including ones it never had a channel for.
    expect(lateHandler.terminated.map((t) => t.session.id)).toEqual([first.SessionId, second.SessionId]);
  });
});
