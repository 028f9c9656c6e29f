/** System-call level operations a workload performs: mmap, munmap, touch, ftruncate, fallocate, mprotect, fork, exit. */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd, wr, upd, work } from './ctx.js';
import { Vma, Mm, type VmaFlags, type VmOpsWrapper } from '../model/mm.js';
import type { Inode } from '../model/inode.js';
import { HPAGE_SIZE, HPAGE_ORDER, PAGE_SHIFT, PUD_SIZE, pudAlignDown } from '../model/constants.js';
import { PTE_WRITE, PTE_PRESENT, PTE_MIGRATION, PTE_HWPOISON, isMigrationEntry, isHwpoisonEntry, makeMigrationEntry } from '../model/pgtable.js';
import { hugePteAlloc, hugePteOffset, hugePteLock, hugePteUnlock, hugePmdUnshare, ptepGet, ptepSet, hugetlbFreePgdRange } from './pgtable.js';
import { hugetlbReservePages, hugetlbVmOpClose, allocHugePage, putPage } from './resv.js';
import { findGetPage, hugeAddToPageCache } from './pagecache.js';
import { hardwareWalk, handleMmFault, type FaultResult } from './fault.js';
import { flushTlbRange } from './tlb.js';
import { anonVmaFork, unlinkAnonVmas } from './rmap.js';
import { unmapHugepageRangeFinal, unmapHugepageRangeInner, tlbFinishMmu, hugetlbVmtruncate, hugetlbfsPunchHole, type Gather } from './unmap.js';

/** Result of a system call or access, as the workload states expectations: 'ok', 'ENOMEM', 'SIGBUS', 'EINVAL'... */
export type OpResult = string;

const faultToResult = (r: FaultResult): OpResult => (r === 'ok' || r === 'retry' ? 'ok' : r === 'oom' ? 'SIGBUS' : r === 'sigbus' ? 'SIGBUS' : 'SIGBUS');

/** mm/mmap.c mmap_region() + fs/hugetlbfs/inode.c hugetlbfs_file_mmap() @ v5.6: map [addr, addr+len) of inode at file offset. */
export function* sysMmap(c: Ctx, mm: Mm, inode: Inode, addr: number, len: number, offset: number, shared: boolean, write = true, vmOps: VmOpsWrapper | null = null): KGen<{ result: OpResult; vma: Vma | null }> {
  const fn = 'mmap_region';
  if (addr % HPAGE_SIZE || len % HPAGE_SIZE || offset % HPAGE_SIZE || len <= 0) return { result: 'EINVAL', vma: null };
  yield* lockIt(c, mm.mmapLock, 'write', 'vm_mmap_pgoff');
  if (mm.vmas.some((v) => v.start < addr + len && v.end > addr)) {
    yield* unlockIt(c, mm.mmapLock, 'write', 'vm_mmap_pgoff');
    return { result: 'EEXIST', vma: null };
  }
  const flags: VmaFlags = { shared, mayshare: shared, write };
  const vma = new Vma(c.k.id(), mm, addr, addr + len, offset / 2 ** PAGE_SHIFT, inode, flags);
  // A wrapper's f_op->mmap (shm_mmap) counts the attach first (__shm_open), then calls hugetlbfs_file_mmap().
  if (vmOps) {
    vma.vmOps = vmOps;
    yield* vmOps.open(c, vma);
  }
  // hugetlbfs_file_mmap(): inode_lock, reserve, extend i_size.
  yield* lockIt(c, inode.iRwsem, 'write', 'hugetlbfs_file_mmap');
  const from = offset / HPAGE_SIZE;
  const ok = yield* hugetlbReservePages(c, inode, from, from + len / HPAGE_SIZE, vma);
  if (ok) {
    c.k.strategy.initVma?.(c.k, vma);
    if (write && inode.size < offset + len) {
      yield { fn: 'hugetlbfs_file_mmap', obj: inode.sizeObj, access: 'write', label: `i_size_write(${offset + len})`, run: () => (inode.size = offset + len) };
    }
  }
  yield* unlockIt(c, inode.iRwsem, 'write', 'hugetlbfs_file_mmap');
  if (!ok) {
    if (vmOps) yield* vmOps.close(c, vma);
    yield* unlockIt(c, mm.mmapLock, 'write', 'vm_mmap_pgoff');
    return { result: 'ENOMEM', vma: null };
  }
  // vma_link(): into the mm and, under i_mmap_rwsem, into the file's interval tree.
  mm.vmas.push(vma);
  yield* lockIt(c, inode.iMmapRwsem, 'write', 'vma_link');
  yield* wr(c, fn, inode.iMmapObj, `vma_interval_tree_insert(${mm.name} ${hexr(addr, len)})`);
  inode.iMmap.push(vma);
  yield* unlockIt(c, inode.iMmapRwsem, 'write', 'vma_link');
  yield* unlockIt(c, mm.mmapLock, 'write', 'vm_mmap_pgoff');
  return { result: 'ok', vma };
}

