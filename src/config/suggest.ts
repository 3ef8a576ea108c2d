/** "Did you mean" suggestions for misspelt keys and values. */

/** Optimal-string-alignment Damerau-Levenshtein distance (adjacent transpositions cost 1). */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rolling rows are enough for OSA.
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      }
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m] as number;
}

/**
 * The candidate the user most plausibly meant: a case-insensitive match first, else the
 * closest within edit distance 2 (and shorter than the word itself, so "ab" does not
 * "suggest" every two-letter key). Ties go to the earlier candidate (schema order).
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c === word) continue;
    if (c.toLowerCase() === lower) return c;
    // Cheap length filter before the quadratic distance.
    if (Math.abs(c.length - word.length) > 2) continue;
    const d = editDistance(word, c);
    if (d <= 2 && d < word.length && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
