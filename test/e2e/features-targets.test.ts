/*
 * Targets by name or tag against the emulator: resolved with DescribeInstanceInformation to the one
 * online node, clear errors for none or several, and resolved again for every new session.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSsmSessionApi } from '../../src/aws/ssm-session-api.js';
import type { TargetResolutionError, TargetSpec } from '../../src/aws/target-resolver.js';
import { startEmulator, type Emulator, type EmulatorTargetConfig } from '../../src/emulator/index.js';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const BASTION_A = 'i-0aaaaaaaaaaaaaaa1';
const BASTION_B = 'i-0bbbbbbbbbbbbbbb2';
const OLD_BASTION = 'i-0ccccccccccccccc3';
const DB_PROD = 'i-0ddddddddddddddd4';
const DB_TEST = 'i-0eeeeeeeeeeeeeee5';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(targets: Record<string, EmulatorTargetConfig>): Promise<{ emulator: Emulator; echo: Destination }> {
  const echo = await echoServer();
  const emulator = await startEmulator({ pacing: false, targets });
  cleanups.push(() => echo.close(), () => emulator.close());
  return { emulator, echo };
}

async function open(emulator: Emulator, echo: Destination, target: TargetSpec, endpoint = emulator.endpoint): Promise<Tunnel> {
  const tunnel = await openTunnel({
    target,
    remoteHost: '127.0.0.1',
    remotePort: echo.port,
    endpoint,
    region: emulator.region,
    credentials: emulator.credentials,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  cleanups.push(() => tunnel.close());
  return tunnel;
}

async function rejection(promise: Promise<unknown>): Promise<TargetResolutionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as TargetResolutionError;
}

/**
 * An HTTP hop in front of the emulator that reports the nodes in `retired` as ConnectionLost in
 * DescribeInstanceInformation answers: the service's view after those nodes were replaced.
 */
