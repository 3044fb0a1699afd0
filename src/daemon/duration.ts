/*
 * Durations as written in the daemon config: `30s`, `200ms`, `1.5m`, `1h30m`.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// `ms` comes before `m` in the alternation so that `200ms` is not read as 200 minutes and an `s`.
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/**
 * Milliseconds in `text`: one or more number+unit parts (units ms, s, m, h; integers or decimals),
 * summed. Throws an Error that quotes the text when it is not a duration.
 */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw notADuration(text);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) throw notADuration(text);
  return total;
}

function notADuration(text: string): Error {
  return new Error(`expected a duration like 500ms, 30s, 5m or 1h30m, got ${JSON.stringify(text)}`);
}
