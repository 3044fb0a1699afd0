/** `--tag Key=Value` pairs (already checked to contain `=`) as a tag target's mapping. */
export function parseTags(pairs: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    tags[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return tags;
}
