/*
 * "Did you mean" for misspelt config keys.
 */

/** The known key `unknown` most likely stands for, or undefined when none is close. */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  const wanted = folded(unknown);
  // Case and separators first: `keepalive`, `connect_timeout`, `Local-Host`.
  const sameWords = known.find((key) => folded(key) === wanted);
  if (sameWords !== undefined) return sameWords;
  // Then typos: allow about one edit per four characters, at least one, at most two.
  const allowed = Math.min(2, Math.max(1, Math.floor(wanted.length / 4)));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const key of known) {
    const distance = editDistance(wanted, folded(key));
    if (distance < bestDistance) {
      best = key;
      bestDistance = distance;
    }
  }
  return best;
}

function folded(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
function editDistance(a: string, b: string): number {
  // rows[i][j] = distance between a[0..i) and b[0..j)
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
