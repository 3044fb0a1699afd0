/*
 * `ssm-tunnel up` as a real process against the emulator: three tunnels, faults, SIGHUP reloads
 * (valid and invalid), the status endpoint, SIGTERM. The steps share one daemon and run in order.
 * Needs `npm run build`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonStatus, TunnelStatus } from '../../src/daemon/tunnel-status.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { runCli, spawnCli, type CliProcess } from '../helpers/cli.js';
import { daemonConfigYaml, type TestDaemonConfig, type TestTunnel } from '../helpers/daemon-config.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { connectTo, echoRoundTrip, echoThrough } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

const TARGET = 'i-0123456789abcdef0';

/**
 * Forwards the SSM API calls to the emulator and keeps every TokenValue it returns, so the test
 * can check that none of them reaches the daemon's output.
 */
interface TokenRecorder {
  endpoint: string;
  tokens: string[];
  close(): Promise<void>;
}

async function tokenRecorder(upstream: string): Promise<TokenRecorder> {
  const tokens: string[] = [];
  const server: Server = createServer((request, response) => {
    const body: Buffer[] = [];
    request.on('data', (chunk: Buffer) => body.push(chunk));
    request.on('end', () => {
      const forward = httpRequest(new URL(request.url ?? '/', upstream), { method: request.method, headers: request.headers }, (answer) => {
        const answerBody: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerBody.push(chunk));
        answer.on('end', () => {
          const text = Buffer.concat(answerBody).toString('utf8');
          const token = /"TokenValue"\s*:\s*"([^"]+)"/.exec(text)?.[1];
          if (token !== undefined) tokens.push(token);
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          response.end(text);
        });
      });
      forward.on('error', (error) => response.destroy(error));
      forward.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let emulator: Emulator;
let recorder: TokenRecorder;
let echo: Destination;
let otherEcho: Destination;
let dir: string;
let configFile: string;
let daemon: CliProcess;
let statusUrl: string;

function configFor(tunnels: TestTunnel[]): TestDaemonConfig {
  return {
    emulator: { endpoint: recorder.endpoint, region: emulator.region, credentials: emulator.credentials },
    tunnels,
    status: '127.0.0.1:0',
    shutdownGrace: '1s',
  };
}

beforeAll(async () => {
  emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
  recorder = await tokenRecorder(emulator.endpoint);
  echo = await echoServer();
  otherEcho = await echoServer();
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-e2e-daemon-'));
  configFile = join(dir, 'tunnels.yaml');
  const tunnels = ['alpha', 'beta', 'gamma'].map((name) => ({ name, target: TARGET, remotePort: echo.port }));
  await writeFile(configFile, daemonConfigYaml(configFor(tunnels)));
  daemon = spawnCli(['up', '--config', configFile]);
  const listening = await daemon.waitForLog((log) => log.msg === 'status endpoint listening', 'the status endpoint');
  statusUrl = new URL(String(listening.url)).origin;
});

afterAll(async () => {
  await daemon.kill();
  await Promise.all([emulator.close(), recorder.close(), echo.close(), otherEcho.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function fetchStatus(): Promise<DaemonStatus> {
  const response = await fetch(`${statusUrl}/status`);
  return (await response.json()) as DaemonStatus;
}

async function tunnel(name: string): Promise<TunnelStatus> {
  const found = (await fetchStatus()).tunnels.find((t) => t.name === name);
  if (found === undefined) throw new Error(`the daemon reports no tunnel ${name}`);
  return found;
}

async function waitUntil(name: string, condition: (t: TunnelStatus) => boolean, what: string): Promise<TunnelStatus> {
  let last: TunnelStatus | undefined;
  await waitFor(async () => {
    last = (await fetchStatus()).tunnels.find((t) => t.name === name);
    return last !== undefined && condition(last);
  }, `${name}: ${what}`);
  return last!;
}

describe('ssm-tunnel up', () => {
  const ready = (t: TunnelStatus): boolean => t.state === 'ready';
  const first: Record<string, TunnelStatus> = {};
  let secondBeta: TunnelStatus;
  let alphaSocket: Socket;

  it('brings up three tunnels that forward byte for byte', async () => {
    for (const name of ['alpha', 'beta', 'gamma']) {
      first[name] = await waitUntil(name, ready, 'ready');
      await echoThrough(first[name].local.port);
    }
    const health = await fetch(`${statusUrl}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    // One log line per connection, with the tunnel's name, byte counts and duration.
    await daemon.waitForLog((log) => log.tunnel === 'gamma' && log.msg === 'connection closed', 'a connection log line');
    expect(daemon.logs.find((log) => log.tunnel === 'gamma' && log.msg === 'connection closed')).toMatchObject({
      bytesUp: 65536,
      bytesDown: 65536,
      durationMs: expect.any(Number) as number,
    });
    expect(daemon.logs).toContainEqual(expect.objectContaining({ tunnel: 'alpha', msg: 'tunnel state', state: 'ready' }));
  });

  it('recovers from a dropped WebSocket (resume) and an ended session (new session) while the third tunnel keeps serving', async () => {
    alphaSocket = await connectTo(first.alpha!.local.port);
    const gammaSocket = await connectTo(first.gamma!.local.port);
    await echoRoundTrip(alphaSocket);
    await echoRoundTrip(gammaSocket);

    emulator.session(first.alpha!.sessionId!).dropConnection();
    expect(emulator.session(first.beta!.sessionId!).end('terminated')).toBe(true);
    await echoRoundTrip(gammaSocket);

    const alpha = await waitUntil('alpha', (t) => ready(t) && t.resumes === 1, 'resumed');
    expect(alpha.sessionId).toBe(first.alpha!.sessionId);
    await echoRoundTrip(alphaSocket); // the same local connection, across the resume
    secondBeta = await waitUntil('beta', (t) => ready(t) && t.reconnects === 1, 'a new session');
    expect(secondBeta.sessionId).not.toBe(first.beta!.sessionId);
    await echoThrough(secondBeta.local.port);
    await echoRoundTrip(gammaSocket);
    expect(await tunnel('gamma')).toMatchObject({ sessionId: first.gamma!.sessionId, resumes: 0, reconnects: 0 });
    gammaSocket.destroy();
  });

  it('serves /healthz, /status and /metrics, and `ssm-tunnel status` prints them', async () => {
    const health = await fetch(`${statusUrl}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);

    const status = await fetchStatus();
    expect(status.configFile).toBe(configFile);
    expect(status.tunnels.map((t) => [t.name, t.state, t.target, t.remote, t.mode])).toEqual(
      ['alpha', 'beta', 'gamma'].map((name) => [name, 'ready', TARGET, { host: null, port: echo.port }, 'mux']),
    );
    const alpha = status.tunnels[0]!;
    expect(alpha).toMatchObject({ resumes: 1, reconnects: 0, openConnections: 1 });
    expect(alpha.bytesUp).toBeGreaterThanOrEqual(3 * 65536);
    const sessions = emulator.record.sessions;
    for (const t of status.tunnels) expect(sessions.find((s) => s.sessionId === t.sessionId)?.state).toBe('connected');

    const metrics = await fetch(`${statusUrl}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await metrics.text();
    for (const line of [
      '# TYPE ssm_tunnel_up gauge',
      'ssm_tunnel_up{tunnel="alpha"} 1',
      'ssm_tunnel_up{tunnel="beta"} 1',
      'ssm_tunnel_connections_open{tunnel="alpha"} 1',
      '# TYPE ssm_tunnel_resumes_total counter',
      'ssm_tunnel_resumes_total{tunnel="alpha"} 1',
      'ssm_tunnel_reconnects_total{tunnel="beta"} 1',
      `ssm_tunnel_bytes_total{tunnel="gamma",direction="down"} ${(await tunnel('gamma')).bytesDown}`,
    ]) {
      expect(text.split('\n')).toContain(line);
    }

    const table = await runCli(['status', '--url', statusUrl]);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toMatch(/^NAME\s+STATE\s+LOCAL\s+TARGET\s+REMOTE\s+SESSION/);
    expect(rows[1]).toMatch(new RegExp(`^alpha\\s+ready\\s+127\\.0\\.0\\.1:${alpha.local.port}\\s+${TARGET}\\s+\\(target\\):${echo.port}\\s+${alpha.sessionId}`));
  });

  it('reloads on SIGHUP: adds, removes and restarts tunnels, and an open connection on an unchanged one survives', async () => {
    await echoRoundTrip(alphaSocket);
    const otherConnections = otherEcho.connections;
    await writeFile(
      configFile,
      daemonConfigYaml(
        configFor([
          { name: 'alpha', target: TARGET, remotePort: echo.port },
          { name: 'gamma', target: TARGET, remotePort: otherEcho.port },
          { name: 'delta', target: TARGET, remotePort: echo.port },
        ]),
      ),
    );
    daemon.child.kill('SIGHUP');
    const summary = await daemon.waitForLog((log) => typeof log.msg === 'string' && log.msg.startsWith('reloaded:'), 'the reload summary');
    expect(summary).toMatchObject({ msg: 'reloaded: 1 added, 1 removed, 1 changed, 1 unchanged', added: ['delta'], removed: ['beta'], changed: ['gamma'], unchanged: ['alpha'] });

    await echoRoundTrip(alphaSocket);
    expect(await tunnel('alpha')).toMatchObject({ sessionId: first.alpha!.sessionId, openConnections: 1 });
    expect((await fetchStatus()).tunnels.map((t) => t.name)).toEqual(['alpha', 'gamma', 'delta']);

    const removed = emulator.sessionRecord(secondBeta.sessionId!);
    expect(removed?.flags.map((f) => f.name)).toContain('TerminateSession');
    expect(removed?.state).toBe('terminated');

    const gamma = await waitUntil('gamma', ready, 'ready after the restart');
    expect(gamma.sessionId).not.toBe(first.gamma!.sessionId);
    await echoThrough(gamma.local.port);
    expect(otherEcho.connections).toBe(otherConnections + 1);
    await echoThrough((await waitUntil('delta', ready, 'ready')).local.port);
  });

  it('rejects an invalid config on SIGHUP, naming file and line, and keeps the tunnels serving', async () => {
    const valid = await readFile(configFile, 'utf8');
    const invalid = valid.replace(`port: ${otherEcho.port}`, 'port: 54x2');
    const line = invalid.split('\n').findIndex((l) => l.includes('54x2')) + 1;
    await writeFile(configFile, invalid);
    daemon.child.kill('SIGHUP');
    await daemon.waitForLog((log) => log.msg === 'reload rejected: the config is invalid; the running tunnels are unchanged', 'the rejection');
    expect(daemon.logs).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringMatching(new RegExp(`^${configFile}:${line}:\\d+ tunnels\\[1\\]\\.remote\\.port: expected an integer 1–65535, got "54x2"$`)) as string }),
    );
    await echoRoundTrip(alphaSocket);
    await echoThrough((await tunnel('gamma')).local.port);
    await echoThrough((await tunnel('delta')).local.port);
    await writeFile(configFile, valid);
  });

  it('exits 0 on SIGTERM after TerminateSession for every session it had', async () => {
    alphaSocket.destroy();
    const live = (await fetchStatus()).tunnels.map((t) => t.sessionId!);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.logs.at(-1)).toMatchObject({ msg: 'daemon stopped' });

    const { sessions, apiCalls } = emulator.record;
    const terminated = (sessionId: string): boolean =>
      sessions.find((s) => s.sessionId === sessionId)!.flags.some((f) => f.name === 'TerminateSession') ||
      apiCalls.some((call) => call.operation === 'TerminateSession' && call.sessionId === sessionId && call.error === undefined);
    for (const sessionId of live) expect(terminated(sessionId), sessionId).toBe(true);
    // Every session the daemon started, except the one the emulator itself ended, was ended by the daemon.
    for (const session of sessions.filter((s) => s.sessionId !== first.beta!.sessionId)) {
      expect(terminated(session.sessionId), session.sessionId).toBe(true);
      expect(session.state).toBe('terminated');
    }
  });

  it('never printed a token or a secret key', () => {
    // StartSession for four tunnels, a restart of gamma, a new session for beta, a resume for alpha.
    expect(recorder.tokens.length).toBeGreaterThanOrEqual(7);
    const output = daemon.stdout + daemon.stderr;
    for (const token of recorder.tokens) expect(output.includes(token)).toBe(false);
    expect(output.includes(emulator.credentials.secretAccessKey)).toBe(false);
  });
});
