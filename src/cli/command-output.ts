import type { LevelWithSilent, Logger } from 'pino';
import type { LogFormat } from './log-options.js';
import { colorsWanted, humanOutputWanted } from './terminal.js';
import type { TerminalView } from './terminal-view.js';

/*
 * Where a long-running command (open, socks) writes: on a terminal with `--log-format auto`, event
 * lines and a live status line (the view) with warnings and errors as one-liners; otherwise pino's
 * log on stderr. Each kind loads only what it uses.
 */

export interface CommandOutput {
  logger: Logger;
  /** Set on a terminal: attach the tunnel or proxy to it once it is up. */
  view: TerminalView | undefined;
}

export async function createCommandOutput(level: LevelWithSilent, format: LogFormat): Promise<CommandOutput> {
  if (humanOutputWanted(format)) {
    const [{ createTerminalView }, { createHumanLogger }] = await Promise.all([import('./terminal-view.js'), import('./human-log.js')]);
    const view = createTerminalView({ stream: process.stderr, color: colorsWanted() });
    return { logger: createHumanLogger(level, view), view };
  }
  const { createCliLogger } = await import('./logger.js');
  return { logger: await createCliLogger({ level, format, fd: 2 }), view: undefined };
}
