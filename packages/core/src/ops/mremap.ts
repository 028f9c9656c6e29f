/**
 * mremap() of a hugetlb range (mm/mremap.c, mm/hugetlb.c move_hugetlb_page_tables). Moving a
 * hugetlb vma arrived in 5.16 (550a7d60bd5e, "mm, hugepages: add mremap() support for hugepage
 * backed vma"); before, vma_to_resize() refuses every hugetlb vma with -EINVAL.
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, wr, work } from './ctx.js';
import { Vma, type Mm } from '../model/mm.js';
import { HPAGE_SIZE, PUD_SIZE, pudAlignDown } from '../model/constants.js';
import type { PtePtr } from '../model/pgtable.js';
import { hugePmdUnshare, hugePteAlloc, hugePteLock, hugePteOffset, hugePteUnlock, ptepGet, ptepSet, hex } from './pgtable.js';
import { doMunmap } from './split.js';
import type { OpResult } from './syscalls.js';

/**
 * mm/hugetlb.c move_huge_pte() @ v6.1.15: dst PTL, then the src PTL nested if it is another
 * lock (a different table), get-and-clear the source entry and set it at the destination.
 */
function* moveHugePte(c: Ctx, src: PtePtr, dst: PtePtr): KGen {
  const fn = 'move_huge_pte';
  yield* hugePteLock(c, dst, fn);
  const other = src.table !== dst.table;
  if (other) yield* hugePteLock(c, src, fn);
  const pte = yield* ptepGet(c, src, fn);
  yield* ptepSet(c, src, { page: 0, flags: 0 }, fn, 'huge_ptep_get_and_clear');
  yield* ptepSet(c, dst, pte, fn);
  if (other) yield* hugePteUnlock(c, src, fn);
  yield* hugePteUnlock(c, dst, fn);
}

/**
 * mm/hugetlb.c move_hugetlb_page_tables() @ v6.1.15: with the design's write locks on the old
 * vma (6.1: hugetlb_vma_lock_write, then i_mmap_lock_write) walk the old range: skip a missing
 * table (to the next PUD) or a none entry; a shared table is unshared, not moved (skip the PUD:
 * the new range faults its pages in again); otherwise huge_pte_alloc() the destination in the
 * new vma and move the entry. No PTL around the unshare or the none check. TLB flush, unlock.
 */
export function* moveHugetlbPageTables(c: Ctx, vma: Vma, newVma: Vma, oldAddr: number, newAddr: number, len: number): KGen<boolean> {
  const fn = 'move_hugetlb_page_tables';
  const s = c.k.strategy;
  const mm = vma.mm;
  const oldEnd = oldAddr + len;
  let sharedPmd = false;
  if (s.unshareBegin) yield* s.unshareBegin(c, vma, 'mremap');
  yield* lockIt(c, vma.file.iMmapRwsem, 'write', fn);
  const delta = newAddr - oldAddr;
  for (let a = oldAddr; a < oldEnd; a += HPAGE_SIZE) {
    const src = yield* hugePteOffset(c, mm, a, fn);
    if (!src) {
      a = pudAlignDown(a) + PUD_SIZE - HPAGE_SIZE;
      continue;
    }
    // huge_pte_none(huge_ptep_get(src_pte)): a lockless READ_ONCE of the entry.
    const e = yield* ptepGet(c, src, fn, true);
    if (e.page === 0 && e.flags === 0) continue;
    if (yield* hugePmdUnshare(c, mm, a, src)) {
      sharedPmd = true;
      a = pudAlignDown(a) + PUD_SIZE - HPAGE_SIZE;
      continue;
    }
    const dst = yield* hugePteAlloc(c, mm, newVma, a + delta);
    yield* moveHugePte(c, src, dst);
  }
  yield* work(c, fn, `flush_tlb_range(${sharedPmd ? 'PUD-widened' : `${hex(oldAddr)}-${hex(oldEnd)}`})`, 'tlbFlush');
  if (s.unshareBeforeIMmapUnlock) yield* s.unshareBeforeIMmapUnlock(c, vma, 'mremap');
  yield* unlockIt(c, vma.file.iMmapRwsem, 'write', fn);
  if (s.unshareEnd) yield* s.unshareEnd(c, vma, 'mremap');
  return sharedPmd;
}

