import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Default for library components that were given no logger. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * Paths never written to logs, whatever a component passes in (tokens, signed URLs, keys).
 * Components should not log these at all; this is the net under that rule.
 */
export const REDACTED_PATHS = [
  'token',
  'tokenValue',
  'TokenValue',
  'streamUrl',
  'StreamUrl',
  'credentials',
  'secretAccessKey',
  'sessionToken',
  'authorization',
  // Proxy URLs may carry a password; components log them only through redactUrl().
  'proxy',
  '*.proxy',
  '*.token',
  '*.tokenValue',
  '*.TokenValue',
  '*.streamUrl',
  '*.credentials',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.authorization',
];
