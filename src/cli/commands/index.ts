import type { CommandModule } from 'yargs';

/** Every `ssm-tunnel` sub-command; each lives in its own module beside this one. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export const commands: CommandModule<{}, never>[] = [];
