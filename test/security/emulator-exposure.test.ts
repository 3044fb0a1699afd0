/*
 * `ssm-tunnel emulator` is a proxy to whatever its targets allow, for anyone holding its keys: the
 * secret key is drawn per run (the published built-in pair only with --fixed-credentials), and a
 * listen address other machines can reach is warned about loudly. Needs `npm run build`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSsmSessionApi } from '../../src/aws/ssm-session-api.js';
import { EMULATOR_CREDENTIALS } from '../../src/emulator/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';
const running: CliProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((cli) => cli.kill()));
});

interface Printed {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

async function startEmulatorCli(extra: string[] = []): Promise<Printed> {
  const cli = spawnCli(['emulator', '--port', '0', '--target', TARGET, ...extra]);
  running.push(cli);
  await waitFor(() => /AWS_SECRET_ACCESS_KEY='[^']+'/.test(cli.stdout), 'the emulator to print its keys');
  return {
    endpoint: /listening on (http:\/\/\S+)/.exec(cli.stdout)![1]!,
    credentials: {
      accessKeyId: /AWS_ACCESS_KEY_ID=(\S+)/.exec(cli.stdout)![1]!,
      secretAccessKey: /AWS_SECRET_ACCESS_KEY='([^']+)'/.exec(cli.stdout)![1]!,
    },
  };
}

/** Whether a StartSession signed with `credentials` is accepted. */
async function accepts(endpoint: string, credentials: Printed['credentials']): Promise<boolean> {
  const api = createSsmSessionApi({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  try {
    const grant = await api.startSession({ target: TARGET, remotePort: 5432 });
    await api.terminateSession(grant.sessionId);
    return true;
  } catch (error) {
    if ((error as Error).name === 'UnrecognizedClientException' || (error as Error).name === 'InvalidSignatureException') return false;
    throw error;
  } finally {
    api.destroy();
  }
}

describe('ssm-tunnel emulator', () => {
  it('draws a new secret key for each run and accepts only that one', async () => {
    const [first, second] = await Promise.all([startEmulatorCli(), startEmulatorCli()]);
    expect(first.credentials.secretAccessKey).not.toBe(second.credentials.secretAccessKey);
    expect(first.credentials.secretAccessKey).not.toBe(EMULATOR_CREDENTIALS.secretAccessKey);
    expect(await accepts(first.endpoint, first.credentials)).toBe(true);
    expect(await accepts(first.endpoint, second.credentials)).toBe(false);
    expect(await accepts(first.endpoint, EMULATOR_CREDENTIALS)).toBe(false);
  });

  it('accepts the built-in pair with --fixed-credentials, for scripts', async () => {
    const fixed = await startEmulatorCli(['--fixed-credentials']);
    expect(fixed.credentials).toEqual(EMULATOR_CREDENTIALS);
    expect(await accepts(fixed.endpoint, EMULATOR_CREDENTIALS)).toBe(true);
  });

  it('warns loudly before listening on an address other machines can reach', async () => {
    // A documentation address (RFC 5737) this machine does not have: the warning comes, nothing listens.
    const result = await runCli(['emulator', '--port', '0', '--host', '192.0.2.1']);
    expect(result.stderr).toContain('WARNING: the emulator listens on 192.0.2.1, which other machines can reach.');
    expect(result.stderr).toContain('it is an open proxy');
    expect(result.code).toBe(1);
  });

  it('does not warn on loopback', async () => {
    const cli = spawnCli(['emulator', '--port', '0', '--host', '127.0.0.1']);
    running.push(cli);
    await waitFor(() => cli.stdout.includes('SSM emulator listening'), 'the emulator to listen');
    expect(cli.stderr).not.toContain('WARNING');
  });
});
