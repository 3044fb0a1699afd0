import { pino, type Logger, type LevelWithSilent } from 'pino';
import { REDACTED_PATHS } from '../logging.js';
import type { LogFormat } from './log-options.js';

export interface CliLoggerOptions {
  level: LevelWithSilent;
  /** `auto`: readable on a terminal, JSON otherwise (journald, files, pipes). */
  format: LogFormat;
  /** File descriptor: 1 for the daemon (journald reads stdout), 2 where stdout carries output. */
  fd: 1 | 2;
}

export async function createCliLogger({ level, format, fd }: CliLoggerOptions): Promise<Logger> {
  const isTty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  const usePretty = format === 'pretty' || (format === 'auto' && isTty === true);
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (usePretty) {
    // Loaded only here: JSON output (journald, pipes, ssh's ProxyCommand) never pays for it. A
    // stream in this thread, not a transport: a transport's worker resolves files beside the
    // package on disk, which the bundled CLI does not have.
    const { default: pretty } = await import('pino-pretty');
    return pino(options, pretty({ destination: fd, colorize: isTty === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
  }
  return pino(options, pino.destination({ fd, sync: true }));
}
