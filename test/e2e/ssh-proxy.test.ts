import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { CLI_PATH, isolatedEnv } from '../helpers/cli.js';
import { findTool, openSshSkipReason, startSshd, type Sshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Real OpenSSH through `ssm-tunnel proxy` as its ProxyCommand, through the emulator, to a
 * throwaway sshd on loopback.
 */

const TARGET = 'i-0123456789abcdef0';
const SIXTEEN_MIB = 16 * 1024 * 1024;

const skipReason = openSshSkipReason();

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface SshRun {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>;
}

describe.skipIf(skipReason !== undefined)('ssh and scp through ssm-tunnel proxy (ProxyCommand)', () => {
  let sshd: Sshd;
  let emulator: Emulator;
  let bigFile: string;
  let bigFileSha256: string;
  const running = new Set<ChildProcess>();

  beforeAll(async () => {
    sshd = await startSshd();
    emulator = await startEmulator({ pacing: false, targets: { [TARGET]: { tags: { Name: 'bastion' } } } });
    bigFile = join(sshd.dir, 'sixteen.bin');
    const content = randomBytes(SIXTEEN_MIB);
    bigFileSha256 = sha256(content);
    await writeFile(bigFile, content);
  });

  afterEach(() => emulator.setFaults({}));

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await emulator?.close();
    await sshd?.close();
  });

  function proxyCommand(extra = '%h %p'): string {
    return `${process.execPath} ${CLI_PATH} proxy --endpoint ${emulator.endpoint} --region ${emulator.region} ${extra}`;
  }

  function env(): NodeJS.ProcessEnv {
    return isolatedEnv({ AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey });
  }

  function spawnTool(tool: string, args: string[], stdinFile?: string): SshRun {
    const stdin = stdinFile === undefined ? 'ignore' : openSync(stdinFile, 'r');
    const child = spawn(findTool(tool)!, args, { env: env(), stdio: [stdin, 'pipe', 'pipe'] });
    if (typeof stdin === 'number') closeSync(stdin);
    running.add(child);
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>((resolve) =>
      child.once('close', (code, signal) => {
        running.delete(child);
        resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
      }),
    );
    return { child, exited };
  }

  function ssh(host: string, command: string, options: { stdinFile?: string; proxy?: string } = {}): SshRun {
    return spawnTool(
      'ssh',
      [...sshd.clientOptions, '-p', String(sshd.port), '-o', `ProxyCommand=${options.proxy ?? proxyCommand()}`, `${sshd.user}@${host}`, command],
      options.stdinFile,
    );
  }

  /** Every session the emulator started has ended (none left open at the service). */
  async function expectNoSessionOpen(): Promise<void> {
    await waitFor(
      () => emulator.record.sessions.every((session) => ['terminated', 'timed-out', 'failed'].includes(session.state)),
      'every session to end',
    );
  }

  function lastSession() {
    const session = emulator.record.sessions.at(-1);
    expect(session).toBeDefined();
    return session!;
  }

  it("prints a command's output, with AWS-StartSSHSession on the port ssh passes, and ends the session when ssh exits", async () => {
    const { code, stdout, stderr } = await ssh(TARGET, 'echo hello over ssm; echo to-stderr >&2').exited;
    expect(code, stderr).toBe(0);
    expect(stdout.toString()).toBe('hello over ssm\n');
    expect(stderr).toBe('to-stderr\n');
    const session = lastSession();
    expect(session).toMatchObject({ target: TARGET, documentName: 'AWS-StartSSHSession', parameters: { portNumber: [String(sshd.port)] }, mode: 'basic' });
    await expectNoSessionOpen();
    expect(emulator.sessionRecord(session.sessionId)?.state).toBe('terminated');
  });

  it('finds the target by its Name tag when ssh passes name:bastion as %h', async () => {
    const { code, stdout, stderr } = await ssh('name:bastion', 'echo found by name').exited;
    expect(code, stderr).toBe(0);
    expect(stdout.toString()).toBe('found by name\n');
    expect(lastSession().target).toBe(TARGET);
  });

  it('works from an ~/.ssh/config block with HostName name:<Name tag>, as the README shows', async () => {
    const config = join(sshd.dir, 'ssh_config');
    await writeFile(
      config,
      [
        'Host bastion',
        '    HostName name:bastion',
        `    Port ${sshd.port}`,
        `    User ${sshd.user}`,
        `    ProxyCommand ${proxyCommand()}`,
        '',
      ].join('\n'),
    );
    const options = sshd.clientOptions.slice(0, sshd.clientOptions.indexOf('-F'));
    const { code, stdout, stderr } = await spawnTool('ssh', [...options, '-F', config, 'bastion', 'echo from the config']).exited;
    expect(code, stderr).toBe(0);
    expect(stdout.toString()).toBe('from the config\n');
    expect(lastSession().target).toBe(TARGET);
  });

  it('carries 16 MiB up and 16 MiB down byte-exact', async () => {
    const up = await ssh(TARGET, 'sha256sum', { stdinFile: bigFile }).exited;
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout.toString().split(' ')[0]).toBe(bigFileSha256);
    const down = await ssh(TARGET, `cat ${bigFile}`).exited;
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout.length).toBe(SIXTEEN_MIB);
    expect(sha256(down.stdout)).toBe(bigFileSha256);
    await expectNoSessionOpen();
  });

  it('copies a file with scp', async () => {
    const copy = join(sshd.dir, 'copied.bin');
    const scp = spawnTool('scp', [...sshd.clientOptions, '-P', String(sshd.port), '-o', `ProxyCommand=${proxyCommand()}`, bigFile, `${sshd.user}@${TARGET}:${copy}`]);
    const { code, stderr } = await scp.exited;
    expect(code, stderr).toBe(0);
    expect(sha256(await readFile(copy))).toBe(bigFileSha256);
    await expectNoSessionOpen();
  });

  it('resumes a WebSocket dropped in the middle of a 16 MiB upload without losing or repeating a byte', async () => {
    emulator.setFaults({ closeAfter: { bytes: 4 * 1024 * 1024, direction: 'fromClient' } });
    const { code, stdout, stderr } = await ssh(TARGET, 'sha256sum', { stdinFile: bigFile }).exited;
    expect(code, stderr).toBe(0);
    expect(stdout.toString().split(' ')[0]).toBe(bigFileSha256);
    const session = lastSession();
    expect(session.faults.length).toBeGreaterThan(0);
    expect(session.webSockets.length).toBeGreaterThanOrEqual(2);
    await expectNoSessionOpen();
  });

  it.each(['SIGTERM', 'SIGKILL'] as const)('leaves no session open when ssh is ended by %s in the middle of a command', async (signal) => {
    const before = emulator.record.sessions.length;
    const run = ssh(TARGET, 'echo started; sleep 60');
    await waitFor(() => emulator.record.sessions.length > before && lastSession().state === 'connected', 'the session to connect');
    const session = lastSession();
    run.child.kill(signal);
    await run.exited;
    await expectNoSessionOpen();
    expect(emulator.sessionRecord(session.sessionId)?.state).toBe('terminated');
  });

  it('reaches a host behind the target with --remote-host (the remote-host document)', async () => {
    const { code, stdout, stderr } = await ssh(TARGET, 'echo via remote host', { proxy: proxyCommand('--target %h --remote-host 127.0.0.1 --remote-port %p') }).exited;
    expect(code, stderr).toBe(0);
    expect(stdout.toString()).toBe('via remote host\n');
    expect(lastSession()).toMatchObject({ documentName: 'AWS-StartPortForwardingSessionToRemoteHost', properties: { host: '127.0.0.1' } });
    await expectNoSessionOpen();
  });
});
