/**
 * The SyncStrategy interface: a design for synchronizing hugetlb PMD sharing, expressed as
 * hooks the kernel paths call at the points where the published designs differ, plus a few
 * declared behaviours (features). The `none` strategy is Linux 5.6, the baseline.
 * Core never looks at a strategy's name.
 */
import type { KGen } from './engine/step.js';
import type { Kernel } from './engine/kernel.js';
import type { Ctx } from './ops/ctx.js';
import type { Inode } from './model/inode.js';
import type { Vma } from './model/mm.js';
import type { HugePage } from './model/page.js';
import type { PmdTable } from './model/pgtable.js';
import type { Mutex, LockKind } from './kernel/locks.js';

export interface LockClassInfo {
  /** Lock class (lockdep key) name as it appears in reports. */
  name: string;
  kind: LockKind | 'rcu';
  /** Where it lives and what it protects. */
  protects: string;
}

/** Why a path may unshare PMDs and so takes the design's write-side locks. */
export type UnshareWhy = 'munmap' | 'exit' | 'madvise' | 'truncate' | 'punch' | 'mprotect' | 'cow-unmap' | 'remove-page' | 'split' | 'mremap';

/** Why an rmap unmap runs: page migration (unmap_and_move_huge_page) or memory failure (hwpoison_user_mappings). */
export type RmapWhy = 'migrate' | 'hwpoison';

/** What a design's rmapUnmapBegin() took before try_to_unmap(). */
export interface RmapUnmapLock {
  /** try_to_unmap() runs with TTU_RMAP_LOCKED: the rmap walk takes no i_mmap_rwsem / anon_vma lock itself. */
  rmapLocked: boolean;
  /** Held until after remove_migration_ptes(), whose walk is then rmap-locked too (5.7 migration). */
  heldAcrossRemove: boolean;
  /** The design's own record for rmapUnmapEnd() (e.g. the address_space it locked). */
  state?: unknown;
}

/** Where a page-table walk outside the fault path runs. */
export type WalkContext = 'sleepable' | 'atomic';

export interface StrategyFeatures {
  /** hugetlb_fault() starts with a lockless huge_pte_offset() (migration/hwpoison check). 6.3 removed it. */
  faultLocklessWalk: boolean;
  /** 5.6: a pte found by that lockless walk is used for the whole fault, without huge_pte_alloc(). */
  faultUsesLocklessPte: boolean;
  /** huge_pte_alloc() runs after the fault mutex and faultLocked (6.1) rather than before the mutex. */
  pteAllocUnderFaultMutex: boolean;
  /** huge_pmd_share() takes i_mmap_rwsem for read itself (5.6, hinode, 6.1) rather than relying on the caller (5.7..6.0). */
  pmdShareTakesIMmap: boolean;
  /** hugetlb_no_page(): i_size read once before the page-cache lookup (5.7) or only when the page is absent. */
  sizeCheck: 'before-lookup' | 'when-absent';
  /** hugetlb_no_page() reads i_size again under the page-table lock (5.6, hinode). */
  sizeRecheckUnderPtl: boolean;
  /** A fault that finds it went beyond i_size deletes its new page from the page cache and restores the reserve (hinode 4/4). */
  backoutDeletesBeyondEof: boolean;
  /** Truncate writes i_size under i_mmap_rwsem held for write (5.7..6.0). */
  truncateSizeUnderIMmap: boolean;
  /** remove_inode_hugepages() takes the fault mutex for truncation too, not only for hole punch. */
  removeMutexOnTruncate: boolean;
  /** remove_inode_hugepages() checks page_mapping(page) == mapping after lock_page() (hinode 4/4). */
  removeChecksMapping: boolean;
  /** fork copies shared hugetlb page tables (<= 6.0); 6.1 leaves them to faults (vma_needs_copy). */
  forkCopiesShared: boolean;
  /** __unmap_hugepage_range() flushes the TLB for the PUD range right after an unshare (a4a118f2eead, 5.16+). */
  flushOnUnshare: boolean;
  /** __unmap_hugepage_range_final() clears VM_MAYSHARE under i_mmap_rwsem (<= 6.0); 6.1 frees the vma lock instead. */
  clearMayshareOnFinalUnmap: boolean;
  /** remove_inode_hugepages() treats a mapped page during truncation as BUG_ON(truncate_op) (<= 6.0); 6.1 unmaps it. */
  truncateMappedPageIsBug: boolean;
  /** MADV_DONTNEED works on hugetlb vmas (5.18+); before, can_madv_lru_vma() refuses it with -EINVAL. */
  madviseDontneed: boolean;
  /**
   * hugetlb_vm_op_split() unshares the PMDs of the PUD range around a split address that is not
   * PUD-aligned (hugetlb_unshare_pmds(), b30c14cd6102, Jan 2023; in 6.1.y by 6.1.15). Before, it
   * only checks huge-page alignment and a split leaves shared tables under unshareable vmas.
   */
  splitUnsharesPmds: boolean;
  /** mremap() can move a hugetlb vma: move_hugetlb_page_tables() (550a7d60bd5e, 5.16+); before, vma_to_resize() refuses it with -EINVAL. */
  mremapMovesHugetlb: boolean;
  /**
   * follow_page() of a hugetlb address (move_pages, memory-failure injection): 'follow_huge_pmd'
   * (5.x follow_page_mask -> follow_huge_pmd; 6.1 follow_huge_pmd_pte: a lockless walk, the PTL,
   * waits on a migration entry) or 'hugetlb_follow_page_mask' (6.3: under the design's walkBegin,
   * no wait on a migration entry).
   */
  followPageHugetlb: 'follow_huge_pmd' | 'hugetlb_follow_page_mask';
}

