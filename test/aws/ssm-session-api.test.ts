import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSsmSessionApi, SsmApiError } from '../../src/aws/ssm-session-api.js';
import type { SsmSessionApi } from '../../src/aws/ssm-session-api.js';
import { EmulatorService } from '../../src/emulator/service-api.js';
import { EMULATOR_ACCESS_KEY_ID, EMULATOR_CREDENTIALS, EMULATOR_SECRET_ACCESS_KEY } from '../../src/emulator/sigv4-verifier.js';

const WEB = 'i-0123456789abcdef0';
const FLEET = Array.from({ length: 55 }, (_, i) => `i-f${String(i).padStart(16, '0')}`);

const emulator = new EmulatorService({
  targets: {
    [WEB]: { computerName: 'web-1', tags: { Name: 'web-1' }, allowedDestinations: ['127.0.0.1:*', 'db.internal:5432'] },
    ...Object.fromEntries(FLEET.map((id, i) => [id, { tags: { fleet: 'batch', ...(i === FLEET.length - 1 ? { Name: 'batch-last' } : {}) } }])),
  },
});
let endpoint: string;
let api: SsmSessionApi;

beforeAll(async () => {
  ({ endpoint } = await emulator.listen());
  api = createSsmSessionApi({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  api.destroy();
  await emulator.close();
});

/** Runs `promise`, which must reject, and returns the error. */
async function failure(promise: Promise<unknown>): Promise<SsmApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsmApiError);
  return error as SsmApiError;
}

describe('startSession', () => {
  it('uses AWS-StartPortForwardingSession without a remote host', async () => {
    const grant = await api.startSession({ target: WEB, remotePort: 5432 });
    expect(grant.sessionId).toMatch(/^emulator-/);
    expect(grant.streamUrl).toContain(`/v1/data-channel/${grant.sessionId}`);
    expect(grant.tokenValue).toHaveLength(128);
    expect(emulator.sessions.get(grant.sessionId)).toMatchObject({
      target: WEB,
      documentName: 'AWS-StartPortForwardingSession',
      parameters: { portNumber: ['5432'], localPortNumber: ['0'] },
      properties: { portNumber: '5432', type: 'LocalPortForwarding', localPortNumber: '0' },
    });
  });

  it('uses AWS-StartPortForwardingSessionToRemoteHost with a remote host', async () => {
    const grant = await api.startSession({ target: WEB, remoteHost: 'db.internal', remotePort: 5432, localPort: 15432, reason: 'migration' });
    expect(emulator.sessions.get(grant.sessionId)).toMatchObject({
      documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      parameters: { host: ['db.internal'], portNumber: ['5432'], localPortNumber: ['15432'] },
      destination: { host: 'db.internal', port: 5432 },
      reason: 'migration',
    });
  });

  it('keeps the service error name and says which call failed for which target', async () => {
    const unknown = await failure(api.startSession({ target: 'i-00000000000000000', remotePort: 22 }));
    expect(unknown.name).toBe('TargetNotConnected');
    expect(unknown.message).toBe('StartSession for target i-00000000000000000 failed: TargetNotConnected: i-00000000000000000 is not connected.');
    expect(unknown).toMatchObject({ operation: 'StartSession', subject: 'target i-00000000000000000', fault: 'client', httpStatusCode: 400 });

    const denied = await failure(api.startSession({ target: WEB, remoteHost: 'db.internal', remotePort: 3306 }));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('db.internal:3306');

    const badPort = await failure(api.startSession({ target: WEB, remotePort: 70000 }));
    expect(badPort.name).toBe('ValidationException');
    expect(badPort.message).toContain('portNumber');
  });
});

