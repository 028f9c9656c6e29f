/**
 * The hugetlb VMA lock: Mike Kravetz's per-VMA rw semaphore for PMD-sharing synchronization
 * (seed 002, RFC v3 May 2022; merged as "[PATCH v2 0/9] hugetlb: Use new vma lock for huge pmd
 * sharing synchronization", Sep 2022), modelled as it is in Linux v6.1.15 (lock map column V).
 *
 * struct hugetlb_vma_lock {refs, rw_sema, vma} hangs off vma->vm_private_data (here vma.ext).
 * Faults hold it for read from right after the fault mutex until the PTE is set; every path that
 * may call huge_pmd_unshare() holds it for write before i_mmap_rwsem. Code that already holds
 * i_mmap_rwsem may only trylock it (lock order fault mutex -> vma_lock -> i_mmap_rwsem).
 */
import {
  BASELINE_FEATURES,
  HPAGE_ORDER,
  PAGE_SHIFT,
  RwSem,
  hugePteOffset,
  lockIt,
  ptepGet,
  rd,
  trylockIt,
  unlockIt,
  unmapHugepageRange,
  type Ctx,
  type HoldMode,
  type HugePage,
  type Inode,
  type KGen,
  type Kernel,
  type Mutex,
  type RmapUnmapLock,
  type RmapWhy,
  type StrategyFeatures,
  type SyncStrategy,
  type Thread,
  type UnshareWhy,
  type Vma,
} from '@hugesync/core';

/** Lock class (lockdep key) of every hugetlb_vma_lock rw_sema. */
export const VMA_LOCK_CLASS = 'hugetlb_vma_lock';
/** Where the lock lives in the model's vma (vma->vm_private_data in the kernel). */
export const VMA_LOCK_EXT = 'hugetlb_vma_lock';

/** include/linux/hugetlb.h struct hugetlb_vma_lock @ v6.1.15 */
export interface HugetlbVmaLock {
  /** kref refs: 1 for the vma, +1 while hugetlb_unmap_file_folio() waits on it. */
  refs: number;
  readonly rwSema: RwSem;
  /** The vma it is attached to; NULL once detached (final unmap, __hugetlb_vma_unlock_write_put). */
  vma: Vma | null;
  /** kfree()d by hugetlb_vma_lock_release(); any later use is a use-after-free. */
  freed: boolean;
}

/** vma->vm_private_data as a vma lock (shared vmas only), or null. */
export function vmaLockOf(vma: Vma): HugetlbVmaLock | null {
  return (vma.ext[VMA_LOCK_EXT] as HugetlbVmaLock | undefined) ?? null;
}

/** mm/hugetlb.c __vma_shareable_lock() @ v6.1.15: VM_MAYSHARE and a vma lock attached. */
function shareableLock(vma: Vma): HugetlbVmaLock | null {
  return vma.flags.mayshare ? vmaLockOf(vma) : null;
}

// ---- which task holds which vma lock, so that unlocks match what was taken ----

interface Held {
  vma: Vma;
  lock: HugetlbVmaLock;
  mode: HoldMode;
}
const heldByThread = new WeakMap<Thread, Held[]>();

function records(t: Thread): Held[] {
  let r = heldByThread.get(t);
  if (!r) heldByThread.set(t, (r = []));
  return r;
}

/** The vma locks t holds now (for tests and checkers). */
export function vmaLocksHeld(t: Thread): ReadonlyArray<Readonly<Held>> {
  return heldByThread.get(t) ?? [];
}

function takeRecord(t: Thread, vma: Vma, mode: HoldMode): Held | null {
  const r = records(t);
  for (let i = r.length - 1; i >= 0; i--) {
    const h = r[i]!;
    if (h.vma === vma && h.mode === mode) {
      r.splice(i, 1);
      return h;
    }
  }
  return null;
}

function checkLive(c: Ctx, l: HugetlbVmaLock, fn: string): void {
  if (l.freed) {
    c.k.report({ kind: 'strategy-error', message: `${c.t.name} uses a hugetlb_vma_lock in ${fn} after hugetlb_vma_lock_release() freed it`, thread: c.t.name, fn });
  }
}

