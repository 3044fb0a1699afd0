/*
 * Corporate networks: an outbound HTTP proxy (a real one, in this process) and custom CAs, against
 * the emulator serving https and wss as AWS does. The API endpoint is given as `localhost` and the
 * emulator's StreamUrl says `127.0.0.1`, so the proxy's CONNECTs tell the API host and the stream
 * host apart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { NetworkAgent } from '../../src/aws/network.js';
import { createSsmSessionApi } from '../../src/aws/ssm-session-api.js';
import { ClientDataChannel } from '../../src/channel/client-data-channel.js';
import { createTlsIdentity } from '../../src/emulator/tls-certificate.js';
import { openTunnel, type Tunnel, type TunnelOptions } from '../../src/index.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { bulkServer, echoServer, type BulkRecord, type Destination } from '../helpers/destinations.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js';
import { bulkTransfer, roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';
const PROXY_USER = 'alice';
const PROXY_PASSWORD = 'pr0xy-s3cret-pw';
const PROXY_ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy', 'AWS_CA_BUNDLE', 'AWS_CONFIG_FILE', 'AWS_PROFILE'];

const cleanups: (() => Promise<unknown>)[] = [];
const savedEnv = new Map<string, string | undefined>();

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  savedEnv.clear();
});

/** Sets proxy and CA variables for this test only (the SDK and proxy-from-env read process.env). */
function setEnv(values: Record<string, string>): void {
  for (const name of PROXY_ENV) {
    if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
    delete process.env[name];
  }
  Object.assign(process.env, values);
}

function captureLogs() {
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => text.join('') };
}

interface Setup {
  emulator: Emulator;
  /** `records` for the bulk server. */
  destination: Destination & { records?: BulkRecord[] };
  /** `https://localhost:<port>`: the API host as the proxy sees it. */
  apiEndpoint: string;
  apiHost: string;
  /** `127.0.0.1:<port>`: the stream host as the proxy sees it. */
  streamHost: string;
  logs: ReturnType<typeof captureLogs>;
  open(extra?: Partial<TunnelOptions>): Promise<Tunnel>;
}

async function setup(options: { bulk?: boolean; pacing?: boolean } = {}): Promise<Setup> {
  setEnv({});
  const destination = options.bulk ? await bulkServer() : await echoServer();
  const emulator = await startEmulator({ tls: true, pacing: options.pacing ?? false, targets: { [TARGET]: {} } });
  cleanups.push(() => destination.close(), () => emulator.close());
  const logs = captureLogs();
  const apiEndpoint = `https://localhost:${emulator.port}`;
  return {
    emulator,
    destination,
    apiEndpoint,
    apiHost: `localhost:${emulator.port}`,
    streamHost: `127.0.0.1:${emulator.port}`,
    logs,
    async open(extra = {}) {
      const tunnel = await openTunnel({
        target: TARGET,
        remoteHost: '127.0.0.1',
        remotePort: destination.port,
        endpoint: apiEndpoint,
        region: emulator.region,
        credentials: emulator.credentials,
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
        connectTimeoutMs: 20_000,
        logger: logs.logger,
        ...extra,
      });
      cleanups.push(() => tunnel.close());
      return tunnel;
    },
  };
}

async function proxy(credentials?: { user: string; password: string }): Promise<ForwardProxy> {
  const started = await startForwardProxy(credentials);
  cleanups.push(() => started.close());
  return started;
}

async function expectByteExact(tunnel: Tunnel): Promise<void> {
  const payload = randomBytes(200_000);
  expect((await roundTrip(tunnel.localPort, payload)).equals(payload)).toBe(true);
}

