/*
 * Outside tools that no npm package provides (psql, systemd-analyze, ...). A test that needs one
 * runs when it is on PATH and is skipped with a printed reason when it is not; under CI=true a
 * missing tool fails the run instead, so that CI can never pass by skipping.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface OptionalTool {
  /** Where the tool was found on PATH; undefined when it is missing. */
  readonly path: string | undefined;
  /** Why tests that need the tool are skipped; undefined when it is present. */
  readonly skipReason: string | undefined;
}

const reported = new Set<string>();

/** Servers such as sshd live in sbin, often not on a user's PATH: looked for there too. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The executable `name` on PATH or in an sbin directory; undefined when there is none. */
export function findTool(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...SBIN_DIRS]) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; try the next one.
    }
  }
  return undefined;
}

/**
 * Looks `name` up on PATH. `install` says how to get it (e.g. `apt-get install postgresql-client`).
 * Use with `describe.skipIf(tool.skipReason !== undefined)` or `it.skipIf(...)`.
 */
export function optionalTool(name: string, install: string): OptionalTool {
  const path = findTool(name);
  if (path !== undefined) return { path, skipReason: undefined };
  const skipReason = `${name} is not on PATH (${install}); the tests that need it are skipped`;
  if (process.env.CI === 'true') throw new Error(`${name} is required under CI=true but is not on PATH (${install})`);
  if (!reported.has(name)) {
    reported.add(name);
    process.stderr.write(`skipped: ${skipReason}\n`);
  }
  return { path: undefined, skipReason };
}
