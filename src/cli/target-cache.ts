import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/*
 * The last node lookup (`targets`, the picker), kept a short while for shell completion, which
 * must answer at once and so never calls AWS itself. One file, the last lookup wins.
 */

/** How long completion trusts a lookup. */
export const TARGET_CACHE_TTL_MS = 10 * 60 * 1000;

export interface CachedTarget {
  id: string;
  name?: string;
}

interface CacheFile {
  savedAt: number;
  targets: CachedTarget[];
}

/** `$XDG_CACHE_HOME/ssm-tunnel/targets.json`, `~/.cache/…` by default. */
export function targetCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'ssm-tunnel', 'targets.json');
}

/** Best effort: completion without a cache is only less helpful, so a failed write is ignored. */
export async function saveTargets(targets: readonly CachedTarget[], path = targetCachePath()): Promise<void> {
  const file: CacheFile = { savedAt: Date.now(), targets: targets.map(({ id, name }) => ({ id, ...(name === undefined ? {} : { name }) })) };
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(file), { mode: 0o600 });
    await rename(temporary, path);
  } catch {
    // A read-only or missing home: nothing to cache into.
  }
}

/** The cached targets if the lookup is younger than the TTL; none otherwise. */
export async function loadTargets(path = targetCachePath(), now = Date.now()): Promise<CachedTarget[]> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile>;
    if (typeof file.savedAt !== 'number' || now - file.savedAt > TARGET_CACHE_TTL_MS || !Array.isArray(file.targets)) return [];
    return file.targets.filter((target): target is CachedTarget => typeof target?.id === 'string');
  } catch {
    return [];
  }
}
