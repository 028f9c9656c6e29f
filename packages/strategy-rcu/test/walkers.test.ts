// Issue 5 walkers under the two forms of seed 001: which protection each lockless walk runs with.
import { describe, it, expect } from 'vitest';
import { runOnce, stepLabel, type Op, type SyncStrategy, type WorkloadSpec } from '@hugesync/core';
import { rcuStrategy, hugetlbWalkStrategy } from '../src/index.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
function spec(op: Op): WorkloadSpec {
  const m = { name: 'm', file: 'f', offset: 0, length: GiB, shared: true, write: true, placement: 'same' as const, mapAtStart: true };
  return {
    name: 'walkers', description: '', tags: [], params: {}, pool: { hugePages: 520, overcommit: 0 }, faultMutexes: 64,
    files: [{ name: 'f', size: GiB }],
    processes: [{ name: 'A', mappings: [m] }, { name: 'B', mappings: [m] }],
    setup: [
      { process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
      { process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
    ],
    threads: [{ name: 'A-walk', process: 'A', ops: [op] }],
  };
}

/** For every huge_pte_offset() of the walker function `fn`: is A inside an RCU section, and which lock classes does it hold? */
function walkContext(s: SyncStrategy, op: Op, fn: string) {
  const seen: Array<{ rcu: boolean; held: string[] }> = [];
  const { exec } = runOnce(spec(op), s, { pick: (r) => r[0]! }, {
    seed: 1,
    onBuilt: (b) => {
      b.kernel.stepListeners = true;
      b.kernel.bus.on('step', (t, st) => {
        if (t.name === 'A-walk' && st.fn === fn && stepLabel(st).startsWith('huge_pte_offset')) seen.push({ rcu: t.rcuDepth > 0, held: t.held.map((h) => h.lock.cls) });
      });
    },
  });
  expect(exec.violations).toEqual([]);
  return seen;
}

const gup: Op = { op: 'gup', mapping: 'm', offset: 0, length: 2 * MiB, write: false, nowait: true, fast: false, expect: 'ok' };
const mincore: Op = { op: 'pagewalk', mapping: 'm', walker: 'mincore', offset: 0, length: 4 * MiB, expect: 'ok' };

describe('issue 5 walkers', () => {
  it('rcu (RFC v1 07/08): follow_hugetlb_page walks inside rcu_read_lock, FOLL_NOWAIT included, and takes no sleeping lock for it', () => {
    const seen = walkContext(rcuStrategy, gup, 'follow_hugetlb_page');
    expect(seen.length).toBeGreaterThan(0);
    for (const x of seen) expect(x).toEqual({ rcu: true, held: ['mmap_lock'] });
  });
  it('vma-lock-6.3: follow_hugetlb_page takes hugetlb_vma_lock_read before hugetlb_walk (FOLL_NOWAIT too, lock map A.12 W)', () => {
    const seen = walkContext(hugetlbWalkStrategy, gup, 'follow_hugetlb_page');
    expect(seen.length).toBeGreaterThan(0);
    for (const x of seen) expect(x).toEqual({ rcu: false, held: ['mmap_lock', 'hugetlb_vma_lock'] });
  });
  it('vma-lock-6.3: walk_hugetlb_range holds the vma lock across the whole loop (lock map A.15 W); rcu walks under rcu_read_lock', () => {
    const w63 = walkContext(hugetlbWalkStrategy, mincore, 'walk_hugetlb_range');
    expect(w63.map((x) => x.held)).toEqual([['mmap_lock', 'hugetlb_vma_lock'], ['mmap_lock', 'hugetlb_vma_lock']]);
    const rcu = walkContext(rcuStrategy, mincore, 'walk_hugetlb_range');
    expect(rcu.map((x) => x.rcu)).toEqual([true, true]);
  });
});
