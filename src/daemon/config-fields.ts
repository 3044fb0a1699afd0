/*
 * Readers for the kinds of values the daemon config holds (ports, durations, hosts, URLs, ...).
 * Each reports through the ConfigReader and returns undefined when the value is not acceptable.
 */
import { proxyUrlProblem } from '../aws/network.js';
import { parseDuration } from './duration.js';
import { HOST_EXPECTED, isValidHost, LISTEN_EXPECTED, parseListenAddress } from './config-hosts.js';
import type { ListenAddress } from './config-hosts.js';
import type { ConfigReader, Located } from './config-reader.js';

// setTimeout fires at once (with a warning) for delays above 2^31−1 ms, about 24.8 days.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function readPort(reader: ConfigReader, at: Located, lowest: 0 | 1): number | undefined {
  return reader.value(at, `an integer ${lowest}–65535`, (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= lowest && value <= 65535 ? value : undefined,
  );
}

/** Milliseconds; positive unless `allowZero`. */
export function readDuration(reader: ConfigReader, at: Located, allowZero = false): number | undefined {
  const expected = `${allowZero ? 'a' : 'a positive'} duration like 500ms, 30s, 5m or 1h30m (at most 596h)`;
  return reader.value(at, expected, (value) => {
    if (typeof value !== 'string') return undefined;
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch {
      return undefined;
    }
    return (ms > 0 || (allowZero && ms === 0)) && ms <= MAX_TIMER_MS ? ms : undefined;
  });
}

export function readBoolean(reader: ConfigReader, at: Located): boolean | undefined {
  return reader.value(at, 'true or false', (value) => (typeof value === 'boolean' ? value : undefined));
}

/** A number ≥ `lowest` (finite). */
export function readNumberAtLeast(reader: ConfigReader, at: Located, lowest: number): number | undefined {
  return reader.value(at, `a number ≥ ${lowest}`, (value) =>
    typeof value === 'number' && Number.isFinite(value) && value >= lowest ? value : undefined,
  );
}

export function readOneOf<T extends string>(reader: ConfigReader, at: Located, choices: readonly T[]): T | undefined {
  return reader.value(at, `one of ${choices.join(', ')}`, (value) =>
    choices.find((choice) => choice === value),
  );
}

/** A string matching `pattern`; `expected` says what that means to a reader of the error. */
export function readMatching(
  reader: ConfigReader,
  at: Located,
  pattern: RegExp,
  expected: string,
  options: { secret?: boolean } = {},
): string | undefined {
  return reader.value(at, expected, (value) => (typeof value === 'string' && pattern.test(value) ? value : undefined), options);
}

export function readHost(reader: ConfigReader, at: Located): string | undefined {
  return reader.value(at, HOST_EXPECTED, (value) => (typeof value === 'string' && isValidHost(value) ? value : undefined));
}

export function readListenAddress(reader: ConfigReader, at: Located): ListenAddress | undefined {
  return reader.value(at, LISTEN_EXPECTED, parseListenAddress);
}

export function readHttpUrl(reader: ConfigReader, at: Located): string | undefined {
  return reader.value(at, 'an http:// or https:// URL', (value) => {
    if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? value : undefined;
  });
}

/** `none` or an http(s) proxy URL; secret, since the URL may carry the proxy's password. */
export function readProxy(reader: ConfigReader, at: Located): string | undefined {
  return reader.value(
    at,
    'none, or a proxy URL like http://proxy:3128 or http://user:password@proxy:3128',
    (value) => (value === 'none' || proxyUrlProblem(value) === undefined ? (value as string) : undefined),
    { secret: true },
  );
}