function hexr(a: number, len: number): string {
  return `0x${a.toString(16)}-0x${(a + len).toString(16)}`;
}

/** mm/mmap.c unmap_region() + remove_vma() @ v5.6 for whole hugetlb vmas (mmap_lock held for write by the caller, or exit). */
export function* unmapVmas(c: Ctx, mm: Mm, vmas: Vma[], why: 'munmap' | 'exit'): KGen {
  // detach_vmas_to_be_unmapped()
  for (const v of vmas) {
    v.dead = true;
    mm.vmas.splice(mm.vmas.indexOf(v), 1);
  }
  const g: Gather = { pages: [], mm };
  for (const v of vmas) yield* unmapHugepageRangeFinal(c, g, v, why);
  // free_pgtables(): unlink_file_vma() then free the page tables no vma needs any more.
  for (const v of vmas) {
    yield* unlinkAnonVmas(c, v);
    yield* lockIt(c, v.file.iMmapRwsem, 'write', 'unlink_file_vma');
    yield* wr(c, 'unlink_file_vma', v.file.iMmapObj, `vma_interval_tree_remove(${mm.name} ${hexr(v.start, v.end - v.start)})`);
    const i = v.file.iMmap.indexOf(v);
    if (i >= 0) v.file.iMmap.splice(i, 1);
    yield* unlockIt(c, v.file.iMmapRwsem, 'write', 'unlink_file_vma');
    yield* hugetlbFreePgdRange(c, mm, v.start, v.end);
  }
  yield* tlbFinishMmu(c, g);
  // remove_vma() -> hugetlb_vm_op_close() (through a wrapper's close, e.g. shm_close, when there is one)
  for (const v of vmas) {
    yield* hugetlbVmOpClose(c, v);
    if (v.vmOps) yield* v.vmOps.close(c, v);
  }
}

/** mm/mmap.c __do_munmap() @ v5.6 on whole vmas (a range that splits a vma: ops/split.ts sysMunmapRange). */
export function* sysMunmap(c: Ctx, mm: Mm, addr: number, len: number): KGen<OpResult> {
  yield* lockIt(c, mm.mmapLock, 'write', '__do_munmap');
  const vmas = mm.vmas.filter((v) => v.start < addr + len && v.end > addr);
  if (vmas.some((v) => v.start < addr || v.end > addr + len)) {
    yield* unlockIt(c, mm.mmapLock, 'write', '__do_munmap');
    return 'EINVAL';
  }
  yield* unmapVmas(c, mm, vmas, 'munmap');
  yield* unlockIt(c, mm.mmapLock, 'write', '__do_munmap');
  return 'ok';
}

/** kernel/exit.c do_exit() -> exit_mmap() @ v5.6: unmap everything (no mmap_lock: the mm has no other users). */
export function* sysExit(c: Ctx, mm: Mm): KGen<OpResult> {
  if (mm.exited) return 'ok';
  mm.exited = true;
  yield* unmapVmas(c, mm, mm.vmas.slice(), 'exit');
  return 'ok';
}

/** A user load or store of one address: the MMU walk, and a page fault when no usable entry is there. */
export function* sysTouch(c: Ctx, mm: Mm, addr: number, write: boolean): KGen<OpResult> {
  if (yield* hardwareWalk(c, mm, addr, write)) return 'ok';
  return yield* touchAfterMiss(c, mm, addr, write);
}

/**
 * The rest of sysTouch once a walk found no usable entry: fault and walk again, up to 8 times (a
 * caller that walks itself, like the workload's touch loop, saves a generator frame per page).
 */
export function* touchAfterMiss(c: Ctx, mm: Mm, addr: number, write: boolean): KGen<OpResult> {
  for (let tries = 0; tries < 8; tries++) {
    const r = yield* handleMmFault(c, mm, addr, write);
    if (r !== 'ok' && r !== 'retry') return faultToResult(r);
    if (yield* hardwareWalk(c, mm, addr, write)) return 'ok';
  }
  return 'EAGAIN';
}

