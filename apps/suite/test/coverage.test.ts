import { describe, expect, it } from 'vitest';
import { listWorkloads } from '@hugesync/workloads';
import { strategyNames } from '@hugesync/strategies';
import { runOnce, type Thread } from '@hugesync/core';
import { loadCatalogWorkload } from '@hugesync/workloads';
import { PERF_EXPECTATIONS, RACE_EXPECTATIONS, strategyByName } from '../src/index.js';
import { COVERED_BY_FILES } from './covered.js';

const workloads = listWorkloads();
const races = workloads.filter((w) => w.tags.includes('race')).map((w) => w.name);
const perfs = workloads.filter((w) => w.tags.includes('perf')).map((w) => w.name);
const names = strategyNames();

describe('the expectations table covers the catalog', () => {
  it('every catalog workload is tagged race or perf (so the suite runs it)', () => {
    expect(workloads.filter((w) => !w.tags.includes('race') && !w.tags.includes('perf')).map((w) => w.name)).toEqual([]);
  });

  it('every race workload x built-in strategy has exactly one expectation', () => {
    const missing: string[] = [];
    for (const w of races) for (const s of names) if (RACE_EXPECTATIONS.filter((e) => e.workload === w && e.strategy === s).length !== 1) missing.push(`${w} × ${s}`);
    expect(missing).toEqual([]);
  });

  it('no expectation names a workload or strategy that does not exist', () => {
    const stale = [
      ...RACE_EXPECTATIONS.filter((e) => !races.includes(e.workload) || !names.includes(e.strategy)).map((e) => `${e.workload} × ${e.strategy}`),
      ...PERF_EXPECTATIONS.filter((e) => !perfs.includes(e.workload) || !names.includes(e.higher) || !names.includes(e.lower)).map((e) => `${e.workload}: ${e.higher} vs ${e.lower}`),
    ];
    expect(stale).toEqual([]);
  });

  it('every entry says where it comes from', () => {
    for (const e of [...RACE_EXPECTATIONS, ...PERF_EXPECTATIONS]) expect(e.why.length, JSON.stringify(e)).toBeGreaterThan(20);
  });

  it('every catalog race workload has a matrix file (test/covered.ts), and only those', () => {
    expect([...COVERED_BY_FILES].sort()).toEqual([...races].sort());
  });

  it('every perf workload has at least one ordering checked', () => {
    for (const w of perfs) expect(PERF_EXPECTATIONS.some((e) => e.workload === w), w).toBe(true);
  });
});

describe('evidence for the model-bug entries', () => {
  // DPOR reports pmd-unshare-race × none as exhaustive with pte-stale-owner only; this directed
  // schedule shows pte-use-after-free is reachable there too (see docs/findings.md).
  it('pmd-unshare-race × none: pte-use-after-free is reachable (A stops after its lockless huge_pte_offset; C punches; B munmaps)', () => {
    const spec = loadCatalogWorkload('pmd-unshare-race');
    let aSteps = 0;
    const pick = (runnable: readonly Thread[]): Thread => {
      const by = (n: string) => runnable.find((t) => t.name === n);
      const a = by('A-fault');
      if (a && aSteps < 5) {
        aSteps++;
        return a;
      }
      return by('C-punch') ?? by('B-munmap') ?? runnable[0]!;
    };
    const { exec } = runOnce(spec, strategyByName('none'), { pick }, { seed: 1 });
    const uaf = exec.violations.find((v) => v.kind === 'pte-use-after-free');
    expect(uaf?.message).toMatch(/A-fault reads a PTE .* pmd1 .* in hugetlb_fault, but that page-table page was freed/);
  });
});
