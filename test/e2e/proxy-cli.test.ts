/*
 * The CLI behind a proxy and with CA bundles, as users run it: `open`, `up`, `check --connect` and
 * `emulator --tls` as child processes, a real forward proxy in this process, the emulator over TLS.
 * No output of any of them may contain the proxy password.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTunnel } from '../../src/index.js';
import { EMULATOR_CREDENTIALS, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli.js';
import { daemonConfigYaml } from '../helpers/daemon-config.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js';
import { roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';
const USER = 'alice';
const PASSWORD = 'pr0xy-s3cret-pw';
const WRONG = 'wr0ng-pa55word';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface World {
  emulator: Emulator;
  destination: Destination;
  proxy: ForwardProxy;
  /** `https://localhost:<port>`, so the proxy's CONNECTs tell the API host from the stream host (127.0.0.1). */
  endpoint: string;
  directory: string;
  env: Record<string, string>;
}

async function world(proxyCredentials?: { user: string; password: string }): Promise<World> {
  const destination = await echoServer();
  const emulator = await startEmulator({ tls: true, pacing: false, targets: { [TARGET]: {} } });
  const proxy = await startForwardProxy(proxyCredentials);
  const directory = await mkdtemp(join(tmpdir(), 'ssm-tunnel-proxy-cli-'));
  cleanups.push(
    () => destination.close(),
    () => emulator.close(),
    () => proxy.close(),
    () => rm(directory, { recursive: true, force: true }),
  );
  const env = { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey };
  return { emulator, destination, proxy, endpoint: `https://localhost:${emulator.port}`, directory, env };
}

function track(cli: CliProcess): CliProcess {
  cleanups.push(() => cli.kill());
  return cli;
}

/** The local port `open` prints once its session is up; fails with its stderr if it exits first. */
async function readyPort(open: CliProcess): Promise<number> {
  await waitFor(() => {
    if (open.child.exitCode !== null) throw new Error(`open exited ${open.child.exitCode}: ${open.stderr}`);
    return open.stdout.includes('Waiting for connections...');
  }, 'the ready line');
  return Number(/^Forwarding 127\.0\.0\.1:(\d+)/m.exec(open.stdout)?.[1]);
}

function openArgs(w: World, ...extra: string[]): string[] {
  return ['open', '--target', TARGET, '--remote-host', '127.0.0.1', '--remote-port', String(w.destination.port), '--endpoint', w.endpoint, '--region', w.emulator.region, ...extra];
}

async function writeConfig(w: World, tunnelExtra: Record<string, unknown>): Promise<string> {
  const path = join(w.directory, 'tunnels.yaml');
  const emulator = { endpoint: w.endpoint, region: w.emulator.region, credentials: w.emulator.credentials };
  await writeFile(path, daemonConfigYaml({ emulator, tunnels: [{ name: 'db', target: TARGET, remoteHost: '127.0.0.1', remotePort: w.destination.port, extra: tunnelExtra }] }));
  return path;
}

