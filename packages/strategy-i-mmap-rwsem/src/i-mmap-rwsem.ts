/**
 * i_mmap_rwsem held across hugetlb faults: Mike Kravetz's c0d0381ade79 "hugetlbfs: use
 * i_mmap_rwsem for more pmd sharing synchronization" and 87bf91d39bb5 "hugetlbfs: Use
 * i_mmap_rwsem to address page fault/truncate race" (seeds 000 and 003; merged for 5.7, reverted
 * as patches 1-2 of the 6.1 vma-lock series), modelled as in Linux v5.10.7 (lock map column I).
 *
 * Faults take mapping->i_mmap_rwsem for read before huge_pte_alloc() and keep it until they are
 * done with the pte pointer, so huge_pmd_unshare() (always under i_mmap_rwsem for write) cannot
 * run under them, and truncation, which now writes i_size under i_mmap_rwsem for write, cannot
 * move i_size while a fault is between its single i_size check and its pte update.
 * The hugetlb lock order becomes i_mmap_rwsem -> hugetlb_fault_mutex -> page lock (mm/rmap.c
 * header, 5.10.7), the reverse of the generic page lock -> i_mmap_rwsem.
 */
import {
  BASELINE_FEATURES,
  HPAGE_ORDER,
  hugetlbVmdeleteList,
  lockIt,
  trylockIt,
  unlockIt,
  wr,
  type Ctx,
  type RmapUnmapLock,
  type RmapWhy,
  type HugePage,
  type Inode,
  type KGen,
  type Mutex,
  type StrategyFeatures,
  type SyncStrategy,
  type Vma,
} from '@hugesync/core';

/** The two kernel forms of the design. */
export type IMmapRwsemForm = '5.7' | '5.10';

export interface IMmapRwsemOptions {
  /**
   * '5.10' (default): v5.10.7, after 336bf30eb765 "hugetlbfs: fix anon huge page migration race"
   * (Nov 2020): migration and memory-failure only i_mmap_trylock_write() file pages, with the
   * page lock held, and give up (-EAGAIN / "could not lock mapping") on contention.
   * '5.7': 5.7..5.9, where hugetlb_page_mapping_lock_write() also handled anon pages (finding a
   * file through the anon_vma), on contention dropped the page lock, raised the mapcount (Hugh
   * Dickins' objection in seed 003), slept in i_mmap_lock_write() and relocked the page, and
   * kept i_mmap_rwsem across try_to_unmap(TTU_RMAP_LOCKED) and remove_migration_ptes().
   * The forms differ only there (the strategy's rmapUnmapBegin/End hooks); on every other path
   * they behave the same.
   */
  form?: IMmapRwsemForm;
}

/** StrategyFeatures of lock map column I (v5.10.7). */
export const I_MMAP_RWSEM_FEATURES: StrategyFeatures = {
  ...BASELINE_FEATURES,
  // 5.10 hugetlb_fault(): the lockless huge_pte_offset() is only a migration/hwpoison peek ...
  faultLocklessWalk: true,
  // ... and the pte used for the fault always comes from huge_pte_alloc() under i_mmap_rwsem.
  faultUsesLocklessPte: false,
  pteAllocUnderFaultMutex: false,
  // huge_pmd_share() asserts i_mmap_rwsem is held by the caller and takes nothing itself.
  pmdShareTakesIMmap: false,
  // hugetlb_no_page(): "i_size is modified when holding i_mmap_rwsem": one check, before the lookup.
  sizeCheck: 'before-lookup',
  sizeRecheckUnderPtl: false,
  backoutDeletesBeyondEof: false,
  // hugetlb_vmtruncate(): i_mmap_lock_write() -> i_size_write().
  truncateSizeUnderIMmap: true,
  // remove_inode_hugepages(): the fault mutex only for hole punch in 5.10.
  removeMutexOnTruncate: false,
  removeChecksMapping: false,
  forkCopiesShared: true,
  // CVE-2021-4002: __unmap_hugepage_range() does not flush after huge_pmd_unshare() in 5.10.7.
  flushOnUnshare: false,
  clearMayshareOnFinalUnmap: true,
};

/** mm/hugetlb.c hugetlb_fault() @ v5.10.7: i_mmap_lock_read(mapping), always (shared or not), before huge_pte_alloc(). */
function* faultEnter(c: Ctx, vma: Vma, _addr: number): KGen {
  yield* lockIt(c, vma.file.iMmapRwsem, 'read', 'hugetlb_fault');
}

/** mm/hugetlb.c hugetlb_fault() @ v5.10.7 out_mutex: mutex_unlock(fault mutex) -> i_mmap_unlock_read(mapping). */
function* faultExit(c: Ctx, vma: Vma, _addr: number): KGen {
  yield* unlockIt(c, vma.file.iMmapRwsem, 'read', 'hugetlb_fault');
}

