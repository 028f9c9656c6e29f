/** Unmapping, truncation and hole punch: mm/hugetlb.c, fs/hugetlbfs/inode.c, mm/memory.c. */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd, wr, upd } from './ctx.js';
import type { Vma, Mm } from '../model/mm.js';
import type { Inode } from '../model/inode.js';
import type { HugePage } from '../model/page.js';
import type { Mutex } from '../kernel/locks.js';
import { HPAGE_SIZE, PUD_SIZE, pudAlignDown, HPAGE_ORDER, PAGE_SHIFT } from '../model/constants.js';
import { PTE_PRESENT } from '../model/pgtable.js';
import { hugePmdUnshare, hugePteLock, hugePteOffset, hugePteUnlock, ptepGet, ptepSet, hex } from './pgtable.js';
import { putPage, hugetlbUnreservePages } from './resv.js';
import { removeHugePage } from './pagecache.js';
import type { UnshareWhy } from '../strategy.js';
import { flushTlbRange } from './tlb.js';

/** struct mmu_gather: pages whose last mapping went are put after the TLB flush. */
export interface Gather {
  pages: HugePage[];
  mm: Mm;
  /** The range __tlb_adjust_range() gathered (tlb->start/end); empty when start >= end. */
  start?: number;
  end?: number;
}

/** include/asm-generic/tlb.h __tlb_adjust_range() @ v5.6: widen the gathered flush range. */
export function tlbAdjustRange(g: Gather, start: number, end: number): void {
  g.start = Math.min(g.start ?? start, start);
  g.end = Math.max(g.end ?? end, end);
}

/** mm/mmu_gather.c tlb_finish_mmu() @ v5.6: flush the gathered range (nothing if empty), then free the gathered pages. */
export function* tlbFinishMmu(c: Ctx, g: Gather, fn = 'tlb_finish_mmu'): KGen {
  yield* flushTlbRange(c, g.mm, g.start ?? 0, g.end ?? 0, fn, `flush_tlb_mm_range(${g.mm.name})`);
  g.start = g.end = undefined;
  for (const p of g.pages) yield* putPage(c, p, fn);
  g.pages.length = 0;
}

/** mm/hugetlb.c __unmap_hugepage_range() @ v5.6 (flush after unshare from a4a118f2eead when the design has it). */
export function* unmapHugepageRangeInner(c: Ctx, g: Gather, vma: Vma, start: number, end: number, refPage: HugePage | null): KGen {
  const fn = '__unmap_hugepage_range';
  const mm = vma.mm;
  for (let address = start; address < end; address += HPAGE_SIZE) {
    const ptep = yield* hugePteOffset(c, mm, address, fn);
    if (!ptep) continue;
    yield* hugePteLock(c, ptep, fn);
    if (yield* hugePmdUnshare(c, mm, address, ptep)) {
      yield* hugePteUnlock(c, ptep, fn);
      // a4a118f2eead (5.16): tlb_flush_pmd_range() over the PUD range and force_flush; the model flushes here.
      if (c.k.strategy.features.flushOnUnshare) yield* flushTlbRange(c, mm, pudAlignDown(address), pudAlignDown(address) + PUD_SIZE, fn, `tlb_flush_pmd_range(${hex(pudAlignDown(address))}, PUD_SIZE)`);
      address = pudAlignDown(address) + PUD_SIZE - HPAGE_SIZE;
      continue;
    }
    const pte = yield* ptepGet(c, ptep, fn);
    if (pte.page === 0 && pte.flags === 0) {
      yield* hugePteUnlock(c, ptep, fn);
      continue;
    }
    if (!(pte.flags & PTE_PRESENT)) {
      yield* ptepSet(c, ptep, { page: 0, flags: 0 }, fn, 'huge_pte_clear');
      yield* hugePteUnlock(c, ptep, fn);
      continue;
    }
    const page = c.k.hstate.pages[pte.page - 1]!;
    if (refPage && page !== refPage) {
      yield* hugePteUnlock(c, ptep, fn);
      continue;
    }
    yield* ptepSet(c, ptep, { page: 0, flags: 0 }, fn, 'huge_ptep_get_and_clear');
    tlbAdjustRange(g, address, address + HPAGE_SIZE); // tlb_remove_huge_tlb_entry()
    mm.hugetlbRss--;
    yield* upd(c, fn, page.objId, `page_remove_rmap(${page.id})`, 'atomic');
    page.mapcount--;
    yield* hugePteUnlock(c, ptep, fn);
    g.pages.push(page);
    if (refPage) break;
  }
}

