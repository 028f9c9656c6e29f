import { describe, it, expect } from 'vitest';
import { runOnce, type SyncStrategy } from '@hugesync/core';
import { vmaLockStrategy } from '../src/index.js';
import { attachRankChecker, inOrder, shareFault } from './helpers.js';

/** Lock classes A-fault acquires and releases, in order, in one sequential run of shareFault. */
export function faultLockTrace(s: SyncStrategy) {
  const acquired: string[] = [];
  const released: string[] = [];
  const badOrder: string[] = [];
  const { exec } = runOnce(shareFault(), s, inOrder('A-fault'), {
    seed: 1,
    onBuilt: (b) => {
      attachRankChecker(b.kernel, badOrder);
      b.kernel.bus.on('lock:acquired', (t, l, mode, fn) => {
        if (t.name === 'A-fault') acquired.push(`${l.cls}:${mode}@${fn}`);
      });
      b.kernel.bus.on('lock:released', (t, l, mode) => {
        if (t.name === 'A-fault') released.push(`${l.cls}:${mode}`);
      });
    },
  });
  return { acquired, released, badOrder, exec };
}

describe('vma-lock: a fault that shares a PMD table (lock map A.1 V, A.2 V, B.2, §D)', () => {
  const tr = faultLockTrace(vmaLockStrategy);

  it('runs clean', () => {
    expect(tr.exec.violations.map((v) => v.message)).toEqual([]);
    expect(tr.exec.completed).toBe(true);
  });

  it('takes fault mutex -> vma lock (read) -> i_mmap_rwsem (read, in huge_pmd_share) -> page lock -> PTL', () => {
    expect(tr.acquired).toEqual([
      'mmap_lock:read@do_user_addr_fault',
      'hugetlb_fault_mutex:write@hugetlb_fault',
      'hugetlb_vma_lock:read@hugetlb_fault',
      'hugetlbfs_i_mmap_rwsem_key:read@huge_pmd_share',
      'ptlock:write@huge_pmd_share',
      'page_lock:write@find_lock_page',
      'ptlock:write@hugetlb_no_page',
    ]);
    expect(tr.badOrder).toEqual([]);
  });

  it('releases the vma lock before the fault mutex (hugetlb_vma_unlock_read -> mutex_unlock)', () => {
    expect(tr.released).toEqual([
      'ptlock:write',
      'hugetlbfs_i_mmap_rwsem_key:read',
      'ptlock:write',
      'page_lock:write',
      'hugetlb_vma_lock:read',
      'hugetlb_fault_mutex:write',
      'mmap_lock:read',
    ]);
  });
});