describe('behind an HTTP proxy, against the emulator over TLS', () => {
  it('carries data byte-exact with HTTPS_PROXY set, and the proxy saw CONNECTs to the API host and to the stream host', async () => {
    const s = await setup();
    const forward = await proxy();
    setEnv({ HTTPS_PROXY: forward.url });
    const tunnel = await s.open({ caBundle: s.emulator.caFile! });
    await expectByteExact(tunnel);
    expect(forward.connects).toContain(s.apiHost);
    expect(forward.connects).toContain(s.streamHost);
  });

  it('goes direct when NO_PROXY matches the endpoint and the stream host', async () => {
    const s = await setup();
    const forward = await proxy();
    setEnv({ HTTPS_PROXY: forward.url, NO_PROXY: `example.com,localhost,127.0.0.1:${s.emulator.port}` });
    const tunnel = await s.open({ caBundle: s.emulator.caFile! });
    await expectByteExact(tunnel);
    expect(forward.connects).toEqual([]);
  });

  it('passes the credentials of the proxy URL to a proxy that requires them', async () => {
    const s = await setup();
    const forward = await proxy({ user: PROXY_USER, password: PROXY_PASSWORD });
    const tunnel = await s.open({ proxy: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${forward.port}`, caBundle: s.emulator.caFile! });
    await expectByteExact(tunnel);
    expect(forward.refused).toEqual([]);
    expect(forward.connects).toEqual(expect.arrayContaining([s.apiHost, s.streamHost]));
    expect(s.logs.text()).not.toContain(PROXY_PASSWORD);
  });

  it('fails at once with ERR_PROXY_AUTH naming the proxy, its password redacted, when the password is wrong', async () => {
    const s = await setup();
    const forward = await proxy({ user: PROXY_USER, password: PROXY_PASSWORD });
    const wrong = 'wr0ng-pa55word';
    const error = (await s.open({ proxy: `http://${PROXY_USER}:${wrong}@127.0.0.1:${forward.port}`, caBundle: s.emulator.caFile! }).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(error.code).toBe('ERR_PROXY_AUTH');
    expect(error.message).toContain(`http://${PROXY_USER}:***@127.0.0.1:${forward.port}`);
    expect(error.message).toContain('407');
    expect(forward.refused).toContain(s.apiHost);
    expect(`${error.message}\n${String(error.stack)}\n${s.logs.text()}`).not.toContain(wrong);
  });

  it('an explicit proxy option wins over HTTPS_PROXY, and proxy: none ignores it', async () => {
    const s = await setup();
    const fromEnv = await proxy();
    const fromOption = await proxy();
    setEnv({ HTTPS_PROXY: fromEnv.url });
    await expectByteExact(await s.open({ proxy: fromOption.url, caBundle: s.emulator.caFile! }));
    await expectByteExact(await s.open({ proxy: 'none', caBundle: s.emulator.caFile! }));
    expect(fromOption.connects).toEqual(expect.arrayContaining([s.apiHost, s.streamHost]));
    expect(fromEnv.connects).toEqual([]);
  });

  it('speaks TLS to an https:// proxy, trusting its CA from the same bundle as the emulator', async () => {
    const s = await setup();
    const identity = await createTlsIdentity();
    cleanups.push(() => identity.remove());
    const forward = await startForwardProxy(undefined, identity);
    cleanups.push(() => forward.close());
    const bundle = join(identity.caFile, '..', 'both.pem');
    await writeFile(bundle, `${identity.caCertificate.trim()}\n${s.emulator.caCertificate!.trim()}\n`);
    expect(forward.url).toMatch(/^https:/);
    const untrusted = (await s.open({ proxy: forward.url, caBundle: s.emulator.caFile! }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(untrusted.code).toBe('ERR_TLS_CERTIFICATE');
    expect(untrusted.message).toBe(`self-signed certificate in certificate chain for the proxy ${forward.url}; set AWS_CA_BUNDLE or caBundle`);
    await expectByteExact(await s.open({ proxy: forward.url, caBundle: bundle }));
    expect(forward.connects).toEqual(expect.arrayContaining([s.apiHost, s.streamHost]));
  });

  it('resumes through the proxy when the proxy drops the WebSocket mid-transfer, byte-exact', async () => {
    const s = await setup({ bulk: true, pacing: true });
    const forward = await proxy();
    setEnv({ HTTPS_PROXY: forward.url });
    const tunnel = await s.open({ caBundle: s.emulator.caFile! });
    const size = 1 << 20;
    const transfer = bulkTransfer(tunnel.localPort, size, size);
    await waitFor(() => tunnel.stats.bytesDown > 64 * 1024, 'the transfer to be under way');
    expect(forward.dropTunnels(s.streamHost)).toBe(1);
    const result = await transfer;
    expect(result.received).toBe(size);
    await waitFor(() => s.destination.records?.[0] !== undefined, 'the destination to finish');
    expect(s.destination.records![0]).toMatchObject({ received: size, receivedSha256: result.sentSha256, sentSha256: result.receivedSha256 });
    expect(tunnel.stats.resumes).toBeGreaterThanOrEqual(1);
    expect(forward.connects.filter((target) => target === s.streamHost).length).toBeGreaterThanOrEqual(2);
  });

  it('rejects an http proxy URL that is not one, naming the option with the password redacted', async () => {
    const s = await setup();
    const error = (await s.open({ proxy: 'socks5://bob:hunter2@127.0.0.1:1080' }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toMatch(/proxy must be "none" or an http:\/\/ or https:\/\/ proxy URL/);
    expect(error.message).not.toContain('hunter2');
  });
});

describe('CA bundles, against the emulator over TLS', () => {
  it('fails with ERR_TLS_CERTIFICATE naming the API host and the fix when the CA is unknown', async () => {
    const s = await setup();
    const error = (await s.open().catch((e: unknown) => e)) as Error & { code?: string };
    expect(error.code).toBe('ERR_TLS_CERTIFICATE');
    expect(error.message).toBe('self-signed certificate in certificate chain for localhost; set AWS_CA_BUNDLE or caBundle');
  });

  it('fails the data channel with the same error when only the WebSocket meets an unknown CA', async () => {
    const s = await setup();
    const api = createSsmSessionApi({ endpoint: s.apiEndpoint, region: s.emulator.region, credentials: s.emulator.credentials, caBundle: s.emulator.caFile! });
    cleanups.push(() => Promise.resolve(api.destroy()));
    const grant = await api.startSession({ target: TARGET, remoteHost: '127.0.0.1', remotePort: s.destination.port });
    const channel = new ClientDataChannel({ ...grant, resumeSession: (id) => api.resumeSession(id), agent: new NetworkAgent({ proxy: 'none' }) });
    const error = (await channel.open().catch((e: unknown) => e)) as Error & { code?: string };
    expect(error.code).toBe('ERR_TLS_CERTIFICATE');
    expect(error.message).toBe('self-signed certificate in certificate chain for 127.0.0.1; set AWS_CA_BUNDLE or caBundle');
  });

  it('trusts the CA given by AWS_CA_BUNDLE, for the API and the WebSocket', async () => {
    const s = await setup();
    setEnv({ AWS_CA_BUNDLE: s.emulator.caFile! });
    await expectByteExact(await s.open());
  });

  it("trusts the profile's ca_bundle from the shared config file", async () => {
    const s = await setup();
    const directory = await mkdtemp(join(tmpdir(), 'ssm-tunnel-config-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const configFile = join(directory, 'config');
    await writeFile(configFile, `[default]\nregion = eu-west-1\n\n[profile corp]\nca_bundle = ${s.emulator.caFile!}\n`);
    setEnv({ AWS_CONFIG_FILE: configFile, AWS_PROFILE: 'corp' });
    await expectByteExact(await s.open());
  });

  it('fails with ERR_CA_BUNDLE naming the file when the bundle cannot be read', async () => {
    const s = await setup();
    const error = (await s.open({ caBundle: '/nonexistent/ca.pem' }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(error.code).toBe('ERR_CA_BUNDLE');
    expect(error.message).toMatch(/cannot read the CA bundle \/nonexistent\/ca\.pem \(caBundle option\)/);
  });
});
