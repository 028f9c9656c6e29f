/**
 * VMA split: munmap and mprotect of part of a hugetlb vma (mm/mmap.c __split_vma, mm/mprotect.c
 * mprotect_fixup) and the PMD unsharing hugetlb_vm_op_split() does before a split from 6.1.15
 * (hugetlb_unshare_pmds, b30c14cd6102). Lock map §A.8, §A.17, §B.1.
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, wr, work } from './ctx.js';
import { Vma, type Mm } from '../model/mm.js';
import { HPAGE_SIZE, PAGE_SHIFT, PUD_SIZE, pudAlignDown } from '../model/constants.js';
import { hugePmdUnshare, hugePteLock, hugePteOffset, hugePteUnlock, hex } from './pgtable.js';
import { hugetlbChangeProtection, unmapVmas, type OpResult } from './syscalls.js';

/**
 * mm/hugetlb.c hugetlb_unshare_pmds() @ v6.1.15: with the design's write locks (6.1: vma lock
 * for write, then i_mmap_rwsem for write) unshare every shared PMD table of [start, end) (PUD
 * steps), flush the TLB over the range before the locks go.
 */
export function* hugetlbUnsharePmds(c: Ctx, vma: Vma, start: number, end: number): KGen {
  const fn = 'hugetlb_unshare_pmds';
  const s = c.k.strategy;
  if (!vma.flags.mayshare || start >= end) return;
  if (s.unshareBegin) yield* s.unshareBegin(c, vma, 'split');
  yield* lockIt(c, vma.file.iMmapRwsem, 'write', fn);
  for (let address = start; address < end; address += PUD_SIZE) {
    const ptep = yield* hugePteOffset(c, vma.mm, address, fn);
    if (!ptep) continue;
    yield* hugePteLock(c, ptep, fn);
    yield* hugePmdUnshare(c, vma.mm, address, ptep);
    yield* hugePteUnlock(c, ptep, fn);
  }
  yield* work(c, fn, `flush_hugetlb_tlb_range(${hex(start)}, ${hex(end)})`, 'tlbFlush');
  if (s.unshareBeforeIMmapUnlock) yield* s.unshareBeforeIMmapUnlock(c, vma, 'split');
  yield* unlockIt(c, vma.file.iMmapRwsem, 'write', fn);
  if (s.unshareEnd) yield* s.unshareEnd(c, vma, 'split');
}

/**
 * mm/hugetlb.c hugetlb_vm_op_split() @ v5.6 / v6.1.15 (vm_ops->split, called first by
 * __split_vma): -EINVAL unless addr is huge-page aligned. From 6.1.15 (splitUnsharesPmds), a
 * split address inside a PUD range wholly covered by the vma first unshares that range: the two
 * halves could no longer share it, but a table already shared would stay shared under them.
 */
export function* hugetlbVmOpSplit(c: Ctx, vma: Vma, addr: number): KGen<boolean> {
  if (addr % HPAGE_SIZE) return false;
  if (c.k.strategy.features.splitUnsharesPmds && addr % PUD_SIZE) {
    const floor = pudAlignDown(addr);
    const ceil = floor + PUD_SIZE;
    if (floor >= vma.start && ceil <= vma.end) yield* hugetlbUnsharePmds(c, vma, floor, ceil);
  }
  return true;
}

/**
 * mm/mmap.c __split_vma() + __vma_adjust() @ v5.6 (mmap_lock held for write): vm_ops->split, a
 * copy of the vma for one side (new_below: the lower part), vm_ops->open on it
 * (hugetlb_vm_op_open: a share of the private owner's resv_map; 6.1 a vma lock of its own), then
 * under i_mmap_rwsem for write the old vma shrinks and the new one enters the interval tree and
 * the mm. Returns the new vma, or null (-EINVAL).
 */
