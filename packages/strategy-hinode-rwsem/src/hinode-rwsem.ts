/**
 * The hugetlbfs hinode_rwsem: Mike Kravetz's per-inode rw_semaphore for PMD-sharing and
 * fault/truncate synchronization (seed 004: "[RFC PATCH v2 0/4] hugetlbfs: introduce hinode_rwsem
 * for pmd sharing synchronization", 26 Oct 2020; reposted as "[PATCH 0/4]" on 2 Nov 2020 and
 * withdrawn on 5 Nov 2020 for an ABBA with migration). Lock map column H. The series was never
 * merged: it is modelled as posted, on top of the 5.10-rc code it was written against.
 *
 * Patch 1/4 reverts c0d0381ade79 and 87bf91d39bb5 (faults no longer hold i_mmap_rwsem; i_size is
 * checked twice again); 2/4 adds hinode_rwsem and the hinode_lock_read/write(inode, vma, addr)
 * helpers; 3/4 takes it for read around huge_pte_alloc() .. last pte use in faults and fork, and
 * for write wherever huge_pmd_unshare() may run (munmap/exit, mprotect, truncate, the re-unmap in
 * remove_inode_hugepages()); 4/4 adds real backout of pages a fault added beyond i_size.
 * Order (mm/rmap.c hunk of 3/4): hinode_rwsem -> i_mmap_rwsem -> hugetlb_fault_mutex -> page lock.
 */
