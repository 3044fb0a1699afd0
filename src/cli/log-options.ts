import type { LevelWithSilent } from 'pino';

/*
 * The --log-level and --log-format options, apart from the logger itself: command definitions
 * (what --help shows) import this, and must not load pino for it.
 */

export type LogFormat = 'json' | 'pretty' | 'auto';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const DEFAULT_LEVEL: LevelWithSilent = 'info';
const DEFAULT_FORMAT: LogFormat = 'auto';
const FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];

/** The --log-level and --log-format options every long-running command takes. */
export const LOG_OPTIONS = {
  'log-level': { choices: LOG_LEVELS, default: DEFAULT_LEVEL, describe: 'Log level' },
  'log-format': { choices: FORMATS, default: DEFAULT_FORMAT, describe: 'auto: readable on a terminal, JSON otherwise' },
} as const;