/**
 * fs/hugetlbfs/inode.c remove_inode_hugepages() @ v5.10.7, the "page is mapped" branch (hole
 * punch only; BUG_ON(truncate_op)): the fault mutex is dropped so that i_mmap_rwsem can be taken
 * first (order i_mmap_rwsem -> fault mutex), then retaken, and hugetlb_vmdelete_list() unmaps the
 * page again; returns with the mutex held. In a truncation the kernel would have hit the BUG_ON
 * (core reports page-beyond-eof) and does not hold the mutex: only the unmap is done then.
 */
function* removeMappedPage(c: Ctx, inode: Inode, _page: HugePage, idx: number, mutex: Mutex): KGen {
  const fn = 'remove_inode_hugepages';
  const held = mutex.isHeldBy(c.t);
  if (held) yield* unlockIt(c, mutex, 'write', fn);
  yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
  if (held) yield* lockIt(c, mutex, 'write', fn);
  yield* hugetlbVmdeleteList(c, inode, idx * 2 ** HPAGE_ORDER, (idx + 1) * 2 ** HPAGE_ORDER);
  yield* unlockIt(c, inode.iMmapRwsem, 'write', fn);
}

// ---- migration and memory failure: hugetlb_page_mapping_lock_write() ----

/** What hugetlb_page_mapping_lock_write() locked: the address_space whose i_mmap_rwsem is held for write. */
interface MappingLocked {
  mapping: Inode;
}

/**
 * mm/hugetlb.c _get_hugetlb_page_mapping() @ v5.7 (c0d0381ade79): page_mapping(), or for an
 * anonymous page the file of the first vma found in its anon_vma (page_lock_anon_vma_read).
 */
function* getHugetlbPageMapping(c: Ctx, page: HugePage): KGen<Inode | null> {
  const fn = '_get_hugetlb_page_mapping';
  if (page.mapping) return page.mapping;
  const av = page.anonVma;
  if (!page.anon || !av) return null;
  yield* lockIt(c, av.rwsem, 'read', fn);
  let mapping: Inode | null = null;
  yield { fn, obj: av.objId, access: 'read', label: 'anon_vma_interval_tree_foreach(): first vma->vm_file->f_mapping', run: () => (mapping = av.vmas.find((v) => v.addrOfIndex(page.index) >= 0)?.file ?? null) };
  yield* unlockIt(c, av.rwsem, 'read', fn);
  return mapping;
}

/**
 * mm/hugetlb.c hugetlb_page_mapping_lock_write() @ v5.7 (c0d0381ade79), page locked on entry:
 * i_mmap_trylock_write(); on contention the hack Hugh Dickins questioned in seed 003: raise the
 * mapcount, unlock the page, i_mmap_lock_write(), lock the page again, drop the mapcount; give up
 * if the page is no longer mapped, retry if its mapping changed.
 */
function* pageMappingLockWrite57(c: Ctx, page: HugePage): KGen<Inode | null> {
  const fn = 'hugetlb_page_mapping_lock_write';
  let mapping = yield* getHugetlbPageMapping(c, page);
  for (;;) {
    if (!mapping) return null;
    if (yield* trylockIt(c, mapping.iMmapRwsem, 'write', fn)) return mapping;
    yield* wr(c, fn, page.objId, `atomic_inc(&page ${page.id}->_mapcount) [hack]`, 'atomic');
    page.mapcount++;
    yield* unlockIt(c, page.lock, 'write', fn);
    yield* lockIt(c, mapping.iMmapRwsem, 'write', fn);
    yield* lockIt(c, page.lock, 'write', fn);
    let mapped = false;
    yield { fn, obj: page.objId, access: 'write', label: `atomic_add_negative(-1, &page ${page.id}->_mapcount)`, cost: 'atomic', run: () => (mapped = --page.mapcount > 0) };
    if (!mapped) {
      yield* unlockIt(c, mapping.iMmapRwsem, 'write', fn);
      return null;
    }
    const again: Inode | null = yield* getHugetlbPageMapping(c, page);
    if (again === mapping) return mapping;
    yield* unlockIt(c, mapping.iMmapRwsem, 'write', fn);
    mapping = again;
  }
}

/**
 * mm/hugetlb.c hugetlb_page_mapping_lock_write() @ v5.10.7 (after 336bf30eb765): file pages only
 * (the callers skip PageAnon), "Due to locking order, we can only trylock_write".
 */
function* pageMappingLockWrite510(c: Ctx, page: HugePage): KGen<Inode | null> {
  const mapping = page.mapping;
  if (!mapping) return null;
  return (yield* trylockIt(c, mapping.iMmapRwsem, 'write', 'hugetlb_page_mapping_lock_write')) ? mapping : null;
}