import {
  BASELINE_FEATURES,
  HPAGE_ORDER,
  PUD_SIZE,
  RwSem,
  hugetlbVmdeleteList,
  lockIt,
  unlockIt,
  vmaShareable,
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

/** Lock class (lockdep key) of every hinode_rwsem. */
export const HINODE_CLASS = 'hinode_rwsem';
/** Where the lock lives in the model's inode (struct hugetlbfs_inode_info in the kernel). */
export const HINODE_EXT = 'hinode_rwsem';

/** The inode's hinode_rwsem, or null if initInode did not run for it. */
export function hinodeRwsemOf(inode: Inode): RwSem | null {
  return (inode.ext[HINODE_EXT] as RwSem | undefined) ?? null;
}

/** fs/hugetlbfs/inode.c hugetlbfs_get_inode() + RFC v2 2/4: init_rwsem(&info->hinode_rwsem) for every hugetlbfs inode. */
function initInode(_k: Kernel, inode: Inode): void {
  inode.ext[HINODE_EXT] = new RwSem(`rwsem:hinode#${inode.name}`, HINODE_CLASS);
}

// ---- per task: did each hinode_lock_*() call really take the lock? (the helpers return a bool) ----

interface Taken {
  inode: Inode;
  mode: HoldMode;
  locked: boolean;
}
const takenByThread = new WeakMap<Thread, Taken[]>();

function records(t: Thread): Taken[] {
  let r = takenByThread.get(t);
  if (!r) takenByThread.set(t, (r = []));
  return r;
}

/** The hinode_lock_*() calls t has not yet matched with an unlock (innermost last); for tests. */
export function hinodeCallsOpen(t: Thread): ReadonlyArray<Readonly<Taken>> {
  return takenByThread.get(t) ?? [];
}

/**
 * include/linux/hugetlb.h hinode_lock_read/write() decision, RFC v2 2/4: no vma -> always take
 * the lock; otherwise only when vma_shareable(vma, addr), with addr 0 meaning
 * round_up(vm_start, PUD_SIZE) (the first PUD range that could be shared).
 */
export function hinodeWouldLock(c: Ctx, vma: Vma | null, addr: number): boolean {
  if (!vma) return true;
  const a = addr === 0 ? Math.ceil(vma.start / PUD_SIZE) * PUD_SIZE : addr;
  return vmaShareable(c, vma, a);
}

/** include/linux/hugetlb.h hinode_lock_read() @ hinode RFC v2 2/4: down_read if the helper decides so; returns whether it did. */
export function* hinodeLockRead(c: Ctx, inode: Inode, vma: Vma | null, addr: number, fn: string): KGen<boolean> {
  return yield* hinodeLock(c, inode, vma, addr, 'read', fn);
}

/** include/linux/hugetlb.h hinode_lock_write() @ hinode RFC v2 2/4: down_write if the helper decides so; returns whether it did. */
export function* hinodeLockWrite(c: Ctx, inode: Inode, vma: Vma | null, addr: number, fn: string): KGen<boolean> {
  return yield* hinodeLock(c, inode, vma, addr, 'write', fn);
}

function* hinodeLock(c: Ctx, inode: Inode, vma: Vma | null, addr: number, mode: HoldMode, fn: string): KGen<boolean> {
  const sem = hinodeRwsemOf(inode);
  const locked = sem !== null && hinodeWouldLock(c, vma, addr);
  if (!sem) c.k.report({ kind: 'strategy-error', message: `${inode.name} has no hinode_rwsem (initInode did not run) in ${fn}`, thread: c.t.name, fn });
  if (locked) yield* lockIt(c, sem!, mode, fn);
  records(c.t).push({ inode, mode, locked });
  return locked;
}

/**
 * include/linux/hugetlb.h hinode_unlock_read/write() @ hinode RFC v2 2/4; callers only call it
 * `if (hinode_locked)`, the bool the matching lock call returned (modelled per task here).
 */
export function* hinodeUnlock(c: Ctx, inode: Inode, mode: HoldMode, fn: string): KGen {
  const r = records(c.t);
  let i = r.length - 1;
  while (i >= 0 && !(r[i]!.inode === inode && r[i]!.mode === mode)) i--;
  if (i < 0) {
    c.k.report({ kind: 'strategy-error', message: `${c.t.name} unlocks hinode_rwsem (${mode}) of ${inode.name} in ${fn} without a matching hinode_lock_${mode}()`, thread: c.t.name, fn });
    return;
  }
  const [rec] = r.splice(i, 1);
  if (rec!.locked) yield* unlockIt(c, hinodeRwsemOf(inode)!, mode, fn);
}

/** StrategyFeatures of lock map column H (the 2 Nov 2020 posting, 5.10-rc base). */
export const HINODE_FEATURES: StrategyFeatures = {
  ...BASELINE_FEATURES,
  faultLocklessWalk: true,
  // 3/4: huge_pte_alloc() is always called under hinode_rwsem, even if the lockless walk found a pte.
  faultUsesLocklessPte: false,
  pteAllocUnderFaultMutex: false,
  // 3/4: huge_pmd_share() asserts hinode_rwsem and takes i_mmap_rwsem for read itself (as 5.6).
  pmdShareTakesIMmap: true,
  // 1/4 reverts 87bf91d39bb5: i_size check #1 only when the page is absent, #2 under the PTL.
  sizeCheck: 'when-absent',
  sizeRecheckUnderPtl: true,
  // 4/4: a new page-cache page beyond i_size is deleted again and its reserve restored at free.
  backoutDeletesBeyondEof: true,
  truncateSizeUnderIMmap: false,
  // The revert brings back the fault mutex for truncation as well as hole punch.
  removeMutexOnTruncate: true,
  // 4/4: remove_inode_hugepages() checks page_mapping(page) == mapping after lock_page().
  removeChecksMapping: true,
  forkCopiesShared: true,
  // Written against 5.10-rc: CVE-2021-4002 (no flush at unshare in __unmap_hugepage_range) is there too.
  flushOnUnshare: false,
  clearMayshareOnFinalUnmap: true,
};

/** mm/hugetlb.c hugetlb_fault() @ hinode 3/4: hinode_lock_read(inode, vma, address) before huge_pte_alloc(). */
function* faultEnter(c: Ctx, vma: Vma, addr: number): KGen {
  yield* hinodeLockRead(c, vma.file, vma, addr, 'hugetlb_fault');
}

/** mm/hugetlb.c hugetlb_fault() @ hinode 3/4 out_mutex: mutex_unlock() -> if (hinode_locked) hinode_unlock_read(). */
function* faultExit(c: Ctx, vma: Vma, _addr: number): KGen {
  yield* hinodeUnlock(c, vma.file, 'read', 'hugetlb_fault');
}

/**
 * Paths that may unshare, before i_mmap_lock_write(), hinode 3/4:
 * - munmap/exit: mm/memory.c unmap_single_vma() hunk, hinode_lock_write(inode, vma, 0) ->
 *   i_mmap_lock_write() -> __unmap_hugepage_range_final().
 * - mprotect: mm/hugetlb.c hugetlb_change_protection(), hinode_lock_write(inode, vma, range.start)
 *   where range.start = max(vm_start, ALIGN_DOWN(start, PUD_SIZE)) after
 *   adjust_range_if_pmd_sharing_possible(); core's mprotect covers whole vmas, so start = vm_start.
 * Other reasons do not come through this hook in core (truncate/hole punch have their own paths).
 */
function* unshareBegin(c: Ctx, vma: Vma, why: UnshareWhy): KGen {
  const fn = why === 'mprotect' ? 'hugetlb_change_protection' : 'unmap_single_vma';
  const addr = why === 'mprotect' ? Math.max(vma.start, Math.floor(vma.start / PUD_SIZE) * PUD_SIZE) : 0;
  yield* hinodeLockWrite(c, vma.file, vma, addr, fn);
}

/** ... after i_mmap_unlock_write(): if (hinode_locked) hinode_unlock_write() (hinode 3/4, same functions). */
function* unshareEnd(c: Ctx, vma: Vma, why: UnshareWhy): KGen {
  yield* hinodeUnlock(c, vma.file, 'write', why === 'mprotect' ? 'hugetlb_change_protection' : 'unmap_single_vma');
}

/** fs/hugetlbfs/inode.c hugetlb_vmtruncate() @ hinode 3/4: hinode_lock_write(inode, NULL, 0) before i_size_write(). */
function* truncateBegin(c: Ctx, inode: Inode): KGen {
  yield* hinodeLockWrite(c, inode, null, 0, 'hugetlb_vmtruncate');
}

/** fs/hugetlbfs/inode.c hugetlb_vmtruncate() @ hinode 3/4: hinode_unlock_write() after i_mmap_unlock_write(), before remove_inode_hugepages(). */
function* truncateEnd(c: Ctx, inode: Inode): KGen {
  yield* hinodeUnlock(c, inode, 'write', 'hugetlb_vmtruncate');
}

/**
 * fs/hugetlbfs/inode.c remove_inode_hugepages() @ hinode 3/4, "page is mapped" branch: unlock the
 * fault mutex -> hinode_lock_write(inode, NULL, 0) -> i_mmap_lock_write() -> lock the mutex ->
 * hugetlb_vmdelete_list(index) -> i_mmap_unlock_write() -> hinode_unlock_write(); returns with
 * the mutex held (it is always held here: the revert takes it for truncation too).
 */
function* removeMappedPage(c: Ctx, inode: Inode, _page: HugePage, idx: number, mutex: Mutex): KGen {
  const fn = 'remove_inode_hugepages';
  yield* unlockIt(c, mutex, 'write', fn);
  yield* hinodeLockWrite(c, inode, null, 0, fn);
  yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
  yield* lockIt(c, mutex, 'write', fn);
  yield* hugetlbVmdeleteList(c, inode, idx * 2 ** HPAGE_ORDER, (idx + 1) * 2 ** HPAGE_ORDER);
  yield* unlockIt(c, inode.iMmapRwsem, 'write', fn);
  yield* hinodeUnlock(c, inode, 'write', fn);
}

/** mm/hugetlb.c copy_hugetlb_page_range() @ hinode 3/4: hinode_lock_read(inode, vma, 0) around the copy loop. */
function* forkCopyBegin(c: Ctx, src: Vma): KGen {
  yield* hinodeLockRead(c, src.file, src, 0, 'copy_hugetlb_page_range');
}

/** mm/hugetlb.c copy_hugetlb_page_range() @ hinode 3/4: if (hinode_locked) hinode_unlock_read() after the loop. */
function* forkCopyEnd(c: Ctx, src: Vma): KGen {
  yield* hinodeUnlock(c, src.file, 'read', 'copy_hugetlb_page_range');
}

/**
 * mm/migrate.c unmap_and_move_huge_page() and mm/memory-failure.c hwpoison_user_mappings() @ hinode
 * 3/4 (lock map A.10/A.11 H): for a file page, hinode_lock_write(mapping->host, NULL, 0) with the
 * page lock held, then a normal try_to_unmap() (rmap walk under i_mmap_rwsem read); anon pages take
 * nothing. This page lock -> hinode_rwsem nesting is the ABBA Mike Kravetz withdrew the series for.
 */
function* rmapUnmapBegin(c: Ctx, page: HugePage, why: RmapWhy): KGen<RmapUnmapLock | null> {
  const mapping = page.anon ? null : page.mapping;
  if (mapping) yield* hinodeLockWrite(c, mapping, null, 0, why === 'migrate' ? 'unmap_and_move_huge_page' : 'hwpoison_user_mappings');
  return { rmapLocked: false, heldAcrossRemove: false, state: mapping };
}

/** ...hinode_unlock_write() right after try_to_unmap() (hinode 3/4). */
function* rmapUnmapEnd(c: Ctx, _page: HugePage, why: RmapWhy, lock: RmapUnmapLock): KGen {
  const mapping = lock.state as Inode | null;
  if (mapping) yield* hinodeUnlock(c, mapping, 'write', why === 'migrate' ? 'unmap_and_move_huge_page' : 'hwpoison_user_mappings');
}

/** The hinode_rwsem design as posted (lock map column H). */
export const hinodeRwsemStrategy: SyncStrategy = {
  name: 'hinode-rwsem',
  description:
    'Per-inode hinode_rwsem (RFC v2 Oct 2020 / PATCH 0/4 Nov 2020, withdrawn): read across faults and fork copies of shareable vmas, write around every unshare (munmap/exit, mprotect, truncate, re-unmap); fault/truncate races handled by i_size rechecks and backout (4/4). Hole punch takes no hinode_rwsem.',
  seed: 'seed 004 ([RFC PATCH v2 0/4] hugetlbfs: introduce hinode_rwsem for pmd sharing synchronization)',
  kernel: 'hinode RFC v2 / PATCH 0/4 (Nov 2020, on v5.10-rc; never merged)',
  package: '@hugesync/strategy-hinode-rwsem',
  lockClasses: [
    {
      name: HINODE_CLASS,
      kind: 'rwsem',
      protects: 'struct hugetlbfs_inode_info: held for read by faults/fork while they use a pte pointer from huge_pte_alloc(), for write by every path that may call huge_pmd_unshare() and by truncation around i_size_write(); order hinode_rwsem -> i_mmap_rwsem -> hugetlb_fault_mutex -> page lock',
    },
  ],
  features: HINODE_FEATURES,
  initInode,
  faultEnter,
  faultExit,
  unshareBegin,
  unshareEnd,
  truncateBegin,
  truncateEnd,
  removeMappedPage,
  forkCopyBegin,
  forkCopyEnd,
  rmapUnmapBegin,
  rmapUnmapEnd,
};
