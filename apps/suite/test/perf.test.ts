import { describe, expect, it } from 'vitest';
import { listWorkloads } from '@hugesync/workloads';
import { strategyNames } from '@hugesync/strategies';
import type { SimResult } from '@hugesync/core';
import { PERF_EXPECTATIONS, perfPlan, runPerfCell } from '../src/index.js';

const perfs = listWorkloads().filter((w) => w.tags.includes('perf')).map((w) => w.name);

for (const w of perfs) {
  const plan = perfPlan(w);
  const size = `${plan.cpus} cpus, ${plan.durationSec} s, ${Object.entries(plan.set).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  describe(`${w} (${size})`, () => {
    const results = new Map<string, SimResult>();
    const result = (s: string): SimResult => {
      let r = results.get(s);
      if (!r) {
        r = runPerfCell(w, s);
        results.set(s, r);
      }
      return r;
    };
    for (const s of strategyNames()) {
      it(`${w} × ${s}: runs the whole simulated time, no checker fires, faults happen`, () => {
        const r = result(s);
        expect(r.stoppedBy).toBe('duration');
        expect(r.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
        expect(r.faults).toBeGreaterThan(0);
        expect(r.simulatedSeconds).toBeCloseTo(plan.durationSec, 6);
      });
    }
    for (const e of PERF_EXPECTATIONS.filter((x) => x.workload === w)) {
      it(`${w}: ${e.metric} ${e.higher} ≥ ${e.lower}${e.tolerance ? ` (within ${e.tolerance * 100}%)` : ''}${e.finding ? ' [finding]' : ''}`, () => {
        const hi = result(e.higher)[e.metric];
        const lo = result(e.lower)[e.metric];
        expect(hi, `${e.metric}: ${e.higher} ${hi}, ${e.lower} ${lo}`).toBeGreaterThanOrEqual(lo * (1 - (e.tolerance ?? 0)));
      });
    }
  });
}
