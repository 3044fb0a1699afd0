import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { spawnCli } from '../helpers/cli.js';
import { echoServer, type Destination } from '../helpers/destinations.js';
import { cliCommand, startTerminal, tmuxTool, type TerminalSession } from '../helpers/tmux.js';
import { socksConnect } from '../helpers/socks-client.js';
import { roundTrip } from '../helpers/transfer.js';
import { waitFor } from '../helpers/wait.js';

/*
 * `open` at a real terminal (tmux): the event lines, the status line rewritten in place, colors
 * and NO_COLOR, the target picker driven by keystrokes; and the same command piped, unchanged.
 */

const WEB = 'i-0aaa0000000000001';
const DB = 'i-0bbb0000000000002';
const LAB = 'mi-0ccc000000000003';
const ESC = '\u001b[';

describe.skipIf(tmuxTool.skipReason !== undefined)('ssm-tunnel open at a terminal', () => {
  let emulator: Emulator;
  let destination: Destination;
  let terminal: TerminalSession | undefined;
  let cacheDir: string;

  beforeEach(async () => {
    destination = await echoServer();
    cacheDir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-cache-'));
    emulator = await startEmulator({
      pacing: false,
      targets: {
        [WEB]: { tags: { Name: 'web-1' } },
        [DB]: { tags: { Name: 'db-1' }, agentVersion: '3.0.0.0' },
        [LAB]: { tags: { Name: 'lab' }, pingStatus: 'ConnectionLost' },
      },
    });
  });

  afterEach(async () => {
    await terminal?.close();
    terminal = undefined;
    await emulator.close();
    await destination.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
      XDG_CACHE_HOME: cacheDir,
      ...extra,
    };
  }

  function openArgs(target: string[] = ['--target', WEB]): string[] {
    return ['open', ...target, '--remote-host', '127.0.0.1', '--remote-port', String(destination.port), '--endpoint', emulator.endpoint, '--region', emulator.region];
  }

  function localPortOf(screen: string): number {
    const match = /Forwarding 127\.0\.0\.1:(\d+) ->/.exec(screen);
    if (match === null) throw new Error(`no forwarding line on the screen:\n${screen}`);
    return Number(match[1]);
  }

  it('shows the forwarding line, one line per connection with its bytes, and a status line that follows the traffic', async () => {
    terminal = await startTerminal(cliCommand(openArgs()), { env: env() });
    const ready = await terminal.waitForScreen((s) => /● ready {2}session emulator-/.test(s), 'the ready status line');
    expect(ready).toMatch(/^\d\d:\d\d:\d\d Forwarding 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(session emulator-[0-9a-f]+\)$/m);
    expect(ready).toContain('connections 0 open / 0 total');
    expect(ready).not.toContain('"level"');

    const payload = randomBytes(100 * 1024);
    expect((await roundTrip(localPortOf(ready), payload)).equals(payload)).toBe(true);
    const after = await terminal.waitForScreen((s) => s.includes('#1 closed') && s.includes('connections 0 open / 1 total'), 'the closed connection and the updated status');
    expect(after).toMatch(/^\d\d:\d\d:\d\d #1 opened from 127\.0\.0\.1:\d+$/m);
    expect(after).toMatch(/^\d\d:\d\d:\d\d #1 closed {2}↑ 100\.0 KiB ↓ 100\.0 KiB in \S+$/m);
    // One status line, rewritten in place, and it is the last line on the screen.
    const lines = after.split('\n');
    expect(lines.filter((line) => line.startsWith('● ')).length).toBe(1);
    expect(lines.at(-1)).toMatch(/^● ready .* ↑ 100\.0 KiB \(\d+(\.\d)? (B|KiB|MiB)\/s\) {2}↓ 100\.0 KiB \(/);

    await terminal.sendKeys('C-c');
    expect(await terminal.exitCode()).toBe(0);
  });

  it('says when the connection to SSM drops, when the session is resumed, and when a lost session is replaced', async () => {
    terminal = await startTerminal(cliCommand(openArgs()), { env: env() });
    const ready = await terminal.waitForScreen((s) => s.includes('● ready'), 'the ready status line');
    const sessionId = /\(session (emulator-[0-9a-f]+)\)/.exec(ready)![1]!;
    emulator.session(sessionId).dropConnection();
    const resumed = await terminal.waitForScreen((s) => s.includes('session resumed'), 'the resume line');
    expect(resumed).toMatch(/^\d\d:\d\d:\d\d connection to SSM lost \(.+\); resuming the session$/m);
    expect(resumed).toMatch(/^\d\d:\d\d:\d\d session resumed$/m);

    emulator.session(sessionId).end('terminated', 'ended by the test');
    const replaced = await terminal.waitForScreen((s) => /new session emulator-/.test(s), 'the new session line');
    expect(replaced).toMatch(/^\d\d:\d\d:\d\d session lost \(.*ended by the test.*\); starting a new one$/m);
    const newId = /new session (emulator-[0-9a-f]+)/.exec(replaced)![1];
    expect(newId).not.toBe(sessionId);
    expect(replaced.split('\n').at(-1)).toContain(`session ${newId}`);
  });

  it('shows socks requests as lines with their destination and bytes, under a status line counting destination sessions', async () => {
    terminal = await startTerminal(
      cliCommand(['socks', '--target', WEB, '--listen', '127.0.0.1:0', '--endpoint', emulator.endpoint, '--region', emulator.region]),
      { env: env() },
    );
    const ready = await terminal.waitForScreen((s) => /● ready {2}0 destination sessions {2}connections 0 open \/ 0 total/.test(s), 'the ready status line');
    const match = /^\d\d:\d\d:\d\d Proxy listening on 127\.0\.0\.1:(\d+) \(SOCKS5 and HTTP CONNECT\)$/m.exec(ready);
    expect(match, ready).not.toBeNull();

    const { reply, socket } = await socksConnect(Number(match![1]), '127.0.0.1', destination.port);
    expect(reply).toBe(0);
    const payload = randomBytes(10 * 1024);
    socket.resume();
    const echoed: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => echoed.push(chunk));
    socket.write(payload);
    await waitFor(() => Buffer.concat(echoed).length >= payload.length, 'the echo through the proxy');
    socket.end();
    expect(Buffer.concat(echoed).equals(payload)).toBe(true);

    const after = await terminal.waitForScreen((s) => s.includes('#1 closed') && s.includes('1 destination session  connections 0 open / 1 total'), 'the closed request and the status');
    expect(after).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d #1 opened from 127\\.0\\.0\\.1:\\d+, CONNECT 127\\.0\\.0\\.1:${destination.port}$`, 'm'));
    expect(after).toMatch(/^\d\d:\d\d:\d\d #1 closed {2}↑ 10\.0 KiB ↓ 10\.0 KiB in \S+$/m);
    expect(after.split('\n').filter((line) => line.startsWith('● ')).length).toBe(1);

    await terminal.sendKeys('C-c');
    expect(await terminal.exitCode()).toBe(0);
    await waitFor(() => emulator.record.sessions.every((session) => session.state === 'terminated'), 'every session terminated');
  });

  it('colors the terminal output, and writes no escape sequence for colors with NO_COLOR set', async () => {
    terminal = await startTerminal(cliCommand(openArgs()), { env: env() });
    await terminal.waitForScreen((s) => s.includes('● ready'), 'the ready status line');
    expect(await terminal.screen({ escapes: true })).toContain(ESC);
    await terminal.close();

    terminal = await startTerminal(cliCommand(openArgs()), { env: env({ NO_COLOR: '1' }) });
    await terminal.waitForScreen((s) => s.includes('● ready'), 'the ready status line');
    expect(await terminal.screen({ escapes: true })).not.toContain(ESC);
  });

  it('offers the online nodes when no target is given, opens the one picked by typing, and prints the command line it ran', async () => {
    terminal = await startTerminal(cliCommand(openArgs([])), { env: env() });
    const picker = await terminal.waitForScreen((s) => s.includes('db-1') && s.includes('web-1'), 'the picker');
    expect(picker).not.toContain(LAB);
    await terminal.type('db');
    await terminal.waitForScreen((s) => !s.includes('web-1'), 'the list filtered to db-1');
    await terminal.sendKeys('Enter');
    const running = await terminal.waitForScreen((s) => s.includes('● ready'), 'the tunnel to the picked node');
    expect(running.replace(/\n/g, '')).toContain(`Running: ssm-tunnel open --target ${DB} --remote-host 127.0.0.1 --remote-port ${destination.port}`);
    const sessionId = /\(session (emulator-[0-9a-f]+)\)/.exec(running)?.[1];
    expect(emulator.sessionRecord(sessionId!)?.target).toBe(DB);
    await terminal.sendKeys('C-c');
    expect(await terminal.exitCode()).toBe(0);
  });
});

describe('ssm-tunnel open without a terminal', () => {
  let emulator: Emulator;
  let destination: Destination;

  afterEach(async () => {
    await emulator?.close();
    await destination?.close();
  });

  it('keeps the piped output: JSON logs on stderr, the forwarding lines on stdout, no escape sequence anywhere', async () => {
    destination = await echoServer();
    emulator = await startEmulator({ pacing: false, targets: { [WEB]: {} } });
    const cli = spawnCli(
      ['open', '--target', WEB, '--remote-host', '127.0.0.1', '--remote-port', String(destination.port), '--endpoint', emulator.endpoint, '--region', emulator.region],
      { env: { AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey } },
    );
    try {
      await waitFor(() => cli.stdout.includes('Waiting for connections...'), 'the ready line');
      const port = Number(/^Forwarding 127\.0\.0\.1:(\d+) -> /m.exec(cli.stdout)?.[1]);
      const payload = randomBytes(4096);
      expect((await roundTrip(port, payload)).equals(payload)).toBe(true);
      await waitFor(() => cli.stderr.includes('"msg":"connection closed"'), 'the connection closed log');
      cli.child.kill('SIGINT');
      expect((await cli.exited).code).toBe(0);
      for (const line of cli.stderr.trim().split('\n')) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      expect(cli.stdout + cli.stderr).not.toContain('\u001b');
      expect(cli.stderr).not.toContain('●');
    } finally {
      await cli.kill();
    }
  });

  it('refuses a missing target with usage status 2 instead of prompting', async () => {
    const cli = spawnCli(['open', '--remote-port', '22', '--region', 'us-east-1']);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr).toContain('give one of --target, --tag, or --ecs-cluster with --ecs-service');
  });
});