export function* splitVma(c: Ctx, mm: Mm, vma: Vma, addr: number, newBelow: boolean): KGen<Vma | null> {
  const fn = '__split_vma';
  if (!(yield* hugetlbVmOpSplit(c, vma, addr))) return null;
  const pgoffAt = vma.pgoff + (addr - vma.start) / 2 ** PAGE_SHIFT;
  const nv = newBelow
    ? new Vma(c.k.id(), mm, vma.start, addr, vma.pgoff, vma.file, { ...vma.flags })
    : new Vma(c.k.id(), mm, addr, vma.end, pgoffAt, vma.file, { ...vma.flags });
  nv.resvMap = vma.resvMap;
  nv.resvOwner = vma.resvOwner;
  nv.resvUnmapped = vma.resvUnmapped;
  nv.anonVma = vma.anonVma;
  c.k.strategy.initVma?.(c.k, nv);
  nv.vmOps = vma.vmOps;
  if (nv.vmOps) yield* nv.vmOps.open(c, nv);
  yield* lockIt(c, vma.file.iMmapRwsem, 'write', 'vma_adjust');
  yield* wr(c, 'vma_adjust', vma.file.iMmapObj, `vma_interval_tree_remove/insert(${mm.name} split at ${hex(addr)})`);
  yield* wr(c, fn, vma.objId, `vm_${newBelow ? 'start' : 'end'} = ${hex(addr)}`);
  if (newBelow) {
    vma.start = addr;
    vma.pgoff = pgoffAt;
  } else vma.end = addr;
  vma.file.iMmap.push(nv);
  mm.vmas.push(nv);
  yield* unlockIt(c, vma.file.iMmapRwsem, 'write', 'vma_adjust');
  return nv;
}

/**
 * The vmas of mm covering [addr, addr+len), split so that none sticks out (mm/mmap.c
 * __do_munmap() and mm/mprotect.c mprotect_fixup() @ v5.6 split the first and the last). Null
 * on -EINVAL (a split address that is not huge-page aligned).
 */
function* splitCovering(c: Ctx, mm: Mm, addr: number, len: number): KGen<Vma[] | null> {
  const end = addr + len;
  const first = mm.vmas.find((v) => v.start < addr && v.end > addr);
  if (first && !(yield* splitVma(c, mm, first, addr, true))) return null;
  const last = mm.vmas.find((v) => v.start < end && v.end > end);
  if (last && !(yield* splitVma(c, mm, last, end, true))) return null;
  return mm.vmas.filter((v) => v.start >= addr && v.end <= end).sort((a, b) => a.start - b.start);
}

/** mm/mmap.c __do_munmap() @ v5.6 with mmap_lock held for write: split at both ends, then unmap_region() of the middle. */
export function* doMunmap(c: Ctx, mm: Mm, addr: number, len: number): KGen<OpResult> {
  if (addr % HPAGE_SIZE || len % HPAGE_SIZE || len <= 0) return 'EINVAL';
  const vmas = yield* splitCovering(c, mm, addr, len);
  if (!vmas) return 'EINVAL';
  if (vmas.length > 0) yield* unmapVmas(c, mm, vmas, 'munmap');
  return 'ok';
}

/** mm/mmap.c vm_munmap() @ v5.6: munmap of any huge-page aligned range, splitting vmas at its ends. */
export function* sysMunmapRange(c: Ctx, mm: Mm, addr: number, len: number): KGen<OpResult> {
  yield* lockIt(c, mm.mmapLock, 'write', '__do_munmap');
  const r = yield* doMunmap(c, mm, addr, len);
  yield* unlockIt(c, mm.mmapLock, 'write', '__do_munmap');
  return r;
}

/**
 * mm/mprotect.c do_mprotect_pkey() -> mprotect_fixup() @ v5.6 on part of a hugetlb vma: split at
 * the ends of the range (ENOMEM if part of it is unmapped), then hugetlb_change_protection() on
 * each piece, which unshares any shared table it meets (lock map §A.8).
 */
export function* sysMprotectRange(c: Ctx, mm: Mm, addr: number, len: number, write: boolean): KGen<OpResult> {
  const fn = 'do_mprotect_pkey';
  yield* lockIt(c, mm.mmapLock, 'write', fn);
  let r: OpResult = 'ok';
  const covered = mm.vmas.filter((v) => v.start < addr + len && v.end > addr).reduce((n, v) => n + Math.min(v.end, addr + len) - Math.max(v.start, addr), 0);
  if (addr % HPAGE_SIZE || len % HPAGE_SIZE || len <= 0) r = 'EINVAL';
  else if (covered < len) r = 'ENOMEM';
  else {
    const vmas = yield* splitCovering(c, mm, addr, len);
    if (!vmas) r = 'EINVAL';
    else
      for (const v of vmas) {
        yield* wr(c, 'mprotect_fixup', v.objId, `vm_flags ${write ? '|=' : '&= ~'}VM_WRITE`);
        v.flags = { ...v.flags, write };
        yield* hugetlbChangeProtection(c, v, v.start, v.end, write);
      }
  }
  yield* unlockIt(c, mm.mmapLock, 'write', fn);
  return r;
}
