/**
 * Peter Xu, "[PATCH RFC 00/10] mm/hugetlb: Make huge_pte_offset() thread-safe for pmd unshare"
 * (30 Oct 2022, seed 001), on top of the 6.1 vma lock: lockless huge_pte_offset() walkers run
 * inside rcu_read_lock(), and a PMD page-table page is freed only after a grace period
 * (MMU_GATHER_RCU_TABLE_FREE), as GUP-fast already relies on. And the form that was merged in
 * 6.3 instead: hugetlb_walk(), whose callers hold the vma lock (or i_mmap_rwsem), and a
 * hugetlb_fault() without the lockless early walk.
 */
import { callRcu, composeStrategy, rcuReadLock, rcuReadUnlock, type Ctx, type KGen, type PmdTable, type SyncStrategy, type Vma, type WalkContext } from '@hugesync/core';
import { hugetlbVmaLockRead, hugetlbVmaUnlock, vmaLockStrategy } from '@hugesync/strategy-vma-lock';

export const rcuStrategy: SyncStrategy = composeStrategy(vmaLockStrategy, {
  name: 'rcu',
  description:
    'Peter Xu RFC v1 (Oct 2022) on Linux 6.1: the vma lock, plus rcu_read_lock() around lockless huge_pte_offset() walkers and RCU-deferred freeing of PMD table pages.',
  seed: '001 (Peter Xu, "mm/hugetlb: Make huge_pte_offset() thread-safe for pmd unshare", RFC v1, 30 Oct 2022)',
  kernel: 'v6.1.15 + RFC v1 (mm-unstable, Oct 2022)',
  package: '@hugesync/strategy-rcu',
  lockClasses: [{ name: 'rcu_read_lock', kind: 'rcu', protects: 'the PMD table page a lockless huge_pte_offset() walker dereferences: it is not freed before the walker leaves its read-side section' }],
  options: { form: 'RFC v1', tableFree: 'call_rcu (MMU_GATHER_RCU_TABLE_FREE)' },

  /**
   * RFC v1 09/10 "Make hugetlb_fault() RCU-safe" (and 03-08/10 for the other walkers), on v6.1:
   * rcu_read_lock() before a lockless huge_pte_offset() and the use of the pte it returns.
   */
  *walkBegin(c: Ctx, _vma: Vma, _where: WalkContext): KGen {
    yield* rcuReadLock(c.k, c.t, 'huge_pte_offset');
  },

  /** RFC v1 09/10: rcu_read_unlock() once the lockless pte is no longer used. */
  *walkEnd(c: Ctx, _vma: Vma, _where: WalkContext): KGen {
    yield* rcuReadUnlock(c.k, c.t, 'huge_pte_offset');
  },

  /**
   * mm/mmu_gather.c tlb_remove_table() -> tlb_remove_table_rcu() @ v6.1 (MMU_GATHER_RCU_TABLE_FREE,
   * what RFC v1 02/10 relies on): the PMD page goes back to the allocator from an RCU callback, so
   * no walker inside rcu_read_lock() can see it freed or reused.
   */
  *freeTable(c: Ctx, table: PmdTable): KGen {
    yield* callRcu(c.k, c.t, 'tlb_remove_table', `pmd_free(pmd${table.pfn})`, () => c.k.tables.release(table), table.objId);
  },
});

/**
 * The merged form, Linux 6.3 (v6.3.8, lock map column W; "[PATCH v3 0/9] mm/hugetlb: Make
 * huge_pte_offset() thread-safe for pmd unshare", Dec 2022): no RCU. Every huge_pte_offset()
 * caller goes through hugetlb_walk(), which lockdep-asserts the vma lock (or i_mmap_rwsem) is held;
 * hugetlb_fault() dropped its lockless early walk; walkers outside the fault path (GUP
 * follow_hugetlb_page / hugetlb_follow_page_mask, userfaultfd_huge_must_wait, walk_hugetlb_range)
 * take hugetlb_vma_lock_read() around the walk and the use of the pte, including FOLL_NOWAIT.
 */
export const hugetlbWalkStrategy: SyncStrategy = composeStrategy(vmaLockStrategy, {
  name: 'vma-lock-6.3',
  description:
    'Linux 6.3 (v6.3.8): the vma lock, with every huge_pte_offset() walker holding it (hugetlb_walk()); hugetlb_fault() has no lockless early walk.',
  seed: '001 (as merged: PATCH v3, Dec 2022) on 002',
  kernel: 'v6.3.8',
  package: '@hugesync/strategy-rcu',
  options: { form: '6.3.8 hugetlb_walk()' },
  features: { ...vmaLockStrategy.features, faultLocklessWalk: false, followPageHugetlb: 'hugetlb_follow_page_mask' },

  /**
   * mm/hugetlb.c follow_hugetlb_page(), hugetlb_follow_page_mask(); fs/userfaultfd.c
   * handle_userfault(); mm/pagewalk.c walk_hugetlb_range() @ v6.3.8: hugetlb_vma_lock_read()
   * before hugetlb_walk(). (A sleeping lock: 6.3 has no atomic-context hugetlb walker left.)
   */
  *walkBegin(c: Ctx, vma: Vma, _where: WalkContext): KGen {
    yield* hugetlbVmaLockRead(c, vma, 'hugetlb_walk');
  },

  /** The matching hugetlb_vma_unlock_read() @ v6.3.8. */
  *walkEnd(c: Ctx, vma: Vma, _where: WalkContext): KGen {
    yield* hugetlbVmaUnlock(c, vma, 'read', 'hugetlb_walk');
  },

  /**
   * mm/migrate.c __migration_entry_wait_huge() @ v6.3.8: hugetlb_fault() keeps the vma lock across
   * the wait ("needed to guard the huge_pte_lockptr()"); it is dropped after the recheck under the
   * PTL, before sleeping on the page.
   */
  *migrationWaitUnlock(c: Ctx, vma: Vma): KGen {
    yield* hugetlbVmaUnlock(c, vma, 'read', 'migration_entry_wait_huge');
  },
});