/** mm/hugetlb.c hugetlb_vma_lock_alloc() @ v6.1.15: every VM_MAYSHARE vma gets a lock (refs 1). */
export function hugetlbVmaLockAlloc(k: Kernel, vma: Vma): void {
  if (!vma.flags.mayshare) return;
  const l: HugetlbVmaLock = { refs: 1, rwSema: new RwSem(`rwsem:vma_lock#${vma.id}`, VMA_LOCK_CLASS), vma, freed: false };
  vma.ext[VMA_LOCK_EXT] = l;
  void k;
}

/** mm/hugetlb.c hugetlb_vma_lock_read() @ v6.1.15: down_read if the vma has a lock, else nothing. */
export function* hugetlbVmaLockRead(c: Ctx, vma: Vma, fn = 'hugetlb_vma_lock_read'): KGen {
  const l = shareableLock(vma);
  if (!l) return;
  checkLive(c, l, fn);
  yield* lockIt(c, l.rwSema, 'read', fn);
  records(c.t).push({ vma, lock: l, mode: 'read' });
}

/** mm/hugetlb.c hugetlb_vma_lock_write() @ v6.1.15: down_write if the vma has a lock, else nothing. */
export function* hugetlbVmaLockWrite(c: Ctx, vma: Vma, fn = 'hugetlb_vma_lock_write'): KGen {
  const l = shareableLock(vma);
  if (!l) return;
  checkLive(c, l, fn);
  yield* lockIt(c, l.rwSema, 'write', fn);
  records(c.t).push({ vma, lock: l, mode: 'write' });
}

/** mm/hugetlb.c hugetlb_vma_trylock_write() @ v6.1.15: down_write_trylock; 1 (success) if the vma has no lock. */
export function* hugetlbVmaTrylockWrite(c: Ctx, vma: Vma, fn = 'hugetlb_vma_trylock_write'): KGen<boolean> {
  const l = shareableLock(vma);
  if (!l) return true;
  checkLive(c, l, fn);
  const ok = yield* trylockIt(c, l.rwSema, 'write', fn);
  if (ok) records(c.t).push({ vma, lock: l, mode: 'write' });
  return ok;
}

/**
 * mm/hugetlb.c hugetlb_vma_unlock_read() / hugetlb_vma_unlock_write() @ v6.1.15: up_read/up_write
 * of the lock this task took on vma. If the task recorded nothing (the lock call was a no-op) and
 * the vma has no lock, nothing happens; if it has one, the unbalanced up is done so that the
 * kernel's lock accounting reports it.
 */
export function* hugetlbVmaUnlock(c: Ctx, vma: Vma, mode: HoldMode, fn = mode === 'read' ? 'hugetlb_vma_unlock_read' : 'hugetlb_vma_unlock_write'): KGen {
  const h = takeRecord(c.t, vma, mode);
  const l = h?.lock ?? shareableLock(vma);
  if (!l) return;
  checkLive(c, l, fn);
  yield* unlockIt(c, l.rwSema, mode, fn);
}

/** kref_put(&vma_lock->refs, hugetlb_vma_lock_release) @ v6.1.15: the last reference frees it. */
function* vmaLockPut(c: Ctx, l: HugetlbVmaLock, fn: string): KGen {
  yield {
    fn,
    obj: `vma_lock:${l.rwSema.id}`,
    access: 'write',
    label: 'kref_put(&vma_lock->refs, hugetlb_vma_lock_release)',
    cost: 'atomic',
    run: () => {
      checkLive(c, l, fn);
      l.refs--;
      if (l.refs === 0) l.freed = true;
    },
  };
}

/** kref_get(&vma_lock->refs) @ v6.1.15 */
function* vmaLockGet(c: Ctx, l: HugetlbVmaLock, fn: string): KGen {
  yield {
    fn,
    obj: `vma_lock:${l.rwSema.id}`,
    access: 'write',
    label: 'kref_get(&vma_lock->refs)',
    cost: 'atomic',
    run: () => {
      checkLive(c, l, fn);
      l.refs++;
    },
  };
}

