/*
 * `ssm-tunnel socks` as users run it: the built CLI against the emulator, curl as the client.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli, type CliProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { curl, CURL_SOCKS_REFUSED, curlSkipReason } from '../helpers/curl.js';

const TARGET = 'i-0123456789abcdef0';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function webServer(name: string): Promise<number> {
  const server: Server = createServer((_req, res) => res.end(`hello from ${name}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => Promise.resolve(server.closeAllConnections()));
  return (server.address() as AddressInfo).port;
}

async function startSocks(emulator: Emulator, extra: string[] = []): Promise<{ cli: CliProcess; proxy: string }> {
  const cli = spawnCli(
    ['socks', '--target', TARGET, '--listen', '127.0.0.1:0', '--endpoint', emulator.endpoint, '--region', emulator.region, '--log-format', 'json', ...extra],
    { env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey } },
  );
  cleanups.push(() => cli.kill());
  await waitFor(() => cli.stdout.includes('\n') || cli.child.exitCode !== null, 'the listening line');
  const match = /^Proxy listening on 127\.0\.0\.1:(\d+) \(SOCKS5 and HTTP CONNECT\)$/m.exec(cli.stdout);
  expect(match, `${cli.stdout}\n${cli.stderr}`).not.toBeNull();
  return { cli, proxy: `127.0.0.1:${match![1]}` };
}

describe.skipIf(curlSkipReason !== undefined)('ssm-tunnel socks', () => {
  it('serves SOCKS5 and HTTP CONNECT on one port, logs each request, and ends every session on Ctrl-C', async () => {
    const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    cleanups.push(() => emulator.close());
    const one = await webServer('one');
    const two = await webServer('two');
    const { cli, proxy } = await startSocks(emulator);
    expect(await curl(['--socks5-hostname', proxy, `http://localhost:${one}/`])).toMatchObject({ code: 0, stdout: 'hello from one' });
    expect(await curl(['--proxytunnel', '-x', `http://${proxy}`, `http://localhost:${two}/`])).toMatchObject({ code: 0, stdout: 'hello from two' });
    expect(emulator.record.sessions).toHaveLength(2);
    const sessionOne = emulator.record.sessions.find((s) => s.parameters.portNumber?.[0] === String(one))!.sessionId;
    await waitFor(() => cli.stderr.includes(`CONNECT localhost:${one} -> session ${sessionOne}`), 'the request log line');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(emulator.record.sessions.map((s) => s.state)).toEqual(['terminated', 'terminated']);
  });

  it('refuses destinations outside --allow', async () => {
    const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    cleanups.push(() => emulator.close());
    const port = await webServer('private');
    const { cli, proxy } = await startSocks(emulator, ['--allow', `localhost:${port}`]);
    expect(await curl(['--socks5-hostname', proxy, `http://127.0.0.1:${port}/`])).toMatchObject({ code: CURL_SOCKS_REFUSED });
    expect(await curl(['--socks5-hostname', proxy, `http://localhost:${port}/`])).toMatchObject({ code: 0, stdout: 'hello from private' });
    await waitFor(() => cli.stderr.includes(`127.0.0.1:${port} is not in the proxy's allow list`), 'the denial log line');
    expect(emulator.record.sessions).toHaveLength(1);
  });

  it('exits 2 naming a bad allow-list entry', async () => {
    const emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
    cleanups.push(() => emulator.close());
    const cli = spawnCli(['socks', '--target', TARGET, '--listen', '127.0.0.1:0', '--allow', 'db.internal', '--endpoint', emulator.endpoint, '--region', emulator.region]);
    cleanups.push(() => cli.kill());
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr).toContain('allow[0]');
  });
});
