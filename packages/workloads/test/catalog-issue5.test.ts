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

  it('migrate-vs-fork-anon forks a child that stays (exit: false) against a migration of an anonymous page; follow-page-vs-unshare only follows the page (migrate stat)', () => {
    const w = loadCatalogWorkload('migrate-vs-fork-anon');
    expect(w.processes[0]!.mappings[0]!.shared).toBe(false);
    expect(w.threads.flatMap((t) => t.ops)).toEqual([
      { op: 'fork', child: 'child', ops: [], exit: false, expect: 'ok' },
      { op: 'migrate', mapping: 'm', offset: 0 },
    ]);
    const f = loadCatalogWorkload('follow-page-vs-unshare');
    expect(f.threads[0]!.ops).toEqual([{ op: 'migrate', mapping: 'm', offset: 0, stat: true }]);
    // Sequentially (A first) nothing is unshared under A yet: every design is clean and the lookup finds the page.
    for (const name of ['migrate-vs-fork-anon', 'follow-page-vs-unshare']) {
      const { exec } = runOnce(loadCatalogWorkload(name), noneStrategy, { pick: (r) => r[0]! }, { seed: 1 });
      expect([name, exec.completed, exec.violations.map((v) => v.kind)]).toEqual([name, true, []]);
    }
  });

  it('shm-detach-vs-fault maps a SysV segment (files[].shm) and detaches it with shmdt', () => {
    const w = loadCatalogWorkload('shm-detach-vs-fault');
    expect(w.files).toEqual([{ name: 'seg', size: 2 ** 30, shm: true }]);
    expect(w.threads.flatMap((t) => t.ops.map((o) => o.op))).toContain('shmdt');
  });
});
