/**
 * How many plain interleavings a workload has, when counting them one by one is out of reach:
 * the multinomial coefficient of the per-thread step counts of one run, (n1+...+nk)! / (n1!...nk!),
 * i.e. the number of ways to interleave those step sequences if every step could run at any
 * time. It ignores blocking (which removes interleavings) and data-dependent control flow (which
 * changes the step counts), so it is an estimate of the size of the space DPOR reduces, not a
 * bound.
 */

/** log10(n!) by summation (exact enough for the step counts of a run: at most a few 10^5). */
function log10Factorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log10(i);
  return s;
}

/** log10 of the multinomial coefficient of `counts`. */
export function log10Multinomial(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let r = log10Factorial(total);
  for (const c of counts) r -= log10Factorial(c);
  return r;
}

/** Per-thread step counts of a schedule (a list of thread ids, one per step). */
export function stepsPerThread(schedule: readonly number[]): number[] {
  const counts: number[] = [];
  for (const t of schedule) counts[t] = (counts[t] ?? 0) + 1;
  return counts.filter((c) => c !== undefined && c > 0);
}

/** "~3.2e+851" (or a plain "~1234" below 10^15) for a log10 value. */
export function formatLog10(l: number): string {
  if (l < 15) return `~${Math.round(10 ** l).toLocaleString('en-US')}`;
  const e = Math.floor(l);
  const m = 10 ** (l - e);
  return `~${m.toFixed(1)}e+${e}`;
}
