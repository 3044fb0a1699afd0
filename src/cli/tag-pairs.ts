/* `--tag Key=Value` arguments, shared by the commands that take a target (a light module: no imports). */

/** Undefined when every pair is Key=Value; otherwise the first one that is not. */
export function badTagPair(pairs: readonly string[] | undefined): string | undefined {
  return pairs?.find((pair) => pair.indexOf('=') <= 0);
}

/** Key=Value pairs as a tag map; the value may itself contain `=`. */
export function parseTags(pairs: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    tags[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return tags;
}