/**
 * mm/migrate.c unmap_and_move_huge_page() / mm/memory-failure.c hwpoison_user_mappings(): 5.7..5.9
 * lock the mapping of every hugetlb page (anon ones through the anon_vma) and, in migration, keep
 * it across remove_migration_ptes(); 5.10.7 only trylocks file pages and releases it right after
 * try_to_unmap(); anon pages take the normal rmap walk (anon_vma lock). try_to_unmap() runs with
 * TTU_RMAP_LOCKED whenever the mapping is locked.
 */
function rmapUnmapBeginFor(form: IMmapRwsemForm) {
  return function* rmapUnmapBegin(c: Ctx, page: HugePage, why: RmapWhy): KGen<RmapUnmapLock | null> {
    if (form === '5.10' && page.anon) return { rmapLocked: false, heldAcrossRemove: false };
    const mapping = form === '5.7' ? yield* pageMappingLockWrite57(c, page) : yield* pageMappingLockWrite510(c, page);
    if (!mapping) return null;
    const state: MappingLocked = { mapping };
    return { rmapLocked: true, heldAcrossRemove: form === '5.7' && why === 'migrate', state };
  };
}

/** i_mmap_unlock_write(mapping) after try_to_unmap() (5.10.7, and 5.7 memory failure) or after remove_migration_ptes() (5.7 migration). */
function* rmapUnmapEnd(c: Ctx, _page: HugePage, why: RmapWhy, lock: RmapUnmapLock): KGen {
  const st = lock.state as MappingLocked | undefined;
  if (st) yield* unlockIt(c, st.mapping.iMmapRwsem, 'write', why === 'migrate' ? 'unmap_and_move_huge_page' : 'hwpoison_user_mappings');
}

/**
 * mm/hugetlb.c copy_hugetlb_page_range() @ v5.10.7, non-COW (shared) mapping: i_mmap_lock_read()
 * around the whole copy loop, because huge_pte_alloc() on the child may share a PMD table and
 * huge_pmd_share() relies on the caller holding i_mmap_rwsem.
 */
function* forkCopyBegin(c: Ctx, src: Vma): KGen {
  yield* lockIt(c, src.file.iMmapRwsem, 'read', 'copy_hugetlb_page_range');
}

/** mm/hugetlb.c copy_hugetlb_page_range() @ v5.10.7: i_mmap_unlock_read() after the loop (non-COW). */
function* forkCopyEnd(c: Ctx, src: Vma): KGen {
  yield* unlockIt(c, src.file.iMmapRwsem, 'read', 'copy_hugetlb_page_range');
}

const DESCRIPTIONS: Record<IMmapRwsemForm, string> = {
  '5.10':
    'i_mmap_rwsem held for read across hugetlb faults (c0d0381ade79 + 87bf91d39bb5), as in v5.10.7: faults take it before huge_pte_alloc(), truncation writes i_size under it; migration/memory-failure only trylock it (336bf30eb765). CVE-2021-4002 (no TLB flush at unshare) present.',
  '5.7':
    'i_mmap_rwsem held for read across hugetlb faults (c0d0381ade79 + 87bf91d39bb5), as first merged in 5.7 (5.7..5.9): as v5.10.7 except in migration/memory-failure, where hugetlb_page_mapping_lock_write() (before 336bf30eb765) also locks the file of anon pages, may drop the page lock to sleep on i_mmap_rwsem, and migration keeps it across remove_migration_ptes().',
};

/** Build the i_mmap_rwsem strategy in one of its kernel forms ('5.10' is the default, named 'i-mmap-rwsem'). */
export function createIMmapRwsemStrategy(opts: IMmapRwsemOptions = {}): SyncStrategy {
  const form = opts.form ?? '5.10';
  if (form !== '5.7' && form !== '5.10') throw new Error(`i-mmap-rwsem: unknown form '${String(form)}' (expected '5.7' or '5.10')`);
  return {
    name: form === '5.10' ? 'i-mmap-rwsem' : 'i-mmap-rwsem-5.7',
    description: DESCRIPTIONS[form],
    seed: 'seeds 000 (RFC v3 0/2, Feb 2019) and 003 (c0d0381ade79 discussion, Oct 2020); merged as c0d0381ade79 + 87bf91d39bb5',
    kernel: form === '5.10' ? 'v5.10.7' : 'v5.7',
    package: '@hugesync/strategy-i-mmap-rwsem',
    // i_mmap_rwsem is the kernel's own lock (class hugetlbfs_i_mmap_rwsem_key): the design adds no class.
    lockClasses: [],
    features: I_MMAP_RWSEM_FEATURES,
    options: { form },
    faultEnter,
    faultExit,
    removeMappedPage,
    forkCopyBegin,
    forkCopyEnd,
    rmapUnmapBegin: rmapUnmapBeginFor(form),
    rmapUnmapEnd,
  };
}

/** The default form: i_mmap_rwsem synchronization as in Linux v5.10.7. */
export const iMmapRwsemStrategy: SyncStrategy = createIMmapRwsemStrategy({ form: '5.10' });