/** mm/hugetlb.c unmap_hugepage_range() @ v5.6: gather, unmap, flush and free. Callers hold the locks. */
export function* unmapHugepageRange(c: Ctx, vma: Vma, start: number, end: number, refPage: HugePage | null): KGen {
  const g: Gather = { pages: [], mm: vma.mm };
  yield* unmapHugepageRangeInner(c, g, vma, start, end, refPage);
  yield* tlbFinishMmu(c, g, 'unmap_hugepage_range');
}

/**
 * mm/memory.c unmap_single_vma() -> __unmap_hugepage_range_final() @ v5.6: the unmap of a dying
 * vma (munmap, exit) under i_mmap_rwsem for write, with the design's locks around it.
 */
export function* unmapHugepageRangeFinal(c: Ctx, g: Gather, vma: Vma, why: UnshareWhy): KGen {
  const fn = '__unmap_hugepage_range_final';
  const s = c.k.strategy;
  if (s.unshareBegin) yield* s.unshareBegin(c, vma, why);
  yield* lockIt(c, vma.file.iMmapRwsem, 'write', 'unmap_single_vma');
  yield* unmapHugepageRangeInner(c, g, vma, vma.start, vma.end, null);
  if (s.features.clearMayshareOnFinalUnmap) {
    yield* wr(c, fn, vma.objId, 'vm_flags &= ~VM_MAYSHARE');
    vma.flags = { ...vma.flags, mayshare: false };
  }
  if (s.unshareBeforeIMmapUnlock) yield* s.unshareBeforeIMmapUnlock(c, vma, why);
  yield* unlockIt(c, vma.file.iMmapRwsem, 'write', 'unmap_single_vma');
  if (s.unshareEnd) yield* s.unshareEnd(c, vma, why);
}

/**
 * fs/hugetlbfs/inode.c hugetlb_vmdelete_list() @ v5.6: with i_mmap_rwsem held for write, unmap file
 * pages [start, end) (4 KiB pgoff units; end 0 = to the end) from every vma mapping them.
 */
export function* hugetlbVmdeleteList(c: Ctx, inode: Inode, start: number, end: number): KGen {
  const fn = 'hugetlb_vmdelete_list';
  const s = c.k.strategy;
  yield* rd(c, fn, inode.iMmapObj, 'vma_interval_tree_foreach(i_mmap)');
  for (const vma of inode.iMmap.slice()) {
    const vEndPg = vma.pgoff + (vma.end - vma.start) / 2 ** PAGE_SHIFT;
    if (vEndPg <= start || (end !== 0 && vma.pgoff >= end)) continue;
    if (s.vmdeleteLockVma && !(yield* s.vmdeleteLockVma(c, vma))) continue;
    const vOffset = vma.pgoff < start ? (start - vma.pgoff) * 2 ** PAGE_SHIFT : 0;
    let vEnd = vma.end;
    if (end !== 0) vEnd = Math.min(vma.end, (end - vma.pgoff) * 2 ** PAGE_SHIFT + vma.start);
    yield* unmapHugepageRange(c, vma, vma.start + vOffset, vEnd, null);
    if (s.vmdeleteUnlockVma) yield* s.vmdeleteUnlockVma(c, vma);
  }
}

/** The 5.6 re-unmap of a mapped page in remove_inode_hugepages(): i_mmap_rwsem write while holding the fault mutex. */
export function* removeMappedPageV56(c: Ctx, inode: Inode, _page: HugePage, idx: number, _mutex: Mutex): KGen {
  yield* lockIt(c, inode.iMmapRwsem, 'write', 'remove_inode_hugepages');
  yield* hugetlbVmdeleteList(c, inode, idx * 2 ** HPAGE_ORDER, (idx + 1) * 2 ** HPAGE_ORDER);
  yield* unlockIt(c, inode.iMmapRwsem, 'write', 'remove_inode_hugepages');
}

const PAGEVEC_SIZE = 15;

