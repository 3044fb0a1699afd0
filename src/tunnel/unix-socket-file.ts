import { lstat, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';

/*
 * Making a unix socket path safe to listen on: its directory must not let other users swap the
 * socket for their own, and a socket file left behind by a process that died is removed
 * (docs/forwarding.md §8), while a live socket or any other kind of file is never touched.
 */

/**
 * Refuses a path in a world-writable directory, the sticky /tmp included: anyone could create the
 * name first, or (without the sticky bit) replace the socket. A TypeError: retrying cannot fix it.
 */
export async function checkSocketDirectory(path: string): Promise<void> {
  const directory = dirname(resolve(path));
  let mode: number;
  try {
    mode = (await stat(directory)).mode;
  } catch (error) {
    throw new TypeError(`cannot listen on unix socket ${path}: its directory ${directory} is not usable (${(error as Error).message})`, { cause: error });
  }
  if ((mode & 0o002) !== 0) {
    const bits = (mode & 0o7777).toString(8).padStart(4, '0');
    throw new TypeError(
      `refusing to listen on unix socket ${path}: its directory ${directory} is writable by every user (mode ${bits}), so another user ` +
        'could take the name or put their own socket in its place; use a directory only this user can write, such as /run/ssm-tunnel',
    );
  }
}

/**
 * Removes `path` when it is a socket nobody listens on (a stale file after a crash). A socket that
 * accepts a connection is in use: an Error, so a caller may retry later. A file that is not a socket
 * is a TypeError and is left alone.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new TypeError(`cannot listen on unix socket ${path}: a file that is not a socket exists there; it is left alone`);
  const code = await probeSocket(path);
  if (code === 'ECONNREFUSED') {
    await unlink(path);
    return;
  }
  if (code === undefined) throw new Error(`cannot listen on unix socket ${path}: the socket is in use by another process`);
  throw new Error(`cannot listen on unix socket ${path}: cannot tell whether the existing socket is in use (${code})`);
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