/**
 * mm/hugetlb.c __hugetlb_vma_unlock_write_free() -> __hugetlb_vma_unlock_write_put() @ v6.1.15:
 * detach the lock from the vma (vma_lock->vma = NULL, vm_private_data = NULL) while holding it
 * for write, up_write, drop the vma's reference. From here on want_pmd_share() and
 * page_table_shareable() refuse the vma.
 */
export function* hugetlbVmaUnlockWriteFree(c: Ctx, vma: Vma): KGen {
  const fn = '__hugetlb_vma_unlock_write_free';
  const h = takeRecord(c.t, vma, 'write');
  const l = h?.lock ?? shareableLock(vma);
  if (!l) return;
  yield {
    fn,
    obj: vma.objId,
    access: 'write',
    label: 'vma_lock->vma = NULL; vma->vm_private_data = NULL',
    cost: 'step',
    run: () => {
      checkLive(c, l, fn);
      l.vma = null;
      if (vma.ext[VMA_LOCK_EXT] === l) delete vma.ext[VMA_LOCK_EXT];
    },
  };
  yield* unlockIt(c, l.rwSema, 'write', fn);
  yield* vmaLockPut(c, l, fn);
}

// ---- hugetlb_unmap_file_folio() ----

/** fs/hugetlbfs/inode.c vma_offset_start()/vma_offset_end() @ v6.1.15: the part of vma covering file pages [start, end) (4 KiB units). */
function vmaRange(vma: Vma, start: number, end: number): [number, number] {
  const vStart = vma.start + (vma.pgoff < start ? (start - vma.pgoff) * 2 ** PAGE_SHIFT : 0);
  const vEnd = Math.min(vma.end, (end - vma.pgoff) * 2 ** PAGE_SHIFT + vma.start);
  return [vStart, vEnd];
}

function overlaps(vma: Vma, start: number, end: number): boolean {
  const vEndPg = vma.pgoff + (vma.end - vma.start) / 2 ** PAGE_SHIFT;
  return vma.pgoff < end && vEndPg > start;
}

/**
 * fs/hugetlbfs/inode.c hugetlb_vma_maps_page() @ v6.1.15: walk vma's page table at addr (caller
 * holds i_mmap_rwsem, so the table cannot go away) and compare the entry with page.
 */
function* hugetlbVmaMapsPage(c: Ctx, vma: Vma, addr: number, page: HugePage): KGen<boolean> {
  const fn = 'hugetlb_vma_maps_page';
  const ptep = yield* hugePteOffset(c, vma.mm, addr, fn);
  if (!ptep) return false;
  const pte = yield* ptepGet(c, ptep, fn);
  return pte.page === page.id;
}

/**
 * fs/hugetlbfs/inode.c hugetlb_unmap_file_folio() @ v6.1.15, entered with the fault mutex held
 * (remove_inode_single_folio): under i_mmap_rwsem write, unmap the page from every vma mapping
 * it whose vma lock can be trylocked. On a failed trylock take a reference on that vma lock and
 * stop; drop i_mmap_rwsem, then take the locks in order (down_write(vma lock) -> i_mmap_rwsem
 * write). If the lock was detached meanwhile (the vma went away) just drop it; otherwise unmap the
 * page if still mapped. Either way put the reference, unlock, and retry the scan.
 */
