/*
 * A throwaway OpenSSH server for end-to-end tests: its own host key, user key and config in a temp
 * directory, listening on a free loopback port, logging to its stderr (-D -e). ssh and scp run
 * against it with that key, no known_hosts and no prompts.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile, copyFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findTool, optionalTool } from './tools.js';
import { waitFor } from './wait.js';

export { findTool } from './tools.js';

/** Where Debian's sshd chroots its unprivileged child when run as root; systemd usually creates it. */
const PRIVSEP_DIR = '/run/sshd';
const SFTP_SERVERS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];

/**
 * Why the OpenSSH tests cannot run here, or undefined when they can. Outside CI they are skipped
 * with this reason; under CI=true a missing tool fails the run, so CI cannot pass by skipping.
 */
export function openSshSkipReason(): string | undefined {
  const install = 'apt-get install openssh-server openssh-client';
  return ['sshd', 'ssh', 'scp', 'ssh-keygen'].map((tool) => optionalTool(tool, install).skipReason).find((reason) => reason !== undefined);
}

export interface Sshd {
  port: number;
  /** The user ssh logs in as (the one running the tests). */
  user: string;
  /** A directory the tests may use for files; removed by close(). */
  dir: string;
  /** Options every ssh/scp invocation needs: the key, no host key checks, no prompts. */
  clientOptions: string[];
  /** What sshd logged so far. */
  readonly log: string;
  close(): Promise<void>;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startSshd(): Promise<Sshd> {
  const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-sshd-'));
  const keygen = findTool('ssh-keygen')!;
  const run = promisify(execFile);
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
  await copyFile(join(dir, 'user_key.pub'), join(dir, 'authorized_keys'));
  let createdPrivsepDir = false;
  if (process.getuid?.() === 0 && !existsSync(PRIVSEP_DIR)) {
    await mkdir(PRIVSEP_DIR, { mode: 0o755 });
    createdPrivsepDir = true;
  }
  const sftpServer = SFTP_SERVERS.find((path) => existsSync(path));
  const user = userInfo().username;
  let log = '';
  // A port picked now may be taken before sshd binds it; then try another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeLoopbackPort();
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PidFile none',
        // The temp directory's modes are not what StrictModes wants, and PAM needs a real login setup.
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        'LogLevel VERBOSE',
        ...(sftpServer === undefined ? [] : [`Subsystem sftp ${sftpServer}`]),
        '',
      ].join('\n'),
    );
    const sshd = spawn(findTool('sshd')!, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    log = '';
    sshd.stderr.setEncoding('utf8');
    sshd.stderr.on('data', (chunk: string) => {
      log += chunk;
    });
    let exited = false;
    sshd.once('exit', () => (exited = true));
    await waitFor(() => exited || log.includes('Server listening on'), 'sshd to listen');
    if (!exited) {
      return {
        port,
        user,
        dir,
        clientOptions: [
          '-i',
          join(dir, 'user_key'),
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'LogLevel=ERROR',
          '-F',
          '/dev/null',
        ],
        get log() {
          return log;
        },
        async close() {
          if (sshd.exitCode === null && sshd.signalCode === null) {
            const gone = new Promise((resolve) => sshd.once('exit', resolve));
            sshd.kill('SIGTERM');
            await gone;
          }
          await rm(dir, { recursive: true, force: true });
          if (createdPrivsepDir) await rmdir(PRIVSEP_DIR).catch(() => {});
        },
      };
    }
  }
  await rm(dir, { recursive: true, force: true });
  if (createdPrivsepDir) await rmdir(PRIVSEP_DIR).catch(() => {});
  throw new Error(`sshd did not start:\n${log}`);
}