async function inventoryProxy(upstream: string, retired: Set<string>): Promise<string> {
  const server: Server = createServer((request, response) => {
    const body: Buffer[] = [];
    request.on('data', (chunk: Buffer) => body.push(chunk));
    request.on('end', () => {
      const describe = request.headers['x-amz-target'] === 'AmazonSSM.DescribeInstanceInformation';
      const forward = httpRequest(new URL(request.url ?? '/', upstream), { method: request.method, headers: request.headers }, (answer) => {
        const answerBody: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerBody.push(chunk));
        answer.on('end', () => {
          let text = Buffer.concat(answerBody).toString('utf8');
          if (describe && answer.statusCode === 200) {
            const parsed = JSON.parse(text) as { InstanceInformationList: { InstanceId: string; PingStatus: string }[] };
            for (const node of parsed.InstanceInformationList) if (retired.has(node.InstanceId)) node.PingStatus = 'ConnectionLost';
            text = JSON.stringify(parsed);
          }
          const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) };
          response.writeHead(answer.statusCode ?? 502, headers);
          response.end(text);
        });
      });
      forward.on('error', (error) => response.destroy(error));
      forward.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('targets by name or tag', () => {
  it('resolves name:<Name> to the one online node with that Name tag and forwards through it', async () => {
    const { emulator, echo } = await setup({
      [OLD_BASTION]: { tags: { Name: 'bastion' }, pingStatus: 'ConnectionLost' },
      [BASTION_A]: { tags: { Name: 'bastion' }, computerName: 'bastion-a' },
      [DB_PROD]: { tags: { Name: 'db' } },
    });
    const tunnel = await open(emulator, echo, 'name:bastion');
    const payload = randomBytes(20_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    expect(tunnel.stats.targetId).toBe(BASTION_A);
    expect(emulator.record.sessions.map((s) => s.target)).toEqual([BASTION_A]);
    const describe = emulator.record.apiCalls.find((call) => call.operation === 'DescribeInstanceInformation');
    expect(describe).toBeDefined();
  });

  it('resolves { tag: {...} } to the node carrying every tag', async () => {
    const { emulator, echo } = await setup({
      [DB_PROD]: { tags: { Role: 'db', Env: 'prod' } },
      [DB_TEST]: { tags: { Role: 'db', Env: 'test' } },
    });
    const tunnel = await open(emulator, echo, { tag: { Role: 'db', Env: 'test' } });
    expect(tunnel.stats.targetId).toBe(DB_TEST);
    const payload = randomBytes(1000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
  });

  it('fails at once when no online node matches, listing the ones that match but are offline', async () => {
    const { emulator, echo } = await setup({
      [OLD_BASTION]: { tags: { Name: 'bastion' }, pingStatus: 'ConnectionLost', computerName: 'old-bastion' },
      [DB_PROD]: { tags: { Name: 'db' } },
    });
    const offline = await rejection(open(emulator, echo, 'name:bastion'));
    expect(offline).toMatchObject({ name: 'TargetNotFound', code: 'ERR_TARGET_NOT_FOUND', retryable: false });
    expect(offline.message).toBe(`no online managed node with tag Name=bastion; 1 matching but not online: ${OLD_BASTION} (old-bastion, ConnectionLost)`);
    const none = await rejection(open(emulator, echo, { tag: { Team: 'nobody' } }));
    expect(none).toMatchObject({ code: 'ERR_TARGET_NOT_FOUND' });
    expect(none.message).toBe('no online managed node with tag Team=nobody');
    expect(emulator.record.sessions).toHaveLength(0);
  });

  it('fails at once when several online nodes match, listing them', async () => {
    const { emulator, echo } = await setup({
      [BASTION_A]: { tags: { Name: 'bastion' }, computerName: 'bastion-a' },
      [BASTION_B]: { tags: { Name: 'bastion' }, computerName: 'bastion-b' },
    });
    const error = await rejection(open(emulator, echo, 'name:bastion'));
    expect(error).toMatchObject({ name: 'AmbiguousTarget', code: 'ERR_AMBIGUOUS_TARGET' });
    expect(error.message).toBe(
      `2 online managed nodes with tag Name=bastion: ${BASTION_A} (bastion-a), ${BASTION_B} (bastion-b); give an instance id or a tag that tells them apart`,
    );
    expect(emulator.record.sessions).toHaveLength(0);
  });

  it('lists ten matches and counts the rest', async () => {
    const fleet = Array.from({ length: 12 }, (_, i) => `i-0f${String(i).padStart(15, '0')}`);
    const { emulator, echo } = await setup(Object.fromEntries(fleet.map((id) => [id, { tags: { Role: 'worker' } }])));
    const error = await rejection(open(emulator, echo, { tag: { Role: 'worker' } }));
    expect(error).toMatchObject({ name: 'AmbiguousTarget', code: 'ERR_AMBIGUOUS_TARGET' });
    expect(error.message).toBe(`12 online managed nodes with tag Role=worker: ${fleet.slice(0, 10).join(', ')} and 2 more; give an instance id or a tag that tells them apart`);
    expect(error.candidates).toHaveLength(12);
  });

  it('looks the name up again for a new session, so a replaced bastion is picked up; a resume keeps the node', async () => {
    const { emulator, echo } = await setup({
      [BASTION_A]: { tags: { Name: 'bastion' } },
      [BASTION_B]: { tags: { Name: 'bastion' } },
    });
    const retired = new Set([BASTION_B]);
    const endpoint = await inventoryProxy(emulator.endpoint, retired);
    const tunnel = await open(emulator, echo, 'name:bastion', endpoint);
    expect(tunnel.stats.targetId).toBe(BASTION_A);
    const describes = (): number => emulator.record.apiCalls.filter((call) => call.operation === 'DescribeInstanceInformation').length;
    expect(describes()).toBe(1);

    emulator.session(tunnel.sessionId!).dropConnection();
    await waitFor(() => tunnel.stats.resumes === 1 && tunnel.state === 'ready', 'the session to be resumed');
    expect(describes()).toBe(1);
    expect(tunnel.stats.targetId).toBe(BASTION_A);

    // Bastion A is replaced by B: the service now reports A lost, and A's session ends.
    retired.clear();
    retired.add(BASTION_A);
    emulator.session(tunnel.sessionId!).end('terminated');
    await waitFor(() => tunnel.state === 'ready' && tunnel.stats.targetId === BASTION_B, 'a new session on bastion B');
    expect(describes()).toBe(2);
    const payload = randomBytes(5000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    expect(emulator.record.sessions.map((s) => s.target)).toEqual([BASTION_A, BASTION_B]);
  });

  it('says so when the session API given cannot look targets up', async () => {
    const { emulator, echo } = await setup({ [BASTION_A]: { tags: { Name: 'bastion' } } });
    const sdk = createSsmSessionApi({ endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials });
    cleanups.push(() => Promise.resolve(sdk.destroy()));
    const error = await rejection(
      openTunnel({
        target: 'name:bastion',
        remotePort: echo.port,
        sessionApi: {
          startSession: (request) => sdk.startSession(request),
          resumeSession: (id) => sdk.resumeSession(id),
          terminateSession: (id) => sdk.terminateSession(id),
        },
      }),
    );
    expect(error).toMatchObject({ name: 'TargetLookupUnavailable', code: 'ERR_TARGET_LOOKUP_UNAVAILABLE' });
    expect(error.message).toMatch(/^target name:bastion needs DescribeInstanceInformation/);
  });

  it('rejects a malformed target spec, naming what is wrong', async () => {
    await expect(openTunnel({ target: { tag: {} }, remotePort: 1 })).rejects.toThrow(/target must be .*tag must name at least one tag/);
    await expect(openTunnel({ target: 'name:', remotePort: 1 })).rejects.toThrow(/tag key "Name"|tag Name must be a string of 1–256 characters/);
  });
});
