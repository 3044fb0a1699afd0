import type { CommandModule } from 'yargs';
import { checkCommand } from './check.js';
import { demoCommand } from './demo.js';
import { emulatorCommand } from './emulator.js';
import { openCommand } from './open.js';
import { proxyCommand } from './proxy.js';
import { statusCommand } from './status.js';
import { upCommand } from './up.js';

/** A sub-command with its own argument type, erased so the list can hold them all. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<object, any>;

/** Every `ssm-tunnel` sub-command; each lives in its own module beside this one. */
export const commands: AnyCommand[] = [openCommand, upCommand, proxyCommand, checkCommand, statusCommand, demoCommand, emulatorCommand];
