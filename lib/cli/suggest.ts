// "Did you mean ...?" for a mistyped command or option. The distance is
// optimal string alignment (Levenshtein plus swapping two neighbours, the
// commonest typo: `gc` for `cg`, `--josn`); a dozen lines written here
// rather than a dependency, since the words compared are a few short names.

/** Edits (insert, delete, substitute, swap neighbours) turning a into b. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to word, when it is close enough to be a typo: at
 * most one edit for words of two to four letters, two for longer ones (so
 * `br0` suggests nothing, `helpp` suggests `help`); none for a single letter
 * (`-x` is as close to every other one-letter option). Ties go to the first.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const bare = word.replace(/^-+/, '');
  if (bare.length < 2) return undefined;
  const limit = bare.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist <= limit && dist < bestD) [best, bestD] = [c, dist];
  }
  return best;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean '${c}'?)`;
}