export const BASELINE_FEATURES: StrategyFeatures = {
  faultLocklessWalk: true,
  faultUsesLocklessPte: true,
  pteAllocUnderFaultMutex: false,
  pmdShareTakesIMmap: true,
  sizeCheck: 'when-absent',
  sizeRecheckUnderPtl: true,
  backoutDeletesBeyondEof: false,
  truncateSizeUnderIMmap: false,
  removeMutexOnTruncate: true,
  removeChecksMapping: false,
  forkCopiesShared: true,
  flushOnUnshare: false,
  clearMayshareOnFinalUnmap: true,
  truncateMappedPageIsBug: true,
  madviseDontneed: false,
  splitUnsharesPmds: false,
  mremapMovesHugetlb: false,
  followPageHugetlb: 'follow_huge_pmd',
};

export interface SyncStrategy {
  /** Short identifier used on the command line. */
  readonly name: string;
  readonly description: string;
  /** The seed / posting it implements. */
  readonly seed: string;
  /** Kernel version or series modelled. */
  readonly kernel: string;
  /** npm package providing it. */
  readonly package: string;
  /** Lock classes the design adds (beyond the kernel's own). */
  readonly lockClasses: readonly LockClassInfo[];
  readonly features: StrategyFeatures;
  /** Documented options in force (for reports), e.g. {form: '5.10'}. */
  readonly options?: Readonly<Record<string, unknown>>;

  /** Attach per-inode state (hinode_rwsem). */
  initInode?(k: Kernel, inode: Inode): void;
  /** At mmap or vma duplication: attach per-VMA state (hugetlb_vma_lock_alloc). */
  initVma?(k: Kernel, vma: Vma): void;
  /** Extra condition for PMD sharing on both the faulting and the candidate VMA (6.1: the vma lock must exist). */
  vmaMayShare?(vma: Vma): boolean;

  /** hugetlb_fault(): before huge_pte_alloc() and the fault mutex (5.7: i_mmap_rwsem read; hinode: hinode_rwsem read). */
  faultEnter?(c: Ctx, vma: Vma, addr: number): KGen;
  /** hugetlb_fault(): right after the fault mutex is taken (6.1: vma lock read). */
  faultLocked?(c: Ctx, vma: Vma, addr: number): KGen;
  /** hugetlb_fault(): before the fault mutex is released. */
  faultUnlocking?(c: Ctx, vma: Vma, addr: number): KGen;
  /** hugetlb_fault(): after the fault mutex is released. */
  faultExit?(c: Ctx, vma: Vma, addr: number): KGen;

  /** Paths that may unshare (unmap, mprotect, truncate re-unmap...): before i_mmap_rwsem is taken for write. */
  unshareBegin?(c: Ctx, vma: Vma, why: UnshareWhy): KGen;
  /** ...before i_mmap_rwsem is released (6.1 frees the vma lock here on final unmap). */
  unshareBeforeIMmapUnlock?(c: Ctx, vma: Vma, why: UnshareWhy): KGen;
  /** ...after i_mmap_rwsem is released. */
  unshareEnd?(c: Ctx, vma: Vma, why: UnshareWhy): KGen;

  /** Truncation, around i_size update and hugetlb_vmdelete_list (hinode: hinode_rwsem write). */
  truncateBegin?(c: Ctx, inode: Inode): KGen;
  truncateEnd?(c: Ctx, inode: Inode): KGen;
  /** hugetlb_vmdelete_list(), per VMA with i_mmap_rwsem held for write: may it be unmapped now? (6.1: trylock vma lock). */
  vmdeleteLockVma?(c: Ctx, vma: Vma): KGen<boolean>;
  vmdeleteUnlockVma?(c: Ctx, vma: Vma): KGen;
  /**
   * remove_inode_hugepages(): a page still mapped (hole punch) must be unmapped. Called with
   * the fault mutex held; must return with it held. Default: the 5.6 order.
   */
  removeMappedPage?(c: Ctx, inode: Inode, page: HugePage, idx: number, mutex: Mutex): KGen;

