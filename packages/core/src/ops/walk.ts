/**
 * Page-table walkers outside the fault path: mm/pagewalk.c walk_hugetlb_range() with the
 * /proc/<pid>/smaps and mincore(2) callbacks. mmap_lock is held for read, and nothing else in
 * 5.6..6.2: the pte pointer from huge_pte_offset() may point into a table another task unshares
 * and frees. RFC v1 05/10 puts the walk under rcu_read_lock(); 6.3 holds hugetlb_vma_lock_read()
 * across the whole loop (both through the design's walkBegin/walkEnd).
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd } from './ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import { HPAGE_SIZE, hpageAlignDown } from '../model/constants.js';
import { PTE_PRESENT, type PtePtr } from '../model/pgtable.js';
import { hugePteOffset, ptepGet } from './pgtable.js';
import type { OpResult } from './syscalls.js';

export type HugetlbWalker = 'mincore' | 'smaps';

/**
 * The hugetlb_entry callbacks @ v5.6: mincore_hugetlb() (mm/mincore.c: present = entry not none)
 * and smaps_hugetlb_range() (fs/proc/task_mmu.c: vm_normal_page() of a present entry, then
 * page_mapcount()). Both read the entry without the PTL ("racy" statistics): a hint, so only a
 * read of freed memory is a bug.
 */
function* hugetlbEntry(c: Ctx, walker: HugetlbWalker, p: PtePtr): KGen<boolean> {
  const fn = walker === 'mincore' ? 'mincore_hugetlb' : 'smaps_hugetlb_range';
  const v = yield* ptepGet(c, p, fn, true);
  const present = (v.flags & PTE_PRESENT) !== 0;
  if (walker === 'smaps' && present && v.page) {
    const page = c.k.hstate.pages[v.page - 1];
    if (page) yield* rd(c, fn, page.objId, () => `page_mapcount(${page.id})`);
  }
  return present;
}

/**
 * mm/pagewalk.c walk_hugetlb_range() @ v5.6: per huge page of [start, end), huge_pte_offset() and
 * ops->hugetlb_entry() on the pointer it returns (ops->pte_hole when there is none). Returns the
 * number of present entries seen.
 */
export function* walkHugetlbRange(c: Ctx, mm: Mm, vma: Vma, start: number, end: number, walker: HugetlbWalker): KGen<number> {
  const s = c.k.strategy;
  let present = 0;
  // 6.3: hugetlb_vma_lock_read() across the whole loop (the v3 changelog: cond_resched() included).
  if (s.walkBegin) yield* s.walkBegin(c, vma, 'sleepable');
  for (let addr = hpageAlignDown(start); addr < end; addr += HPAGE_SIZE) {
    const p = yield* hugePteOffset(c, mm, addr, 'walk_hugetlb_range');
    if (p && (yield* hugetlbEntry(c, walker, p))) present++;
  }
  if (s.walkEnd) yield* s.walkEnd(c, vma, 'sleepable');
  return present;
}

/**
 * mincore(2) (mm/mincore.c do_mincore) or a read of /proc/<pid>/smaps (fs/proc/task_mmu.c
 * show_smap -> smap_gather_stats) @ v5.6 over [addr, addr+len) of one hugetlb vma: mmap_lock read,
 * walk_page_range() -> walk_hugetlb_range().
 */
export function* sysPagewalk(c: Ctx, mm: Mm, addr: number, len: number, walker: HugetlbWalker): KGen<OpResult> {
  const fn = walker === 'mincore' ? 'do_mincore' : 'show_smap';
  yield* lockIt(c, mm.mmapLock, 'read', fn);
  yield* rd(c, 'find_vma', mm.objId, `find_vma(${mm.name})`);
  const vma = mm.findVma(addr);
  let r: OpResult = 'ok';
  if (!vma) r = 'ENOMEM';
  else yield* walkHugetlbRange(c, mm, vma, Math.max(addr, vma.start), Math.min(addr + Math.max(len, HPAGE_SIZE), vma.end), walker);
  yield* unlockIt(c, mm.mmapLock, 'read', fn);
  return r;
}