/** fs/open.c do_sys_ftruncate() -> hugetlbfs_setattr() @ v5.6: inode_lock, then hugetlb_vmtruncate(). */
export function* sysFtruncate(c: Ctx, inode: Inode, size: number): KGen<OpResult> {
  if (size % HPAGE_SIZE || size < 0) return 'EINVAL';
  yield* lockIt(c, inode.iRwsem, 'write', 'do_truncate');
  yield* hugetlbVmtruncate(c, inode, size);
  yield* unlockIt(c, inode.iRwsem, 'write', 'do_truncate');
  return 'ok';
}

/** fs/hugetlbfs/inode.c hugetlbfs_fallocate() @ v5.6: FALLOC_FL_PUNCH_HOLE, or preallocation into the page cache. */
export function* sysFallocate(c: Ctx, inode: Inode, offset: number, len: number, punch: boolean, keepSize = false): KGen<OpResult> {
  if (punch) {
    yield* hugetlbfsPunchHole(c, inode, offset, len);
    return 'ok';
  }
  const fn = 'hugetlbfs_fallocate';
  const start = Math.floor(offset / HPAGE_SIZE);
  const end = Math.ceil((offset + len) / HPAGE_SIZE);
  yield* lockIt(c, inode.iRwsem, 'write', fn);
  // A pseudo vma for the allocation: shared, no page tables.
  const pseudo = new Vma(0, new Mm(0, 'pseudo'), 0, (end - start) * HPAGE_SIZE, start * 2 ** HPAGE_ORDER, inode, { shared: true, mayshare: true, write: true });
  let result: OpResult = 'ok';
  for (let index = start; index < end; index++) {
    const mutex = c.k.faultMutex(inode, index);
    yield* lockIt(c, mutex, 'write', fn);
    const found = yield* findGetPage(c, inode, index, fn);
    if (found) {
      yield* putPage(c, found, fn);
      yield* unlockIt(c, mutex, 'write', fn);
      continue;
    }
    const addr = (index - start) * HPAGE_SIZE;
    const page = yield* allocHugePage(c, pseudo, addr, false);
    if (!page) {
      yield* unlockIt(c, mutex, 'write', fn);
      result = 'ENOSPC';
      break;
    }
    yield* work(c, fn, `clear_huge_page(${page.id})`, 'clearHugePage');
    const ok = yield* hugeAddToPageCache(c, page, inode, index, fn);
    yield* unlockIt(c, mutex, 'write', fn);
    if (!ok) {
      yield* putPage(c, page, fn);
      continue;
    }
    yield* unlockIt(c, page.lock, 'write', fn);
    yield* putPage(c, page, fn);
  }
  if (result === 'ok' && !keepSize && offset + len > inode.size) {
    yield { fn, obj: inode.sizeObj, access: 'write', label: `i_size_write(${offset + len})`, run: () => (inode.size = offset + len) };
  }
  yield* unlockIt(c, inode.iRwsem, 'write', fn);
  return result;
}

/** mm/hugetlb.c hugetlb_change_protection() @ v5.6: may unshare; TLB flush before i_mmap_rwsem is released. */
export function* hugetlbChangeProtection(c: Ctx, vma: Vma, start: number, end: number, write: boolean): KGen<number> {
  const fn = 'hugetlb_change_protection';
  const s = c.k.strategy;
  const mm = vma.mm;
  let pages = 0;
  let sharedPmd = false;
  if (s.unshareBegin) yield* s.unshareBegin(c, vma, 'mprotect');
  yield* lockIt(c, vma.file.iMmapRwsem, 'write', fn);
  for (let address = start; address < end; address += HPAGE_SIZE) {
    const ptep = yield* hugePteOffset(c, mm, address, fn);
    if (!ptep) continue;
    yield* hugePteLock(c, ptep, fn);
    if (yield* hugePmdUnshare(c, mm, address, ptep)) {
      pages++;
      yield* hugePteUnlock(c, ptep, fn);
      sharedPmd = true;
      address = pudAlignDown(address) + PUD_SIZE - HPAGE_SIZE;
      continue;
    }
    const pte = yield* ptepGet(c, ptep, fn);
    if (pte.flags & PTE_HWPOISON || (pte.page === 0 && pte.flags === 0)) {
      yield* hugePteUnlock(c, ptep, fn);
      continue;
    }
    const flags = pte.flags & PTE_MIGRATION ? pte.flags : write && vma.flags.shared ? pte.flags | PTE_WRITE : pte.flags & ~PTE_WRITE;
    yield* ptepSet(c, ptep, { page: pte.page, flags }, fn, 'huge_ptep_modify_prot_commit');
    pages++;
    yield* hugePteUnlock(c, ptep, fn);
  }
  // adjust_range_if_pmd_sharing_possible(): the flush covers the PUD-aligned range once an unshare happened.
  const fStart = sharedPmd ? pudAlignDown(start) : start;
  const fEnd = sharedPmd ? pudAlignDown(end - 1) + PUD_SIZE : end;
  yield* flushTlbRange(c, mm, fStart, fEnd, fn, `flush_hugetlb_tlb_range(${sharedPmd ? 'PUD-widened' : 'range'})`);
  if (s.unshareBeforeIMmapUnlock) yield* s.unshareBeforeIMmapUnlock(c, vma, 'mprotect');
  yield* unlockIt(c, vma.file.iMmapRwsem, 'write', fn);
  if (s.unshareEnd) yield* s.unshareEnd(c, vma, 'mprotect');
  return pages;
}