  /** copy_hugetlb_page_range() of a shared mapping, around the loop (5.7: i_mmap read; 6.1: vma lock read). */
  forkCopyBegin?(c: Ctx, src: Vma): KGen;
  forkCopyEnd?(c: Ctx, src: Vma): KGen;

  /**
   * Lockless huge_pte_offset() walkers: begin/end protection. Called around hugetlb_fault's early
   * walk, per page of follow_hugetlb_page (GUP; `where: 'atomic'` for FOLL_NOWAIT, the caller seed
   * 001 calls unable to sleep), in handle_userfault before set_current_state up to the end of
   * userfaultfd_huge_must_wait, around the whole walk_hugetlb_range loop, and around follow_page()'s
   * walk (follow_huge_pmd / hugetlb_follow_page_mask; ended before a migration-entry wait).
   */
  walkBegin?(c: Ctx, vma: Vma, where: WalkContext): KGen;
  walkEnd?(c: Ctx, vma: Vma, where: WalkContext): KGen;

  /** A PMD table whose last reference went away: free it now (default) or after an RCU grace period. */
  freeTable?(c: Ctx, table: PmdTable): KGen;

  // ---- migration and memory failure (issue #5) ----

  /**
   * unmap_and_move_huge_page() / hwpoison_user_mappings(): the page is locked and mapped; take the
   * design's mapping lock before try_to_unmap() (5.7: hugetlb_page_mapping_lock_write(); 5.10/6.1:
   * i_mmap_trylock_write() for file pages; hinode: hinode_rwsem write). null = could not lock
   * (migration: -EAGAIN; memory failure: unmap fails). Default (5.6): nothing, a normal rmap walk.
   */
  rmapUnmapBegin?(c: Ctx, page: HugePage, why: RmapWhy): KGen<RmapUnmapLock | null>;
  /** ...release it: after try_to_unmap(), or after remove_migration_ptes() if heldAcrossRemove. */
  rmapUnmapEnd?(c: Ctx, page: HugePage, why: RmapWhy, lock: RmapUnmapLock): KGen;
  /** try_to_unmap_one() / try_to_migrate_one(), PTL held, before huge_pmd_unshare() of a file page: may it unshare? false aborts the rmap walk (6.1: hugetlb_vma_trylock_write). */
  rmapUnshareLock?(c: Ctx, vma: Vma, why: RmapWhy): KGen<boolean>;
  /** ...right after huge_pmd_unshare() (6.1: hugetlb_vma_unlock_write). */
  rmapUnshareUnlock?(c: Ctx, vma: Vma, why: RmapWhy): KGen;
  /** migration_entry_wait_huge(), PTL held, after the recheck: drop what the fault holds across the wait (6.3: hugetlb_vma_unlock_read). */
  migrationWaitUnlock?(c: Ctx, vma: Vma): KGen;
}

/** The baseline: Linux 5.6, before i_mmap_rwsem was held across faults. No extra locks. */
export const noneStrategy: SyncStrategy = {
  name: 'none',
  description: 'Linux 5.6 (before 5.7): i_mmap_rwsem only inside huge_pmd_share and the unmap paths; faults hold no lock against unsharing or truncation.',
  seed: 'baseline (seeds 000, 002)',
  kernel: 'v5.6',
  package: '@hugesync/core',
  lockClasses: [],
  features: BASELINE_FEATURES,
};

/** Build a strategy on top of another one (Peter Xu's RCU walkers sit on the VMA lock). */
export function composeStrategy(base: SyncStrategy, over: Partial<SyncStrategy> & Pick<SyncStrategy, 'name' | 'description' | 'seed' | 'kernel' | 'package'>): SyncStrategy {
  return {
    ...base,
    ...over,
    features: { ...base.features, ...(over.features ?? {}) },
    lockClasses: [...base.lockClasses, ...(over.lockClasses ?? [])],
  };
}

/** Every hook of SyncStrategy, for shape checks of strategies loaded from outside (registry, testkit). */
export const STRATEGY_HOOKS = [
  'initInode', 'initVma', 'vmaMayShare',
  'faultEnter', 'faultLocked', 'faultUnlocking', 'faultExit',
  'unshareBegin', 'unshareBeforeIMmapUnlock', 'unshareEnd',
  'truncateBegin', 'truncateEnd', 'vmdeleteLockVma', 'vmdeleteUnlockVma', 'removeMappedPage',
  'forkCopyBegin', 'forkCopyEnd', 'walkBegin', 'walkEnd', 'freeTable',
  'rmapUnmapBegin', 'rmapUnmapEnd', 'rmapUnshareLock', 'rmapUnshareUnlock', 'migrationWaitUnlock',
] as const satisfies ReadonlyArray<keyof SyncStrategy>;

/** Allowed values of the features that are not booleans. */
export const STRATEGY_FEATURE_ENUMS: Readonly<Record<string, readonly string[]>> = {
  sizeCheck: ['before-lookup', 'when-absent'],
  followPageHugetlb: ['follow_huge_pmd', 'hugetlb_follow_page_mask'],
};