describe('resumeSession and terminateSession', () => {
  it('resumes with a fresh token until the session is terminated', async () => {
    const grant = await api.startSession({ target: WEB, remotePort: 80 });
    const resumed = await api.resumeSession(grant.sessionId);
    expect(resumed.streamUrl).toBe(grant.streamUrl);
    expect(resumed.tokenValue).toHaveLength(128);
    expect(resumed.tokenValue).not.toBe(grant.tokenValue);

    await api.terminateSession(grant.sessionId);
    expect(emulator.sessions.get(grant.sessionId)?.state).toBe('terminated');
    expect(await api.resumeSession(grant.sessionId)).toEqual({ streamUrl: grant.streamUrl });
  });

  it('names the session when a call about it fails', async () => {
    const missing = await failure(api.resumeSession('emulator-00000000000000000'));
    expect(missing.name).toBe('DoesNotExistException');
    expect(missing.message).toMatch(/^ResumeSession for session emulator-00000000000000000 failed: /);
    const terminate = await failure(api.terminateSession('emulator-00000000000000000'));
    expect(terminate.message).toMatch(/^TerminateSession for session emulator-00000000000000000 failed: DoesNotExistException/);
  });

  it('reports server faults, and retries them when allowed more attempts', async () => {
    const grant = await api.startSession({ target: WEB, remotePort: 80 });
    emulator.rejectNextResumeSessions(1);
    const fault = await failure(api.resumeSession(grant.sessionId));
    expect(fault).toMatchObject({ name: 'InternalServerError', fault: 'server', httpStatusCode: 500 });
    expect(fault.message).not.toContain(grant.tokenValue);

    const patient = createSsmSessionApi({ region: 'us-east-1', endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 3 });
    emulator.rejectNextResumeSessions(2);
    expect((await patient.resumeSession(grant.sessionId)).tokenValue).toHaveLength(128);
    patient.destroy();
  });
});

describe('credentials', () => {
  it('fails with UnrecognizedClientException for unknown keys, without echoing the secret', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const stranger = createSsmSessionApi({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIASTRANGER00000000', secretAccessKey: secret }, maxAttempts: 1 });
    const error = await failure(stranger.startSession({ target: WEB, remotePort: 80 }));
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.message).not.toContain(secret);
    stranger.destroy();
  });

  describe('from a named profile', () => {
    const saved = { config: process.env.AWS_CONFIG_FILE, credentials: process.env.AWS_SHARED_CREDENTIALS_FILE };
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ssm-session-api-'));
      await writeFile(join(dir, 'config'), '[profile emulator]\nregion = us-east-1\n\n[profile stranger]\nregion = us-east-1\n');
      await writeFile(
        join(dir, 'credentials'),
        `[emulator]\naws_access_key_id = ${EMULATOR_ACCESS_KEY_ID}\naws_secret_access_key = ${EMULATOR_SECRET_ACCESS_KEY}\n\n` +
          `[stranger]\naws_access_key_id = AKIASTRANGER00000000\naws_secret_access_key = ${EMULATOR_SECRET_ACCESS_KEY}\n`,
      );
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    });

    afterAll(async () => {
      for (const [name, value] of [
        ['AWS_CONFIG_FILE', saved.config],
        ['AWS_SHARED_CREDENTIALS_FILE', saved.credentials],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await rm(dir, { recursive: true, force: true });
    });

    it("takes the region and keys from the profile's files", async () => {
      const viaProfile = createSsmSessionApi({ profile: 'emulator', endpoint, maxAttempts: 1 });
      const grant = await viaProfile.startSession({ target: WEB, remotePort: 80 });
      expect(emulator.sessions.get(grant.sessionId)?.target).toBe(WEB);
      viaProfile.destroy();

      const stranger = createSsmSessionApi({ profile: 'stranger', endpoint, maxAttempts: 1 });
      expect((await failure(stranger.startSession({ target: WEB, remotePort: 80 }))).name).toBe('UnrecognizedClientException');
      stranger.destroy();
    });
  });
});

describe('describeManagedNodes', () => {
  it('returns the matching nodes across pages', async () => {
    const fleet = await api.describeManagedNodes([{ key: 'tag:fleet', values: ['batch'] }]);
    expect(fleet.map((node) => node.instanceId)).toEqual(FLEET);
    expect(await api.describeManagedNodes([{ key: 'tag:Name', values: ['web-1'] }])).toEqual([
      { instanceId: WEB, pingStatus: 'Online', computerName: 'web-1', platformType: 'Linux', platformName: 'Amazon Linux 2023', lastPingAt: expect.any(Date) as Date },
    ]);
    expect(await api.describeManagedNodes([])).toHaveLength(FLEET.length + 1);
  });

  it("reads every node's Name tag across pages with DescribeInstanceProperties", async () => {
    // 56 nodes: the last one is on the second page of 50.
    const names = await api.describeNodeNames();
    expect([...names]).toEqual([
      [WEB, 'web-1'],
      [FLEET.at(-1), 'batch-last'],
    ]);
  });

  it('names the filters when the call fails', async () => {
    const error = await failure(api.describeManagedNodes([{ key: 'Color', values: ['red'] }]));
    expect(error.name).toBe('InvalidFilterKey');
    expect(error.message).toMatch(/^DescribeInstanceInformation for filters Color=red failed: /);
  });
});