/** mm/mprotect.c do_mprotect_pkey() @ v5.6 on whole hugetlb vmas. */
export function* sysMprotect(c: Ctx, mm: Mm, addr: number, len: number, write: boolean): KGen<OpResult> {
  yield* lockIt(c, mm.mmapLock, 'write', 'do_mprotect_pkey');
  const vmas = mm.vmas.filter((v) => v.start < addr + len && v.end > addr);
  if (vmas.length === 0 || vmas.some((v) => v.start < addr || v.end > addr + len)) {
    yield* unlockIt(c, mm.mmapLock, 'write', 'do_mprotect_pkey');
    return vmas.length === 0 ? 'ENOMEM' : 'EINVAL';
  }
  for (const v of vmas) {
    v.flags = { ...v.flags, write };
    yield* hugetlbChangeProtection(c, v, v.start, v.end, write);
  }
  yield* unlockIt(c, mm.mmapLock, 'write', 'do_mprotect_pkey');
  return 'ok';
}

/**
 * mm/madvise.c madvise_dontneed_single_vma() -> zap_page_range_single() @ v6.1 for hugetlb: mmap_lock
 * read, then unmap_single_vma() -> __unmap_hugepage_range_final() with the design's write locks,
 * without freeing page tables or the vma lock (not ZAP_FLAG_UNMAP). Before 5.18 hugetlb refuses it.
 */
export function* sysMadviseDontneed(c: Ctx, mm: Mm, addr: number, len: number): KGen<OpResult> {
  yield* lockIt(c, mm.mmapLock, 'read', 'do_madvise');
  const vmas = mm.vmas.filter((v) => v.start < addr + len && v.end > addr);
  let r: OpResult = 'ok';
  if (vmas.length === 0) r = 'ENOMEM';
  else if (!c.k.strategy.features.madviseDontneed) r = 'EINVAL';
  else {
    for (const v of vmas) {
      const g: Gather = { pages: [], mm };
      const s = c.k.strategy;
      if (s.unshareBegin) yield* s.unshareBegin(c, v, 'madvise');
      yield* lockIt(c, v.file.iMmapRwsem, 'write', 'zap_page_range_single');
      yield* unmapHugepageRangeInner(c, g, v, Math.max(v.start, addr), Math.min(v.end, addr + len), null);
      if (s.unshareBeforeIMmapUnlock) yield* s.unshareBeforeIMmapUnlock(c, v, 'madvise');
      yield* unlockIt(c, v.file.iMmapRwsem, 'write', 'zap_page_range_single');
      if (s.unshareEnd) yield* s.unshareEnd(c, v, 'madvise');
      yield* tlbFinishMmu(c, g, 'zap_page_range_single');
    }
  }
  yield* unlockIt(c, mm.mmapLock, 'read', 'do_madvise');
  return r;
}

/**
 * mm/hugetlb.c copy_hugetlb_page_range() @ v5.6: per huge page of the parent's vma, under both PTLs,
 * a present entry is copied (write-protected in both for a COW mapping, get_page + page_dup_rmap);
 * a migration or hwpoison entry is copied as a swap entry (is_hugetlb_entry_migration branch).
 */
