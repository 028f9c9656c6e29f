/** findingWhere(): what docs/findings.md says about where a violation was detected (scripts/findings.mjs). */
import { describe, expect, it } from 'vitest';
import { explore, noneStrategy } from '@hugesync/core';
import { loadCatalogWorkload } from '@hugesync/workloads';
import { findingWhere } from '../src/index.js';

describe('findingWhere', () => {
  it('names the kernel function, else the task, else says the invariant was checked at quiescence (never "undefined")', () => {
    expect(findingWhere({ fn: 'hugetlb_fault', thread: 'A-fault' })).toBe('in `hugetlb_fault`');
    expect(findingWhere({ thread: 'A-fault' })).toBe('in task A-fault');
    expect(findingWhere({})).toBe('at quiescence');
  });

  it('explore() findings carry the function of a step violation and none for a quiescence invariant', () => {
    const r = explore(loadCatalogWorkload('fault-truncate-race'), noneStrategy, { explorer: 'pct', schedules: 300, seed: 1, all: true, minimize: false });
    expect(r.violations.length).toBeGreaterThan(0);
    for (const f of r.violations) {
      expect(findingWhere(f)).not.toMatch(/undefined/);
      if (f.thread === undefined) expect(f.fn, `${f.kind}: ${f.message}`).toBeUndefined();
    }
  });
});
