/*
 * A pino logger that keeps what it writes, for tests that check what a user would read in the
 * logs (and what must never be there).
 */
import { Writable } from 'node:stream';
import { pino, type Level, type Logger } from 'pino';

export interface CapturedLogs {
  readonly logger: Logger;
  /** Every log line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Everything written so far, as written. */
  text(): string;
}

export function captureLogs(level: Level = 'debug'): CapturedLogs {
  const chunks: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8');
      chunks.push(text);
      for (const line of text.split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines, text: () => chunks.join('') };
}