export function* copyHugetlbPageRange(c: Ctx, dst: Mm, src: Mm, vma: Vma, dvma: Vma): KGen<OpResult> {
  const fn = 'copy_hugetlb_page_range';
  const s = c.k.strategy;
  const cow = !vma.flags.shared && vma.flags.write;
  // 6.1 copy_page_range(): vma_needs_copy() is false without an anon_vma (shared vmas never have one): the child faults.
  if (!s.features.forkCopiesShared && !vma.anonVma) return 'ok';
  if (!cow && s.forkCopyBegin) yield* s.forkCopyBegin(c, vma);
  for (let addr = vma.start; addr < vma.end; addr += HPAGE_SIZE) {
    const srcPte = yield* hugePteOffset(c, src, addr, fn);
    if (!srcPte) continue;
    const dstPte = yield* hugePteAlloc(c, dst, dvma, addr);
    const de = yield* ptepGet(c, dstPte, fn);
    if (dstPte.table === srcPte.table || de.page !== 0 || de.flags !== 0) continue;
    yield* hugePteLock(c, dstPte, fn);
    yield* hugePteLock(c, srcPte, fn);
    const entry = yield* ptepGet(c, srcPte, fn);
    const d2 = yield* ptepGet(c, dstPte, fn);
    if (d2.page === 0 && d2.flags === 0 && (isMigrationEntry(entry.flags) || isHwpoisonEntry(entry.flags))) {
      // A swap-format entry is copied as it is; a writable migration entry of a COW mapping becomes
      // a read one in both mms (make_migration_entry_read), so that remove_migration_pte() restores it read-only.
      let e = entry;
      if (cow && isMigrationEntry(entry.flags) && entry.flags & PTE_WRITE) {
        e = makeMigrationEntry(entry.page, false);
        yield* ptepSet(c, srcPte, e, fn, 'set_huge_swap_pte_at [migration entry made read]');
      }
      yield* ptepSet(c, dstPte, e, fn, 'set_huge_swap_pte_at');
    } else if (!(entry.page === 0 && entry.flags === 0) && d2.page === 0 && d2.flags === 0 && entry.flags & PTE_PRESENT) {
      let e = entry;
      if (cow) {
        e = { page: entry.page, flags: entry.flags & ~PTE_WRITE };
        yield* ptepSet(c, srcPte, e, fn, 'huge_ptep_set_wrprotect');
      }
      const page = c.k.hstate.pages[e.page - 1]!;
      yield* upd(c, fn, page.objId, `get_page + page_dup_rmap(${page.id})`, 'atomic');
      page.refcount++;
      page.mapcount++;
      yield* ptepSet(c, dstPte, e, fn);
      dst.hugetlbRss++;
    }
    yield* hugePteUnlock(c, srcPte, fn);
    yield* hugePteUnlock(c, dstPte, fn);
  }
  if (!cow && s.forkCopyEnd) yield* s.forkCopyEnd(c, vma);
  return 'ok';
}

/** kernel/fork.c dup_mmap() @ v5.6: a child mm with copies of the parent's hugetlb vmas. */
export function* sysFork(c: Ctx, parent: Mm, childName: string): KGen<{ result: OpResult; child: Mm }> {
  const child = c.k.addMm(childName);
  yield* lockIt(c, parent.mmapLock, 'write', 'dup_mmap');
  yield* lockIt(c, child.mmapLock, 'write', 'dup_mmap');
  for (const v of parent.vmas.slice()) {
    const dv = new Vma(c.k.id(), child, v.start, v.end, v.pgoff, v.file, { ...v.flags });
    // reset_vma_resv_huge_pages(): the child has no reservations of its own.
    c.k.strategy.initVma?.(c.k, dv);
    // vm_ops->open on the copy (a wrapper such as shm_open counts the new attach).
    dv.vmOps = v.vmOps;
    if (dv.vmOps) yield* dv.vmOps.open(c, dv);
    child.vmas.push(dv);
    // anon_vma_fork(): a private vma with anonymous pages joins its parent's anon_vma tree first.
    yield* anonVmaFork(c, dv, v);
    yield* lockIt(c, v.file.iMmapRwsem, 'write', 'dup_mmap');
    yield* wr(c, 'dup_mmap', v.file.iMmapObj, `vma_interval_tree_insert_after(${childName})`);
    v.file.iMmap.push(dv);
    yield* unlockIt(c, v.file.iMmapRwsem, 'write', 'dup_mmap');
    yield* copyHugetlbPageRange(c, child, parent, v, dv);
  }
  yield* unlockIt(c, child.mmapLock, 'write', 'dup_mmap');
  yield* unlockIt(c, parent.mmapLock, 'write', 'dup_mmap');
  return { result: 'ok', child };
}

export { rd as readShared };
