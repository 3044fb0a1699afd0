import type { LogFormat } from './log-options.js';

/*
 * What the terminal allows, decided before anything heavy is loaded: whether a person can answer a
 * prompt, whether the short human output replaces the log, whether colors are wanted.
 */

/** Both the keyboard and the screen (stderr) are a terminal. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** `--log-format auto` on a terminal: event lines and a status line instead of the log. */
export function humanOutputWanted(format: LogFormat): boolean {
  return format === 'auto' && process.stderr.isTTY === true;
}

/** NO_COLOR (https://no-color.org): present and not empty turns colors off. */
export function colorsWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}