export function* hugetlbUnmapFileFolio(c: Ctx, inode: Inode, page: HugePage, index: number, _mutex: Mutex): KGen {
  const fn = 'hugetlb_unmap_file_folio';
  const start = index * 2 ** HPAGE_ORDER;
  const end = (index + 1) * 2 ** HPAGE_ORDER;
  yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
  for (;;) {
    let stopped: HugetlbVmaLock | null = null;
    yield* rd(c, fn, inode.iMmapObj, 'vma_interval_tree_foreach(i_mmap)');
    for (const vma of inode.iMmap.slice()) {
      if (!overlaps(vma, start, end)) continue;
      const [vStart, vEnd] = vmaRange(vma, start, end);
      if (!(yield* hugetlbVmaMapsPage(c, vma, vStart, page))) continue;
      if (!(yield* hugetlbVmaTrylockWrite(c, vma, fn))) {
        stopped = vmaLockOf(vma)!;
        yield* vmaLockGet(c, stopped, fn);
        break;
      }
      yield* unmapHugepageRange(c, vma, vStart, vEnd, null);
      yield* hugetlbVmaUnlock(c, vma, 'write', fn);
    }
    if (!stopped) break;
    const l: HugetlbVmaLock = stopped;
    yield* unlockIt(c, inode.iMmapRwsem, 'write', fn);
    // The lock may be detached from its vma by now: open-coded down_write on the structure we hold a reference on.
    checkLive(c, l, fn);
    yield* lockIt(c, l.rwSema, 'write', fn);
    yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
    let vma: Vma | null = null;
    yield { fn, obj: `vma_lock:${l.rwSema.id}`, access: 'read', label: 'vma = vma_lock->vma', run: () => (vma = l.vma) };
    const v = vma as Vma | null;
    if (!v) {
      yield* unlockIt(c, l.rwSema, 'write', fn);
      yield* vmaLockPut(c, l, fn);
      continue;
    }
    const [vStart, vEnd] = vmaRange(v, start, end);
    if (yield* hugetlbVmaMapsPage(c, v, vStart, page)) yield* unmapHugepageRange(c, v, vStart, vEnd, null);
    yield* vmaLockPut(c, l, fn);
    // hugetlb_vma_unlock_write(vma): the lock is attached to v, and we hold it.
    yield* unlockIt(c, l.rwSema, 'write', fn);
  }
  yield* unlockIt(c, inode.iMmapRwsem, 'write', fn);
}

// ---- migration and memory failure ----

/**
 * mm/migrate.c unmap_and_move_huge_page() and mm/memory-failure.c hwpoison_user_mappings() @ v6.1.15
 * (lock map A.10/A.11 V): for a file page, hugetlb_page_mapping_lock_write() = i_mmap_trylock_write()
 * with the page lock held (failure: -EAGAIN / "could not lock mapping"), try_to_migrate() or
 * try_to_unmap() with TTU_RMAP_LOCKED, i_mmap_unlock_write(); anon pages: a normal rmap walk.
 */
function* rmapUnmapBegin(c: Ctx, page: HugePage, _why: RmapWhy): KGen<RmapUnmapLock | null> {
  if (page.anon) return { rmapLocked: false, heldAcrossRemove: false };
  const mapping = page.mapping;
  if (!mapping || !(yield* trylockIt(c, mapping.iMmapRwsem, 'write', 'hugetlb_page_mapping_lock_write'))) return null;
  return { rmapLocked: true, heldAcrossRemove: false, state: mapping };
}

/** ...i_mmap_unlock_write(mapping) right after the unmap (v6.1.15). */
function* rmapUnmapEnd(c: Ctx, _page: HugePage, why: RmapWhy, lock: RmapUnmapLock): KGen {
  const mapping = lock.state as Inode | undefined;
  if (mapping) yield* unlockIt(c, mapping.iMmapRwsem, 'write', why === 'migrate' ? 'unmap_and_move_huge_page' : 'hwpoison_user_mappings');
}

// ---- the strategy ----

