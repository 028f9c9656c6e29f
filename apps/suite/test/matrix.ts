/** Shared by the matrix test files: one `it` per (race workload x strategy) cell. */
import { describe, expect, it } from 'vitest';
import { strategyNames } from '@hugesync/strategies';
import { needsFallback, raceExpectation, racePlan, replayToken, runRaceCell, verdictText } from '../src/index.js';

/** The strategies a file covers (a workload can be split over files to use both cores). */
export function raceMatrix(workload: string, which: (names: string[]) => string[] = (n) => n): void {
  const plan = racePlan(workload);
  describe(`${workload} (dpor ${plan.dpor.schedules}, then ${plan.fallback.explorer} ${plan.fallback.schedules} seed ${plan.fallback.seed} when needed)`, () => {
    for (const s of which(strategyNames())) {
      const e = raceExpectation(workload, s);
      const label = e ? verdictText(e.verdict) : 'no expectation';
      const suffix = e?.modelBug ? ' [model bug: expected to fail until core is fixed]' : e?.finding ? ' [finding]' : '';
      const test = e?.modelBug ? it.fails : it;
      test(`${workload} × ${s}: ${label}${suffix}`, () => {
        expect(e, `no entry for ${workload} × ${s} in src/expectations.ts`).toBeDefined();
        const c = runRaceCell(workload, s);
        expect(c.timedOut, 'a wall-clock guard cut the exploration short; the result is not the deterministic one').toBe(false);
        expect(c.fallback !== undefined, 'second pass runs exactly when DPOR is not exhaustive or found something').toBe(needsFallback(c.dpor));
        const v = e!.verdict;
        if ('clean' in v) {
          expect(c.kinds, c.findings.map((f) => `${f.kind}: ${f.message} (${f.replay})`).join('\n')).toEqual([]);
          expect(c.exhaustive).toBe(v.exhaustive);
        } else {
          expect(c.kinds).toEqual([...v.kinds].sort());
        }
        // Every counterexample replays from its token, as `hugesync replay` does.
        for (const f of c.findings) expect(replayToken(f.replay).kinds, `${f.kind}: ${f.replay}`).toContain(f.kind);
      });
    }
  });
}
