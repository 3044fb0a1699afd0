/*
 * The directory of a unix socket listener: another user who can write it, or who owns it, can
 * replace the socket and receive what clients send. Only directories owned by this user or root,
 * and writable by neither group nor others, are accepted; the error names the rule that failed.
 */
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, openTunnel, SsmTunnelError } from '../../src/index.js';
import { checkSocketDirectory } from '../../src/tunnel/unix-socket-file.js';

/** The unprivileged `nobody` user: owns nothing of ours. */
const ANOTHER_USER = 65534;
const isRoot = process.getuid?.() === 0;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-tunnel-socket-dir-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function directory(name: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  await chmod(path, mode);
  return path;
}

async function refusal(socketDirectory: string): Promise<SsmTunnelError> {
  const error = await checkSocketDirectory(join(socketDirectory, 'db.sock')).then(
    () => {
      throw new Error(`${socketDirectory} was accepted`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsmTunnelError);
  expect((error as SsmTunnelError).code).toBe(ErrorCode.INVALID_OPTION);
  return error as SsmTunnelError;
}

describe('a unix socket directory', () => {
  it('is accepted when only this user can write it', async () => {
    await expect(checkSocketDirectory(join(await directory('private', 0o700), 'db.sock'))).resolves.toBeUndefined();
    await expect(checkSocketDirectory(join(await directory('readable', 0o755), 'db.sock'))).resolves.toBeUndefined();
  });

  it('is refused when its group can write it', async () => {
    const shared = await directory('group-writable', 0o770);
    expect((await refusal(shared)).message).toContain(`its directory ${shared} is writable by its group (mode 0770)`);
    await expect(openTunnel({ target: 'i-0123456789abcdef0', remotePort: 5432, localSocket: { path: join(shared, 'db.sock') } })).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTION,
    });
  });

  it('is refused when everyone can write it, sticky or not', async () => {
    expect((await refusal(await directory('open', 0o777))).message).toContain('is writable by every user (mode 0777)');
    expect((await refusal(await directory('sticky', 0o1777))).message).toContain('is writable by every user (mode 1777)');
  });

  it.skipIf(!isRoot)('is refused when another user owns it, even if only that user can write it (needs root to chown)', async () => {
    const theirs = await directory('theirs', 0o700);
    await chown(theirs, ANOTHER_USER, ANOTHER_USER);
    expect((await refusal(theirs)).message).toContain(`is owned by user ${ANOTHER_USER}, not by this user (0) or root`);
  });
});