/** Linux v6.1.15 features (lock map column V). */
export const VMA_LOCK_FEATURES: StrategyFeatures = {
  ...BASELINE_FEATURES,
  // hugetlb_fault() still starts with the lockless huge_pte_offset() migration/hwpoison check.
  faultLocklessWalk: true,
  faultUsesLocklessPte: false,
  // fault mutex -> hugetlb_vma_lock_read -> huge_pte_alloc.
  pteAllocUnderFaultMutex: true,
  pmdShareTakesIMmap: true,
  sizeCheck: 'when-absent',
  // [ML-vl-v2-9] removed the i_size recheck under the PTL.
  sizeRecheckUnderPtl: false,
  backoutDeletesBeyondEof: false,
  truncateSizeUnderIMmap: false,
  removeMutexOnTruncate: true,
  removeChecksMapping: false,
  // vma_needs_copy(): shared hugetlb page tables are not copied at fork.
  forkCopiesShared: false,
  // a4a118f2eead is in 6.1.
  flushOnUnshare: true,
  // The final unmap frees the vma lock instead.
  clearMayshareOnFinalUnmap: false,
  truncateMappedPageIsBug: false,
  // MADV_DONTNEED for hugetlb arrived in 5.18.
  madviseDontneed: true,
  // hugetlb_vm_op_split() -> hugetlb_unshare_pmds(): b30c14cd6102 is in 6.1.y (6.1.15).
  splitUnsharesPmds: true,
  // move_hugetlb_page_tables() (550a7d60bd5e, 5.16).
  mremapMovesHugetlb: true,
};

const isFinal = (why: UnshareWhy) => why === 'munmap' || why === 'exit';

/** The kernel function that takes the vma lock for write on each unsharing path (v6.1.15). */
const UNSHARE_FN: Partial<Record<UnshareWhy, string>> = {
  mprotect: 'hugetlb_change_protection',
  split: 'hugetlb_unshare_pmds',
  mremap: 'move_hugetlb_page_tables',
};
const unshareFn = (why: UnshareWhy): string => UNSHARE_FN[why] ?? '__unmap_hugepage_range_final';

