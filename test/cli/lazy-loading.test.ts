import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { loadedModules } from '../helpers/module-graph.js';

/*
 * ssh may start `ssm-tunnel` for every connection, and a program importing the library should not
 * pay for the CLI: what each loads is checked here by its module graph (never by timing; the
 * timings are `npm run bench -- startup`).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as { version: string };

/** The sources bundled into each file of dist/cli, from the metafile scripts/build-cli.js writes. */
function bundledSources(files: string[]): string[] {
  const meta = JSON.parse(readFileSync(new URL('node_modules/.cache/ssm-tunnel/cli-meta.json', `file://${ROOT}`), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return files.flatMap((file) => Object.keys(meta.outputs[relative(ROOT, file)]?.inputs ?? {}));
}

/** What only running a tunnel, the daemon or the emulator needs. */
const HEAVY_SOURCES = [
  'node_modules/@aws-sdk/',
  'node_modules/@smithy/',
  'node_modules/ws/',
  'node_modules/pino/',
  'node_modules/pino-pretty/',
  'node_modules/yaml/',
  'src/tunnel/',
  'src/daemon/daemon.ts',
  'src/emulator/emulator.ts',
];

describe('what the CLI loads', () => {
  for (const flag of ['--version', '--help']) {
    it(`ssm-tunnel ${flag} loads yargs and the command definitions, but not the SDK, ws, pino, yaml, the tunnel or the emulator`, async () => {
      const { files } = await loadedModules([CLI_PATH, flag], ROOT);
      const sources = bundledSources(files.filter((file) => file.startsWith(`${ROOT}dist/cli/`)));
      expect(sources.some((source) => source.startsWith('node_modules/yargs/'))).toBe(true);
      expect(sources.filter((source) => HEAVY_SOURCES.some((heavy) => source.startsWith(heavy)))).toEqual([]);
    });
  }

  it("ssm-tunnel --version prints the package's version", async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  // yargs lays out a command's help on every run of it, not only for --help; one character
  // outside ASCII takes string-width off its fast path into Intl.Segmenter and an emoji regex.
  it('every command prints its help in plain ASCII', async () => {
    for (const name of ['', ...commands.map((command) => String(command.command).split(' ')[0]!)]) {
      const result = await runCli(name === '' ? ['--help'] : [name, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout.match(/[^\t\n -~]/g) ?? [], `non-ASCII in ssm-tunnel ${name} --help`).toEqual([]);
    }
  });
});

describe('what the library loads', () => {
  it("import('ssm-tunnel') loads the tunnel but none of the emulator, yargs, pino-pretty or the ECS client", async () => {
    const { files } = await loadedModules(['--input-type=module', '-e', "await import('ssm-tunnel');"], ROOT);
    const inPackage = files.map((file) => relative(ROOT, file));
    expect(inPackage).toContain('dist/src/index.js');
    expect(inPackage).toContain('dist/src/tunnel/tunnel.js');
    const unwanted = inPackage.filter((file) => ['dist/src/emulator/', 'node_modules/yargs/', 'node_modules/pino-pretty/', 'node_modules/@aws-sdk/client-ecs/', 'dist/cli/'].some((prefix) => file.startsWith(prefix)));
    expect(unwanted).toEqual([]);
  });
});
