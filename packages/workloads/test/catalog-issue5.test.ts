/** The issue #5 race workloads: split, fork with shared PMDs, mremap, SysV shm, MADV_DONTNEED on a private mapping. */
import { describe, it, expect } from 'vitest';
import { noneStrategy, runOnce } from '@hugesync/core';
import { listWorkloads, loadCatalogWorkload } from '../src/index.js';

const ISSUE5 = ['fork-with-shared-pmd', 'madvise-private-vs-fault', 'mremap-vs-fault', 'shm-detach-vs-fault', 'split-vs-fault'];

describe('issue #5 catalog workloads', () => {
  it('are the race workloads tagged issue-5', () => {
    const issue5 = listWorkloads().filter((e) => e.tags.includes('issue-5')).map((e) => e.name);
    for (const n of ISSUE5) expect(issue5).toContain(n);
    for (const e of listWorkloads().filter((x) => x.tags.includes('issue-5'))) expect(e.tags).toContain('race');
  });

  for (const name of ISSUE5) {
    it(`${name}: 2-3 threads of at most 2 ops, and one sequential schedule is clean under 5.6`, () => {
      const w = loadCatalogWorkload(name);
      expect(w.threads.length).toBeGreaterThanOrEqual(2);
      expect(w.threads.length).toBeLessThanOrEqual(3);
      for (const t of w.threads) expect(t.ops.length).toBeLessThanOrEqual(2);
      expect(w.repeat).toBe(false);
      const { exec } = runOnce(w, noneStrategy, { pick: (r) => r[0]! }, { seed: 1 });
      expect(exec.completed).toBe(true);
      expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
    });
  }

  it('shm-detach-vs-fault maps a SysV segment (files[].shm) and detaches it with shmdt', () => {
    const w = loadCatalogWorkload('shm-detach-vs-fault');
    expect(w.files).toEqual([{ name: 'seg', size: 2 ** 30, shm: true }]);
    expect(w.threads.flatMap((t) => t.ops.map((o) => o.op))).toContain('shmdt');
  });
});
