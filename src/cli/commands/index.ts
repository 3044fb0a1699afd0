import type { CommandModule } from 'yargs';
import { checkCommand } from './check.js';
import { demoCommand } from './demo.js';
import { emulatorCommand } from './emulator.js';
import { openCommand } from './open.js';
import { proxyCommand } from './proxy.js';
import { socksCommand } from './socks.js';
import { statusCommand } from './status.js';
import { targetsCommand } from './targets.js';
import { upCommand } from './up.js';

/*
 * How a command is written, so that `ssm-tunnel --version`, `--help` and every other command stay
 * fast (ssh may run us on every connection; see README "Performance"):
 *
 * - One module per command beside this file, exporting a yargs CommandModule. Its static imports
 *   are only what `command`, `describe` and `builder` need: yargs types, `../log-options.js`,
 *   small constants. Everything that runs (the tunnel, the SDK, ws, pino, the emulator, yaml) is
 *   imported inside `handler` with `await import(...)`, e.g.
 *
 *     handler: async (args) => {
 *       const [{ openTunnel }, { createCliLogger }] = await Promise.all([import('../../tunnel/tunnel.js'), import('../logger.js')]);
 *       ...
 *     },
 *
 *   The bundler (scripts/build-cli.js) turns each dynamic import into a chunk of its own, loaded
 *   only when that handler runs.
 * - Add the module to `commands` below.
 * - `npm test` checks that --version and --help load none of the SDK, ws, pino, yaml, the tunnel or the emulator
 *   (test/cli/lazy-loading.test.ts); `npm run bench -- startup` measures the result.
 */

/** A sub-command with its own argument type, erased so the list can hold them all. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<object, any>;

/** Every `ssm-tunnel` sub-command; each lives in its own module beside this one. */
export const commands: AnyCommand[] = [openCommand, proxyCommand, socksCommand, upCommand, checkCommand, statusCommand, targetsCommand, demoCommand, emulatorCommand];
