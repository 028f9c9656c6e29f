/** Edit distance and "did you mean" suggestions for names typed on a command line. */

/** Edit distance: insert, delete, substitute, or swap two adjacent characters, each costing 1 (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/**
 * The candidate nearest to `name`, if it is near enough to be a plausible typo: at most one edit
 * per three characters of the longer name (at least 1, at most 3); a candidate that contains the
 * name (or the other way round, 3 characters or more) also counts. Ties go to the earlier candidate.
 */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let d = editDistance(lower, cl);
    if (d > Math.min(3, Math.max(1, Math.floor(Math.max(lower.length, cl.length) / 3)))) {
      if (lower.length >= 3 && (cl.includes(lower) || lower.includes(cl))) d = 3.5;
      else continue;
    }
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` or ''. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const n = nearest(name, candidates);
  return n ? ` (did you mean "${n}"?)` : '';
}