describe('ssm-tunnel behind a proxy', () => {
  it('open forwards byte-exact with HTTPS_PROXY and AWS_CA_BUNDLE from the environment, through the proxy', async () => {
    const w = await world();
    const open = track(spawnCli(openArgs(w), { env: { ...w.env, HTTPS_PROXY: w.proxy.url, AWS_CA_BUNDLE: w.emulator.caFile! } }));
    const port = await readyPort(open);
    const payload = randomBytes(100_000);
    expect((await roundTrip(port, payload)).equals(payload)).toBe(true);
    expect(w.proxy.connects).toEqual(expect.arrayContaining([`localhost:${w.emulator.port}`, `127.0.0.1:${w.emulator.port}`]));
  });

  it('open exits 1 naming the proxy, password redacted, when the proxy refuses the password', async () => {
    const w = await world({ user: USER, password: PASSWORD });
    const proxyUrl = `http://${USER}:${WRONG}@127.0.0.1:${w.proxy.port}`;
    const result = await runCli(openArgs(w, '--proxy', proxyUrl, '--ca-bundle', w.emulator.caFile!, '--log-level', 'debug', '--log-format', 'json'), { env: w.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`ssm-tunnel: the proxy http://${USER}:***@127.0.0.1:${w.proxy.port} refused CONNECT to localhost:${w.emulator.port}: 407`);
    expect(`${result.stdout}${result.stderr}`).not.toContain(WRONG);
  });

  it('open exits 1 with the certificate error when the CA is unknown', async () => {
    const w = await world();
    const result = await runCli(openArgs(w), { env: w.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ssm-tunnel: self-signed certificate in certificate chain for localhost; set AWS_CA_BUNDLE or caBundle');
  });

  it('open trusts NODE_EXTRA_CA_CERTS, alone and next to a --ca-bundle of another CA (a bundle adds to the CAs, not replaces them)', async () => {
    const w = await world();
    const other = await startEmulator({ tls: true, targets: {} });
    cleanups.push(() => other.close());
    for (const extra of [[], ['--ca-bundle', other.caFile!]]) {
      const open = track(spawnCli(openArgs(w, '--proxy', 'none', ...extra), { env: { ...w.env, NODE_EXTRA_CA_CERTS: w.emulator.caFile! } }));
      const port = await readyPort(open);
      const payload = randomBytes(20_000);
      expect((await roundTrip(port, payload)).equals(payload)).toBe(true);
      await open.kill();
    }
  });

  it('the daemon keeps retrying a tunnel whose proxy refuses the password, and never logs it', async () => {
    const w = await world({ user: USER, password: PASSWORD });
    const config = await writeConfig(w, { proxy: `http://${USER}:${WRONG}@127.0.0.1:${w.proxy.port}`, caBundle: w.emulator.caFile! });
    const daemon = track(spawnCli(['up', '--config', config], { env: {} }));
    await daemon.waitForLog((log) => log.msg === 'daemon started', 'the daemon to start');
    await waitFor(() => w.proxy.refused.length >= 3, 'three attempts through the proxy');
    const failures = daemon.logs.filter((log) => typeof log.err === 'string' && log.err.includes('407'));
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]!.err).toContain(`http://${USER}:***@127.0.0.1:${w.proxy.port}`);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    expect(`${daemon.stdout}${daemon.stderr}`).not.toContain(WRONG);
  });

  it('check --connect shows the proxy (redacted) and the CA source, and reaches the destination through them', async () => {
    const w = await world({ user: USER, password: PASSWORD });
    const config = await writeConfig(w, { proxy: `http://${USER}:${PASSWORD}@127.0.0.1:${w.proxy.port}`, caBundle: w.emulator.caFile! });
    const result = await runCli(['check', '--config', config, '--connect'], { env: {} });
    expect(result.stdout).toMatch(new RegExp(`^db +http://${USER}:\\*\\*\\*@127\\.0\\.0\\.1:${w.proxy.port} \\(proxy option\\) +${w.emulator.caFile!.replace(/[.]/g, '\\.')} \\(caBundle option\\)`, 'm'));
    expect(result.stdout).toMatch(/^db +reachable/m);
    expect(result.code).toBe(0);
    expect(w.proxy.connects).toContain(`127.0.0.1:${w.emulator.port}`);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
  });

  it('check --connect --proxy none --ca-bundle FILE overrides the config and the environment', async () => {
    const w = await world();
    const config = await writeConfig(w, { proxy: w.proxy.url });
    const result = await runCli(['check', '--config', config, '--connect', '--proxy', 'none', '--ca-bundle', w.emulator.caFile!], { env: { HTTPS_PROXY: w.proxy.url } });
    expect(result.stdout).toMatch(/^db +direct \(proxy: none\)/m);
    expect(result.stdout).toMatch(/^db +reachable/m);
    expect(w.proxy.connects).toEqual([]);
  });

  it('the config refuses a proxy that is not an http(s) URL, with line and column and without echoing it', async () => {
    const w = await world();
    const config = await writeConfig(w, { proxy: 'socks5://bob:hunter2@127.0.0.1:1080' });
    const result = await runCli(['check', '--config', config], { env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/tunnels\.yaml:\d+:\d+ tunnels\[0\]\.proxy: expected none, or a proxy URL/);
    expect(result.stderr).not.toContain('hunter2');
  });
});

describe('ssm-tunnel emulator --tls', () => {
  it('serves https and wss, prints its CA file with the credentials, and removes it on exit', async () => {
    const destination = await echoServer();
    cleanups.push(() => destination.close());
    const emulator = track(spawnCli(['emulator', '--tls', '--no-pacing', '--target', `${TARGET}=127.0.0.1:${destination.port}`]));
    await waitFor(() => emulator.stdout.includes('Then, for example:'), 'the emulator to print its instructions');
    const endpoint = /listening on (https:\/\/\S+)/.exec(emulator.stdout)?.[1];
    const caFile = /export AWS_CA_BUNDLE=(\S+)/.exec(emulator.stdout)?.[1];
    expect(endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(caFile).toBeDefined();
    const tunnel = await openTunnel({
      target: TARGET,
      remotePort: destination.port,
      endpoint: endpoint!,
      region: 'us-east-1',
      credentials: EMULATOR_CREDENTIALS,
      caBundle: caFile!,
      proxy: 'none',
    });
    cleanups.push(() => tunnel.close());
    const payload = randomBytes(50_000);
    expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
    await tunnel.close();
    emulator.child.kill('SIGINT');
    expect((await emulator.exited).code).toBe(0);
    expect(existsSync(caFile!)).toBe(false);
  });
});
