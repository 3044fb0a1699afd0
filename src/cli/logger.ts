import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { REDACTED_PATHS } from '../logging.js';

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface CliLoggerOptions {
  level: LevelWithSilent;
  /** `auto`: readable on a terminal, JSON otherwise (journald, files, pipes). */
  format: LogFormat;
  /** File descriptor: 1 for the daemon (journald reads stdout), 2 where stdout carries output. */
  fd: 1 | 2;
}

export function createCliLogger({ level, format, fd }: CliLoggerOptions): Logger {
  const isTty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  const usePretty = format === 'pretty' || (format === 'auto' && isTty === true);
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (usePretty) {
    return pino(options, pretty({ destination: fd, colorize: isTty === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
  }
  return pino(options, pino.destination({ fd, sync: true }));
}

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const DEFAULT_LEVEL: LevelWithSilent = 'info';
const DEFAULT_FORMAT: LogFormat = 'auto';
const FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];

/** The --log-level and --log-format options every long-running command takes. */
export const LOG_OPTIONS = {
  'log-level': { choices: LOG_LEVELS, default: DEFAULT_LEVEL, describe: 'Log level' },
  'log-format': { choices: FORMATS, default: DEFAULT_FORMAT, describe: 'auto: readable on a terminal, JSON otherwise' },
} as const;
