import type { Stats } from 'node:fs';
import { lstat, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { ErrorCode, InvalidOptionError, SsmTunnelError } from '../errors.js';

/*
 * Making a unix socket path safe to listen on: its directory must not let other users swap the
 * socket for their own, and a socket file left behind by a process that died is removed
 * (docs/forwarding.md §8), while a live socket or any other kind of file is never touched.
 */

/**
 * Refuses a path whose directory another user could tamper with: it must be owned by this user or
 * root, and writable by neither its group nor everyone (the sticky /tmp included). Otherwise that
 * user could take the name first or put their own socket in its place and receive what clients
 * send (a PGPASSWORD, say). The error names the rule that failed; retrying cannot fix it.
 */
export async function checkSocketDirectory(path: string): Promise<void> {
  const directory = dirname(resolve(path));
  let stats: Stats;
  try {
    stats = await stat(directory);
  } catch (error) {
    throw new InvalidOptionError(`cannot listen on unix socket ${path}: its directory ${directory} is not usable (${(error as Error).message})`, { cause: error });
  }
  const refuse = (why: string): InvalidOptionError =>
    new InvalidOptionError(
      `refusing to listen on unix socket ${path}: its directory ${directory} ${why}, so another user could take the name or put their own ` +
        'socket in its place; use a directory only this user can write, such as /run/ssm-tunnel',
    );
  const bits = (stats.mode & 0o7777).toString(8).padStart(4, '0');
  if ((stats.mode & 0o002) !== 0) throw refuse(`is writable by every user (mode ${bits})`);
  if ((stats.mode & 0o020) !== 0) throw refuse(`is writable by its group (mode ${bits})`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) throw refuse(`is owned by user ${stats.uid}, not by this user (${uid}) or root`);
}

/**
 * Removes `path` when it is a socket nobody listens on (a stale file after a crash). A socket that
 * accepts a connection is in use: an Error, so a caller may retry later. A file that is not a socket
 * is an InvalidOptionError (a TypeError) and is left alone.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new InvalidOptionError(`cannot listen on unix socket ${path}: a file that is not a socket exists there; it is left alone`);
  const code = await probeSocket(path);
  if (code === 'ECONNREFUSED') {
    await unlink(path);
    return;
  }
  if (code === undefined) throw new SsmTunnelError(ErrorCode.LISTEN, `cannot listen on unix socket ${path}: the socket is in use by another process`);
  throw new SsmTunnelError(ErrorCode.LISTEN, `cannot listen on unix socket ${path}: cannot tell whether the existing socket is in use (${code})`);
}

/** Connects once: undefined when something accepted, else the error code. */
function probeSocket(path: string): Promise<string | undefined> {
  return new Promise((settle) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      settle(undefined);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
  });
}
