import { describe, it, expect } from 'vitest';
import { explore, runOnce } from '@hugesync/core';
import { vmaLockStrategy } from '../src/index.js';
import { earlyWalkPreempted, faultTruncateRace, pmdUnshareRace } from './helpers.js';

describe('vma-lock on the core fixtures', () => {
  it('pmd-unshare-race: the fault holds the vma lock across huge_pte_alloc..set_pte, so no stale or freed table is used under the PTL (seed 002)', () => {
    const r = explore(pmdUnshareRace(), vmaLockStrategy, { explorer: 'random', schedules: 300, seed: 1, all: true });
    console.log('vma-lock pmd-unshare-race random', r.schedules, r.violations.map((v) => `${v.kind}: ${v.message} ${v.replay}`));
    expect(r.violations.filter((v) => v.kind === 'pte-stale-owner')).toEqual([]);
    expect(r.violations).toEqual([]);
  });

  it('pmd-unshare-race: the lockless huge_pte_offset() at the top of hugetlb_fault still reads a freed PMD page (seed 001)', () => {
    // Random and PCT rarely stop A for the whole hole punch + munmap inside a one-step window; drive it there.
    const { exec } = runOnce(pmdUnshareRace(), vmaLockStrategy, earlyWalkPreempted(), { seed: 1 });
    const uaf = exec.violations.filter((v) => v.kind === 'pte-use-after-free');
    console.log('vma-lock early-walk schedule', exec.violations.map((v) => `${v.kind}: ${v.message}`));
    expect(uaf).toHaveLength(1);
    expect(uaf[0]!.fn).toBe('hugetlb_fault');
    expect(uaf[0]!.thread).toBe('A-fault');
  });

  it('fault-truncate-race: a fault past its i_size check is not waited for (vmdelete only trylocks) and the reserve count goes negative', () => {
    const r = explore(faultTruncateRace(), vmaLockStrategy, { explorer: 'pct', schedules: 3000, seed: 1, all: true });
    console.log('vma-lock fault-truncate-race pct', r.schedules, r.violations.map((v) => `${v.kind}: ${v.message} [${v.steps} steps] ${v.replay}`));
    expect(r.violations.map((v) => v.kind)).toContain('reserve-count');
  });

  // 5.6 has BUG_ON(truncate_op) when truncation finds a mapped page; 6.1's remove_inode_single_folio()
  // unmaps it instead (hugetlb_unmap_file_folio): features.truncateMappedPageIsBug = false.
  it('fault-truncate-race: truncation finding a mapped page is not a BUG in 6.1', () => {
    const r = explore(faultTruncateRace(), vmaLockStrategy, { explorer: 'pct', schedules: 3000, seed: 1, all: true });
    expect(r.violations.filter((v) => v.message.startsWith('kernel BUG in remove_inode_hugepages'))).toEqual([]);
  });
});