export const vmaLockStrategy: SyncStrategy = {
  name: 'vma-lock',
  description:
    'Linux 6.1 (v6.1.15): a per-VMA rw semaphore (struct hugetlb_vma_lock) held for read by faults and for write by every path that may unshare a PMD; truncation trylocks it under i_mmap_rwsem and backs out to take it in order.',
  seed: '002 (Mike Kravetz, "hugetlb: Change huge pmd sharing synchronization again", RFC v3; merged as the v2 vma-lock series)',
  kernel: 'v6.1.15',
  package: '@hugesync/strategy-vma-lock',
  lockClasses: [
    {
      name: VMA_LOCK_CLASS,
      kind: 'rwsem',
      protects: 'per VM_MAYSHARE vma (vm_private_data): read across a fault, write around huge_pmd_unshare(); its presence makes the vma eligible for PMD sharing',
    },
  ],
  features: VMA_LOCK_FEATURES,
  options: { form: '6.1.15' },

  /** mm/hugetlb.c hugetlb_reserve_pages() / hugetlb_vm_op_open() -> hugetlb_vma_lock_alloc() @ v6.1.15 */
  initVma(k: Kernel, vma: Vma): void {
    hugetlbVmaLockAlloc(k, vma);
  },

  /** mm/hugetlb.c want_pmd_share() and page_table_shareable() @ v6.1.15: the vma lock must exist (vm_private_data). */
  vmaMayShare(vma: Vma): boolean {
    return shareableLock(vma) !== null;
  },

  /** mm/hugetlb.c hugetlb_fault() @ v6.1.15: hugetlb_vma_lock_read() right after the fault mutex. */
  *faultLocked(c: Ctx, vma: Vma): KGen {
    yield* hugetlbVmaLockRead(c, vma, 'hugetlb_fault');
  },

  /** mm/hugetlb.c hugetlb_fault() / hugetlb_no_page() @ v6.1.15: hugetlb_vma_unlock_read() before the fault mutex is released. */
  *faultUnlocking(c: Ctx, vma: Vma): KGen {
    yield* hugetlbVmaUnlock(c, vma, 'read', 'hugetlb_fault');
  },

  /**
   * mm/hugetlb.c __unmap_hugepage_range_final() (munmap, exit, MADV_DONTNEED),
   * hugetlb_change_protection() (mprotect), hugetlb_unshare_pmds() (vma split) and
   * move_hugetlb_page_tables() (mremap) @ v6.1.15: hugetlb_vma_lock_write() before i_mmap_rwsem.
   */
  *unshareBegin(c: Ctx, vma: Vma, why: UnshareWhy): KGen {
    yield* hugetlbVmaLockWrite(c, vma, unshareFn(why));
  },

  /**
   * mm/hugetlb.c __unmap_hugepage_range_final() @ v6.1.15, ZAP_FLAG_UNMAP (munmap, exit):
   * __hugetlb_vma_unlock_write_free() before i_mmap_unlock_write(), so the dying vma can no longer
   * share or be shared with.
   */
  *unshareBeforeIMmapUnlock(c: Ctx, vma: Vma, why: UnshareWhy): KGen {
    if (isFinal(why)) yield* hugetlbVmaUnlockWriteFree(c, vma);
  },

  /** mm/hugetlb.c __unmap_hugepage_range_final() without ZAP_FLAG_UNMAP / hugetlb_change_protection() @ v6.1.15: hugetlb_vma_unlock_write() after i_mmap_unlock_write(). */
  *unshareEnd(c: Ctx, vma: Vma, why: UnshareWhy): KGen {
    if (!isFinal(why)) yield* hugetlbVmaUnlock(c, vma, 'write', unshareFn(why));
  },

  /** fs/hugetlbfs/inode.c hugetlb_vmdelete_list() @ v6.1.15: hugetlb_vma_trylock_write(); on failure the vma is skipped. */
  *vmdeleteLockVma(c: Ctx, vma: Vma): KGen<boolean> {
    return yield* hugetlbVmaTrylockWrite(c, vma, 'hugetlb_vmdelete_list');
  },

  /** fs/hugetlbfs/inode.c hugetlb_vmdelete_list() @ v6.1.15: hugetlb_vma_unlock_write() after unmap_hugepage_range(). */
  *vmdeleteUnlockVma(c: Ctx, vma: Vma): KGen {
    yield* hugetlbVmaUnlock(c, vma, 'write', 'hugetlb_vmdelete_list');
  },

  /** fs/hugetlbfs/inode.c remove_inode_single_folio() -> hugetlb_unmap_file_folio() @ v6.1.15 (fault mutex held). */
  removeMappedPage(c: Ctx, inode: Inode, page: HugePage, idx: number, mutex: Mutex): KGen {
    return hugetlbUnmapFileFolio(c, inode, page, idx, mutex);
  },

  rmapUnmapBegin,
  rmapUnmapEnd,

  /**
   * mm/rmap.c try_to_migrate_one() / try_to_unmap_one() @ v6.1.15, hugetlb file page, PTL held:
   * "Lock order dictates acquiring vma_lock BEFORE i_mmap_rwsem. We can only try lock here and
   * fail if unsuccessful": hugetlb_vma_trylock_write(); failure ends the rmap walk.
   */
  *rmapUnshareLock(c: Ctx, vma: Vma, why: RmapWhy): KGen<boolean> {
    return yield* hugetlbVmaTrylockWrite(c, vma, why === 'migrate' ? 'try_to_migrate_one' : 'try_to_unmap_one');
  },

  /** ...hugetlb_vma_unlock_write() right after huge_pmd_unshare() (v6.1.15). */
  *rmapUnshareUnlock(c: Ctx, vma: Vma, why: RmapWhy): KGen {
    yield* hugetlbVmaUnlock(c, vma, 'write', why === 'migrate' ? 'try_to_migrate_one' : 'try_to_unmap_one');
  },

  /** mm/hugetlb.c copy_hugetlb_page_range() @ v6.1.15, non-COW mapping: hugetlb_vma_lock_read(src_vma) around the loop. */
  *forkCopyBegin(c: Ctx, src: Vma): KGen {
    yield* hugetlbVmaLockRead(c, src, 'copy_hugetlb_page_range');
  },

  /** mm/hugetlb.c copy_hugetlb_page_range() @ v6.1.15: hugetlb_vma_unlock_read(src_vma). */
  *forkCopyEnd(c: Ctx, src: Vma): KGen {
    yield* hugetlbVmaUnlock(c, src, 'read', 'copy_hugetlb_page_range');
  },
};