/** fs/hugetlbfs/inode.c remove_inode_hugepages() @ v5.6: remove pages [lstart, lend) (huge-page indices) from the page cache. */
export function* removeInodeHugepages(c: Ctx, inode: Inode, start: number, end: number): KGen {
  const fn = 'remove_inode_hugepages';
  const s = c.k.strategy;
  const f = s.features;
  const truncateOp = end === Number.MAX_SAFE_INTEGER;
  let freed = 0;
  let next = start;
  while (next < end) {
    let batch: HugePage[] = [];
    yield {
      fn,
      obj: inode.cacheObj,
      access: 'read',
      label: `pagevec_lookup_range(${inode.name}, ${next}, ${truncateOp ? 'end' : end - 1})`,
      cost: 'pageCacheLookup',
      run: () => {
        const idxs = [...inode.pageCache.keys()].filter((i) => i >= next && i < end).sort((a, b) => a - b).slice(0, PAGEVEC_SIZE);
        batch = idxs.map((i) => inode.pageCache.get(i)!);
        for (const p of batch) p.refcount++;
      },
    };
    if (batch.length === 0) break;
    for (const page of batch) {
      const index = page.index < 0 ? next : page.index;
      const takeMutex = !truncateOp || f.removeMutexOnTruncate;
      const mutex = c.k.faultMutex(inode, index);
      if (takeMutex) yield* lockIt(c, mutex, 'write', fn);
      let mapped = false;
      yield { fn, obj: page.objId, access: 'read', label: `page_mapped(${page.id})`, run: () => (mapped = page.mapcount > 0) };
      if (mapped) {
        if (truncateOp && f.truncateMappedPageIsBug) {
          c.k.report({
            kind: 'page-beyond-eof',
            message: `kernel BUG in remove_inode_hugepages: page ${page.id} at index ${index} of ${inode.name} is still mapped during truncation (faulted in after hugetlb_vmdelete_list)`,
            thread: c.t.name,
            fn,
          });
        }
        if (s.removeMappedPage) yield* s.removeMappedPage(c, inode, page, index, mutex);
        else yield* removeMappedPageV56(c, inode, page, index, mutex);
      }
      yield* lockIt(c, page.lock, 'write', fn);
      let stillOurs = true;
      if (f.removeChecksMapping) {
        yield { fn, obj: page.objId, access: 'read', label: 'page_mapping(page) == mapping', run: () => (stillOurs = page.mapping === inode) };
      }
      if (stillOurs) {
        yield* removeHugePage(c, inode, page, fn);
        freed++;
        if (!truncateOp) yield* hugetlbUnreservePages(c, inode, index, index + 1, 1);
      }
      yield* unlockIt(c, page.lock, 'write', fn);
      if (takeMutex) yield* unlockIt(c, mutex, 'write', fn);
      next = Math.max(next, index + 1);
    }
    // huge_pagevec_release()
    for (const p of batch) yield* putPage(c, p, fn);
  }
  if (truncateOp) yield* hugetlbUnreservePages(c, inode, start, Number.MAX_SAFE_INTEGER, freed);
}

/** fs/hugetlbfs/inode.c hugetlb_vmtruncate() @ v5.6 (from hugetlbfs_setattr, inode_lock held): new size in bytes. */
export function* hugetlbVmtruncate(c: Ctx, inode: Inode, offset: number): KGen {
  const fn = 'hugetlb_vmtruncate';
  const s = c.k.strategy;
  const pgoff = offset / 2 ** PAGE_SHIFT;
  if (s.truncateBegin) yield* s.truncateBegin(c, inode);
  const underIMmap = s.features.truncateSizeUnderIMmap;
  if (underIMmap) yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
  yield { fn, obj: inode.sizeObj, access: 'write', label: `i_size_write(${offset})`, run: () => (inode.size = offset) };
  if (!underIMmap) yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
  if (inode.iMmap.length > 0) yield* hugetlbVmdeleteList(c, inode, pgoff, 0);
  yield* unlockIt(c, inode.iMmapRwsem, 'write', fn);
  if (s.truncateEnd) yield* s.truncateEnd(c, inode);
  yield* removeInodeHugepages(c, inode, Math.ceil(offset / HPAGE_SIZE), Number.MAX_SAFE_INTEGER);
}

/** fs/hugetlbfs/inode.c hugetlbfs_punch_hole() @ v5.6: [offset, offset+len) in bytes; whole huge pages only. */
export function* hugetlbfsPunchHole(c: Ctx, inode: Inode, offset: number, len: number): KGen {
  const fn = 'hugetlbfs_punch_hole';
  const holeStart = Math.ceil(offset / HPAGE_SIZE) * HPAGE_SIZE;
  const holeEnd = Math.floor((offset + len) / HPAGE_SIZE) * HPAGE_SIZE;
  if (holeEnd <= holeStart) return;
  yield* lockIt(c, inode.iRwsem, 'write', fn);
  yield* lockIt(c, inode.iMmapRwsem, 'write', fn);
  if (inode.iMmap.length > 0) yield* hugetlbVmdeleteList(c, inode, holeStart / 2 ** PAGE_SHIFT, holeEnd / 2 ** PAGE_SHIFT);
  yield* unlockIt(c, inode.iMmapRwsem, 'write', fn);
  yield* removeInodeHugepages(c, inode, holeStart / HPAGE_SIZE, holeEnd / HPAGE_SIZE);
  yield* unlockIt(c, inode.iRwsem, 'write', fn);
}
