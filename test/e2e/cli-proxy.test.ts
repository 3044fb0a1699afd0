import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI_PATH, isolatedEnv } from '../helpers/cli.js';
import { closedPort, echoServer, answerAndCloseServer, sinkServer, type Destination } from '../helpers/destinations.js';
import { waitFor } from '../helpers/wait.js';

/* `ssm-tunnel proxy` driven directly through its stdin and stdout, the way ssh drives it. */

const TARGET = 'i-0fedcba9876543210';

interface ProxyProcess {
  child: ChildProcessWithoutNullStreams;
  readonly stdout: Buffer;
  readonly stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('ssm-tunnel proxy over stdin and stdout', () => {
  let emulator: Emulator | undefined;
  let destination: Destination | undefined;
  let proxy: ProxyProcess | undefined;

  afterEach(async () => {
    if (proxy && proxy.child.exitCode === null && proxy.child.signalCode === null) {
      proxy.child.kill('SIGKILL');
      await proxy.exited;
    }
    await emulator?.close();
    await destination?.close();
    proxy = emulator = destination = undefined;
  });

  function spawnProxy(args: string[]): ProxyProcess {
    const em = emulator!;
    const child = spawn(process.execPath, [CLI_PATH, 'proxy', '--endpoint', em.endpoint, '--region', em.region, ...args], {
      env: isolatedEnv({ AWS_ACCESS_KEY_ID: em.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: em.credentials.secretAccessKey }),
      stdio: 'pipe',
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    proxy = {
      child,
      get stdout() {
        return Buffer.concat(chunks);
      },
      get stderr() {
        return stderr;
      },
      exited,
    };
    return proxy;
  }

  async function startWith(server: Destination): Promise<void> {
    destination = server;
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: {} } });
  }

  function onlySession() {
    expect(emulator!.record.sessions).toHaveLength(1);
    return emulator!.record.sessions[0]!;
  }

  it('carries bytes both ways and prints nothing but the destination’s bytes on stdout', async () => {
    await startWith(await echoServer());
    const run = spawnProxy([TARGET, String(destination!.port)]);
    const payload = randomBytes(256 * 1024);
    run.child.stdin.write(payload);
    await waitFor(() => run.stdout.length >= payload.length, 'the echo');
    expect(run.stdout.equals(payload)).toBe(true);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout.length).toBe(payload.length);
    expect(run.stderr).toBe('');
  });

  it('on stdin EOF, ends the session after the destination got every byte', async () => {
    const sink = await sinkServer();
    await startWith(sink);
    const run = spawnProxy(['--target', TARGET, '--remote-port', String(sink.port)]);
    const payload = randomBytes(2 * 1024 * 1024);
    run.child.stdin.end(payload);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => sink.records.length === 1, 'the destination connection to close');
    expect(sink.records[0]).toEqual({ received: payload.length, sha256: createHash('sha256').update(payload).digest('hex') });
    expect(onlySession().state).toBe('terminated');
    expect(onlySession().flags.map((flag) => flag.name)).toContain('TerminateSession');
  });

  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)('terminates the session on %s and exits 0', async (signal) => {
    await startWith(await echoServer());
    const run = spawnProxy([TARGET, String(destination!.port)]);
    run.child.stdin.write('ping');
    await waitFor(() => run.stdout.toString() === 'ping', 'the echo');
    run.child.kill(signal);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => onlySession().state === 'terminated', 'the session to be terminated');
  });

  it('ends, exit 0, after the last bytes, when the destination closes the connection', async () => {
    const greeting = Buffer.from('SSH-2.0-Refusing\r\nbye\r\n');
    await startWith(await answerAndCloseServer(greeting));
    const run = spawnProxy([TARGET, String(destination!.port)]);
    run.child.stdin.write('SSH-2.0-Client\r\n');
    expect(await run.exited, run.stderr).toEqual({ code: 0, signal: null });
    expect(run.stdout.equals(greeting)).toBe(true);
    await waitFor(() => onlySession().state === 'terminated', 'the session to end');
  });

  it('prints one line naming the service error and exits 1 when the target is not connected', async () => {
    await startWith(await echoServer());
    const run = spawnProxy(['i-00000000000000000', '22']);
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toMatch(/^ssm-tunnel proxy: TargetNotConnected: [^\n]+\n$/);
  });

  it('prints one line and exits 1 when the agent cannot reach the destination', async () => {
    await startWith(await echoServer());
    const run = spawnProxy([TARGET, String(await closedPort())]);
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toMatch(/^ssm-tunnel proxy: ERR_DESTINATION_REFUSED: [^\n]*Unable to connect[^\n]*\n$/);
    await waitFor(() => onlySession().state !== 'connected', 'the session to end');
  });

  it.each([
    ['no target', [], /give one of --target/],
    ['a target twice', ['i-0123', '22', '--target', 'i-0456'], /name the target once/],
    ['a port twice', ['i-0123', '22', '--remote-port', '2222'], /give the port once/],
    ['port 0', ['i-0123', '0'], /port must be an integer 1-65535/],
  ])('rejects %s with exit status 2 before doing anything', async (_case, args, message) => {
    await startWith(await echoServer());
    const run = spawnProxy(args);
    expect((await run.exited).code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout.length).toBe(0);
    expect(emulator!.record.apiCalls).toHaveLength(0);
  });
});