/**
 * mm/mmap.c copy_vma() @ v6.1.15 for a hugetlb vma: a copy at the new address (same file offset),
 * vm_ops->open (hugetlb_vm_op_open: 6.1 gives it a vma lock of its own), vma_link() into the mm
 * and, under i_mmap_rwsem for write, into the file's interval tree.
 */
function* copyVma(c: Ctx, vma: Vma, newAddr: number, len: number): KGen<Vma> {
  const mm = vma.mm;
  const nv = new Vma(c.k.id(), mm, newAddr, newAddr + len, vma.pgoff, vma.file, { ...vma.flags });
  nv.anonVma = vma.anonVma;
  c.k.strategy.initVma?.(c.k, nv);
  nv.vmOps = vma.vmOps;
  if (nv.vmOps) yield* nv.vmOps.open(c, nv);
  mm.vmas.push(nv);
  yield* lockIt(c, vma.file.iMmapRwsem, 'write', 'vma_link');
  yield* wr(c, 'copy_vma', vma.file.iMmapObj, `vma_interval_tree_insert(${mm.name} ${hex(newAddr)}-${hex(newAddr + len)})`);
  vma.file.iMmap.push(nv);
  yield* unlockIt(c, vma.file.iMmapRwsem, 'write', 'vma_link');
  return nv;
}

/**
 * mm/mremap.c SYSCALL mremap(addr, old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, new_addr)
 * -> mremap_to() -> move_vma() @ v6.1.15 on a hugetlb vma, mmap_lock held for write: huge-page
 * aligned addresses and no growth (-EINVAL); unmap whatever is at the destination and the tail
 * beyond new_len; copy_vma(); move_hugetlb_page_tables(); clear_vma_resv_huge_pages() on the old
 * vma (the new one owns the private reservation); then do_munmap() of the old range. Before 5.16
 * (mremapMovesHugetlb off): -EINVAL from vma_to_resize().
 */
export function* sysMremap(c: Ctx, mm: Mm, oldAddr: number, oldLen: number, newAddr: number, newLen: number): KGen<{ result: OpResult; vma: Vma | null }> {
  const fn = 'mremap';
  yield* lockIt(c, mm.mmapLock, 'write', fn);
  const vma = mm.findVma(oldAddr);
  let result: OpResult = 'ok';
  let moved: Vma | null = null;
  if (!vma || vma.end < oldAddr + oldLen) result = 'EFAULT';
  else if (!c.k.strategy.features.mremapMovesHugetlb) result = 'EINVAL';
  else if (oldAddr % HPAGE_SIZE || newAddr % HPAGE_SIZE || oldLen % HPAGE_SIZE || newLen % HPAGE_SIZE || newLen <= 0 || newLen > oldLen) result = 'EINVAL';
  else if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen) result = 'EINVAL';
  else {
    result = yield* doMunmap(c, mm, newAddr, newLen);
    if (result === 'ok' && oldLen > newLen) result = yield* doMunmap(c, mm, oldAddr + newLen, oldLen - newLen);
    // vma_to_resize(): the (possibly split) vma at oldAddr must cover [oldAddr, oldAddr+newLen).
    const old = mm.findVma(oldAddr);
    if (result === 'ok' && (!old || old.start !== oldAddr)) result = 'EINVAL';
    if (result === 'ok' && old) {
      moved = yield* copyVma(c, old, newAddr, newLen);
      yield* moveHugetlbPageTables(c, old, moved, oldAddr, newAddr, newLen);
      // clear_vma_resv_huge_pages(): the private owner's reservation goes with the new vma.
      moved.resvMap = old.resvMap;
      moved.resvOwner = old.resvOwner;
      old.resvMap = null;
      old.resvOwner = false;
      result = yield* doMunmap(c, mm, oldAddr, newLen);
    }
  }
  yield* unlockIt(c, mm.mmapLock, 'write', fn);
  return { result, vma: moved };
}
