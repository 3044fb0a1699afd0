/*
 * Bundles the CLI (src/cli/main.ts) with esbuild into dist/cli/: ssm-tunnel.js, what package.json's
 * "bin" runs, and one chunk per lazily imported part (see src/cli/commands/index.ts), so that a
 * command loads a few files holding only the code it runs instead of hundreds of modules. The
 * library is built by tsc (dist/src); this is only the executable. `npm run build` runs both.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

// Chunk names carry content hashes: clear out the previous build's.
rmSync(new URL('dist/cli', root), { recursive: true, force: true });
const result = await build({
  absWorkingDir: fileURLToPath(root),
  entryPoints: { 'ssm-tunnel': 'src/cli/main.ts' },
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  // ES module builds first: the SDK's CommonJS build is one file per package with every command
  // in it (about 1 MB for client-ssm), which the bundler cannot tree-shake.
  mainFields: ['module', 'main'],
  // yargs lays out help text with cliui, whose string-width 7 runs Intl.Segmenter and an emoji
  // regex over every character. The shim measures printable ASCII by its length and hands
  // anything else to string-width 8 (yargs' own dependency, same API and widths).
  alias: { 'string-width': './scripts/string-width-ascii.js' },
  define: { SSM_TUNNEL_VERSION: JSON.stringify(version) },
  // ws loads these optional native add-ons with require() when they are installed; they cannot be
  // bundled. selfsigned (the emulator's --tls) is CommonJS loaded with import(): in a split bundle
  // such a chunk has only a default export, while Node's own loader also gives it named ones.
  external: ['bufferutil', 'utf-8-validate', 'selfsigned'],
  // CommonJS dependencies (ws, pino, parts of the SDK) call require(); an ES module has none.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});
// Which sources each output file holds: test/cli/lazy-loading.test.ts checks what a command loads.
// In the tools' cache, not in dist: the published package has no use for it.
const metaDir = new URL('node_modules/.cache/ssm-tunnel/', root);
mkdirSync(metaDir, { recursive: true });
writeFileSync(new URL('cli-meta.json', metaDir), JSON.stringify(result.metafile));
