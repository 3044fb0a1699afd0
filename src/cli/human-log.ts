import { pino, type Logger, type LevelWithSilent } from 'pino';
import { REDACTED_PATHS } from '../logging.js';
import type { TerminalView } from './terminal-view.js';

/*
 * The log of a command whose routine events a TerminalView already shows: only warnings and errors
 * get through, each as one line of the view (message and cause), never a field dump.
 */

const SEVERE: ReadonlySet<LevelWithSilent> = new Set(['error', 'fatal', 'silent']);
const ERROR_LEVEL = 50;

/** Fields that say why something happened; the first present one follows the message. */
const CAUSE_FIELDS = ['reason', 'err', 'error', 'detail'] as const;

export function createHumanLogger(level: LevelWithSilent, view: Pick<TerminalView, 'warn' | 'error'>): Logger {
  const destination = {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        view.warn(line.trimEnd());
        return;
      }
      const cause = CAUSE_FIELDS.map((field) => describe(record[field])).find((text) => text !== undefined);
      const message = typeof record.msg === 'string' ? record.msg : '';
      const text = `${message}${cause === undefined ? '' : `: ${cause}`}`;
      if (typeof record.level === 'number' && record.level >= ERROR_LEVEL) view.error(text);
      else view.warn(text);
    },
  };
  return pino({ level: SEVERE.has(level) ? level : 'warn', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

function describe(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') return (value as { message: string }).message;
  return undefined;
}
