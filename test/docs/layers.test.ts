/*
 * docs/architecture.md §2 as a check: each layer of src/ imports only the layers its row allows
 * (leaves — errors.ts, logging.ts, util/ — are open to all). A new upward import fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

const FRONT_END_MAY_USE = ['session', 'forward', 'channel', 'aws', 'protocol'];
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  channel: ['protocol', 'aws'],
  forward: ['protocol'],
  session: ['channel', 'forward', 'aws', 'protocol'],
  tunnel: FRONT_END_MAY_USE,
  stream: FRONT_END_MAY_USE,
  proxy: FRONT_END_MAY_USE,
  daemon: ['tunnel', 'stream', 'proxy', ...FRONT_END_MAY_USE],
  aws: [],
  emulator: ['protocol', 'channel', 'forward'],
  util: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('the layers of src/', () => {
  it.each(Object.keys(ALLOWED))('%s/ imports only the layers docs/architecture.md allows it', (layer) => {
    const wrong: string[] = [];
    for (const file of sourceFiles(join(SRC, layer))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from |import\(|import )'((?:\.\.\/)+)([a-z-]+)\//g)) {
        const [, ups, target] = match;
        // Only imports that leave the layer's folder for another top-level folder of src/.
        if (ups!.length / 3 !== relative(join(SRC, layer), file).split('/').length) continue;
        if (target !== layer && !ALLOWED[layer]!.includes(target!) && target !== 'util') wrong.push(`${relative(SRC, file)} imports ${target}/`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
