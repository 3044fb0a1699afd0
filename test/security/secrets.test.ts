import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openTunnel, type Tunnel } from '../../src/index.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { roundTrip } from '../helpers/transfer.js';
import { captureLogs } from '../helpers/logs.js';
import { waitFor } from '../helpers/wait.js';
import { RecordingProxy } from '../helpers/recording-proxy.js';

/*
 * Tokens, credentials and request signatures never reach logs or error messages, at the most
 * verbose log level, through a session's whole life: start, resume after a drop (a new token),
 * malformed frames, a new session after the service ended one, and failed starts. The secrets are
 * taken from the wire by a proxy in front of the emulator's API; then every byte the client printed
 * is searched for each of them.
 */

const TARGET = 'i-0123456789abcdef0';
const WRONG_SECRET = 'wrongSecretKey/ThatMustNeverBePrinted000';
const SESSION_TOKEN = 'sessionTokenThatMustNeverBePrinted/000000';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const destination: Destination = await echoServer();
  const emulatorLogs = captureLogs('trace');
  const emulator: Emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} }, logger: emulatorLogs.logger });
  const proxy = await RecordingProxy.start(emulator.endpoint);
  cleanups.push(() => destination.close(), () => emulator.close(), () => proxy.close());
  return { destination, emulator, proxy, emulatorLogs };
}

function expectNoSecret(output: string, secrets: Iterable<string>): void {
  for (const secret of secrets) {
    expect(output.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in the output`).toBe(false);
  }
}

describe('no secret in logs or errors', () => {
  it('openTunnel at log level trace: start, resume, malformed frames, new session, failed start', async () => {
    const { destination, emulator, proxy, emulatorLogs } = await setup();
    const clientLogs = captureLogs('trace');
    const options = {
      target: TARGET,
      remoteHost: '127.0.0.1',
      remotePort: destination.port,
      endpoint: proxy.endpoint,
      region: emulator.region,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      logger: clientLogs.logger,
    };
    const tunnel: Tunnel = await openTunnel({ ...options, credentials: { ...emulator.credentials } });
    cleanups.push(() => tunnel.close());
    const payload = randomBytes(20_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);

    const first = tunnel.sessionId!;
    emulator.session(first).dropConnection();
    await waitFor(() => tunnel.stats.resumes === 1 && tunnel.state === 'ready', 'a resume');
    emulator.session(first).sendMalformedFrame('bad-payload-length');
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    emulator.session(first).end('terminated');
    await waitFor(() => tunnel.state === 'ready' && tunnel.sessionId !== first, 'a new session');
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);

    const refused = await openTunnel({ ...options, credentials: { accessKeyId: emulator.credentials.accessKeyId, secretAccessKey: WRONG_SECRET } }).then(
      () => 'opened',
      (error: Error) => `${error.name}: ${error.message}`,
    );
    expect(refused).toMatch(/signature/i);
    await tunnel.close();

    // Two StartSession tokens, one ResumeSession token, and a signature per API call.
    expect(proxy.secrets.size).toBeGreaterThanOrEqual(6);
    const output = [clientLogs.text(), emulatorLogs.text(), refused, tunnel.stats.lastError ?? ''].join('\n');
    expect(output).toContain('session started');
    expectNoSecret(output, [...proxy.secrets, emulator.credentials.secretAccessKey, WRONG_SECRET]);
  });

  it('ssm-tunnel open at log level trace, with a session token in the environment', async () => {
    const { destination, emulator, proxy } = await setup();
    const env = {
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
    };
    const args = ['open', '--target', TARGET, '--remote-host', '127.0.0.1', '--remote-port', String(destination.port), '--endpoint', proxy.endpoint, '--region', emulator.region];
    const cli: CliProcess = spawnCli([...args, '--log-level', 'trace', '--log-format', 'json'], { env });
    cleanups.push(() => cli.kill());
    await waitFor(() => cli.stdout.includes('Waiting for connections...'), 'the ready line');
    const localPort = Number(/^Forwarding 127\.0\.0\.1:(\d+)/m.exec(cli.stdout)?.[1]);
    const payload = randomBytes(20_000);
    expect((await roundTrip(localPort, payload)).equals(payload)).toBe(true);
    const sessionId = emulator.record.sessions[0]!.sessionId;
    emulator.session(sessionId).dropConnection();
    await waitFor(() => emulator.record.apiCalls.some((call) => call.operation === 'ResumeSession' && call.error === undefined), 'a resume');
    expect((await roundTrip(localPort, payload)).equals(payload)).toBe(true);
    cli.child.kill('SIGINT');
    await cli.exited;

    const refused = spawnCli([...args, '--log-level', 'trace'], { env: { ...env, AWS_SECRET_ACCESS_KEY: WRONG_SECRET } });
    cleanups.push(() => refused.kill());
    expect((await refused.exited).code).toBe(1);
    expect(refused.stderr).toMatch(/signature/i);

    expect(proxy.secrets).toContain(SESSION_TOKEN);
    expectNoSecret([cli.stdout, cli.stderr, refused.stdout, refused.stderr].join('\n'), [...proxy.secrets, emulator.credentials.secretAccessKey, WRONG_SECRET]);
  });
});
