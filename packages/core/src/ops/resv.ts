/** Reservation accounting and huge page allocation (mm/hugetlb.c @ v5.6; same structure in 6.1). */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, wr } from './ctx.js';
import type { Vma } from '../model/mm.js';
import type { Inode } from '../model/inode.js';
import type { HugePage } from '../model/page.js';
import { ResvMap } from '../model/resv.js';
import { SpinLock } from '../kernel/locks.js';

const hugetlbLocks = new WeakMap<object, SpinLock>();
/** The global hugetlb_lock spinlock (one per simulated machine). */
export function hugetlbLock(c: Ctx): SpinLock {
  let l = hugetlbLocks.get(c.k);
  if (!l) {
    l = new SpinLock('spin:hugetlb_lock', 'hugetlb_lock');
    hugetlbLocks.set(c.k, l);
  }
  return l;
}

/** Read-modify-write of the global counters under hugetlb_lock, checked for negative HugePages_Rsvd. */
export function* underHugetlbLock(c: Ctx, fn: string, label: string, body: () => void): KGen {
  const l = hugetlbLock(c);
  yield* lockIt(c, l, 'write', fn);
  yield {
    fn,
    obj: 'hstate',
    access: 'write',
    label,
    cost: 'step',
    run: () => {
      body();
      const h = c.k.hstate;
      if (h.resv < 0) c.k.report({ kind: 'reserve-count', message: `HugePages_Rsvd went negative (${h.resv}) in ${fn}`, thread: c.t.name, fn });
    },
  };
  yield* unlockIt(c, l, 'write', fn);
}

function resvMapOf(vma: Vma): ResvMap | null {
  return vma.flags.mayshare ? vma.file.resvMap : vma.resvMap;
}

type ResvMode = 'needs' | 'commit' | 'end' | 'add';

/** mm/hugetlb.c __vma_reservation_common() @ v5.6: region ops on the vma's map, result inverted for private owners. */
function* vmaReservation(c: Ctx, vma: Vma, addr: number, mode: ResvMode): KGen<number> {
  const fn = { needs: 'vma_needs_reservation', commit: 'vma_commit_reservation', end: 'vma_end_reservation', add: 'vma_add_reservation' }[mode];
  const resv = resvMapOf(vma);
  if (!resv) return 1;
  const idx = vma.hugeIndex(addr);
  let ret = 0;
  yield* lockIt(c, resv.lock, 'write', fn);
  const share = vma.flags.mayshare;
  yield {
    fn,
    obj: resv.objId,
    access: mode === 'needs' ? 'write' : 'write',
    label: () => `${mode === 'needs' ? 'region_chg' : mode === 'commit' ? 'region_add' : mode === 'end' ? 'region_abort' : share ? 'region_add' : 'region_del'}(${idx}, ${idx + 1})`,
    cost: 'step',
    run: () => {
      c.k.bus.emit('mem:access', c.t, resv.objId, true, fn);
      if (mode === 'needs') ret = resv.regionChg(idx, idx + 1);
      else if (mode === 'commit') ret = resv.regionAdd(idx, idx + 1);
      else if (mode === 'end') resv.regionAbort();
      else ret = vma.flags.mayshare ? resv.regionAdd(idx, idx + 1) : resv.regionDel(idx, idx + 1);
    },
  };
  yield* unlockIt(c, resv.lock, 'write', fn);
  if (vma.flags.mayshare) return ret;
  if (vma.resvOwner && ret >= 0) return ret ? 0 : 1;
  return ret < 0 ? ret : 0;
}

export const vmaNeedsReservation = (c: Ctx, vma: Vma, addr: number) => vmaReservation(c, vma, addr, 'needs');
export const vmaCommitReservation = (c: Ctx, vma: Vma, addr: number) => vmaReservation(c, vma, addr, 'commit');
export const vmaEndReservation = (c: Ctx, vma: Vma, addr: number) => vmaReservation(c, vma, addr, 'end');
export const vmaAddReservation = (c: Ctx, vma: Vma, addr: number) => vmaReservation(c, vma, addr, 'add');

/** mm/hugetlb.c vma_has_reserves() @ v5.6 */
function vmaHasReserves(vma: Vma, chg: number): boolean {
  if (vma.flags.mayshare) return chg === 0;
  if (vma.resvOwner) return chg === 0;
  return false;
}

/** mm/hugetlb.c hugetlb_acct_memory() @ v5.6 (gather_surplus_pages / return_unused_surplus_pages), under hugetlb_lock. */
export function* hugetlbAcctMemory(c: Ctx, delta: number, fn = 'hugetlb_acct_memory'): KGen<boolean> {
  let ok = true;
  yield* underHugetlbLock(c, fn, `hugetlb_acct_memory(${delta})`, () => {
    const h = c.k.hstate;
    if (delta > 0) {
      let needed = h.resv + delta - h.free;
      while (needed > 0 && h.surplus < h.overcommit) {
        h.addPage(true);
        needed--;
      }
      if (needed > 0) {
        ok = false;
        return;
      }
      h.resv += delta;
    } else if (delta < 0) {
      h.resv += delta;
      returnUnusedSurplus(c);
    }
  });
  return ok;
}

function returnUnusedSurplus(c: Ctx): void {
  const h = c.k.hstate;
  // Free surplus pages that are free and not needed for reserves.
  for (let i = h.freeList.length - 1; i >= 0 && h.surplus > 0 && h.free > h.resv; i--) {
    const p = h.freeList[i]!;
    if (!p.surplus) continue;
    h.freeList.splice(i, 1);
    h.free--;
    h.nr--;
    h.surplus--;
    p.free = false;
    p.surplus = false;
    (p as { retired?: boolean }).retired = true;
  }
}

/** mm/hugetlb.c alloc_huge_page() @ v5.6: consume a reservation (PagePrivate, resv--) or a free page. Returns null for -ENOSPC. */
export function* allocHugePage(c: Ctx, vma: Vma, addr: number, avoidReserve: boolean): KGen<HugePage | null> {
  const fn = 'alloc_huge_page';
  const mapChg = yield* vmaNeedsReservation(c, vma, addr);
  if (mapChg < 0) return null;
  const gblChg = mapChg || avoidReserve ? 1 : 0;
  let page: HugePage | null = null;
  yield* underHugetlbLock(c, 'dequeue_huge_page_vma', 'dequeue_huge_page_vma()', () => {
    const h = c.k.hstate;
    const hasRes = !avoidReserve && vmaHasReserves(vma, gblChg);
    if (!hasRes && h.free - h.resv <= 0) {
      // alloc_buddy_huge_page_with_mpol(): a surplus page, if overcommit allows
      if (h.surplus < h.overcommit) {
        const p = h.addPage(true);
        page = h.dequeue();
        if (page !== p && page) page = page;
      }
      if (page) (page as HugePage).refcount = 1;
      return;
    }
    page = h.dequeue();
    if (!page) return;
    page.refcount = 1;
    if (hasRes) {
      page.restoreReserve = true;
      h.resv--;
    }
  });
  if (!page) {
    yield* vmaEndReservation(c, vma, addr);
    return null;
  }
  const p: HugePage = page;
  yield* wr(c, fn, p.objId, `alloc page ${p.id}`, 'allocPage');
  const mapCommit = yield* vmaCommitReservation(c, vma, addr);
  if (mapChg > mapCommit) {
    // Raced with hugetlb_reserve_pages(): the reservation we did not use goes back.
    yield* hugetlbAcctMemory(c, -1, fn);
  }
  return p;
}

/** mm/hugetlb.c free_huge_page() @ v5.6: back to the pool; a page that consumed a reservation restores it. */
export function* freeHugePage(c: Ctx, page: HugePage, fn = 'free_huge_page'): KGen {
  yield* underHugetlbLock(c, fn, `free_huge_page(${page.id})`, () => {
    const h = c.k.hstate;
    if (page.restoreReserve) h.resv++;
    page.restoreReserve = false;
    page.mapping = null;
    page.index = -1;
    page.anon = false;
    page.anonVma = null;
    if (page.surplus && h.surplus > 0 && h.free >= h.resv) {
      h.nr--;
      h.surplus--;
      page.surplus = false;
      (page as { retired?: boolean }).retired = true;
      return;
    }
    h.enqueue(page);
  });
}

/** put_page() on a huge page: the last reference frees it. */
export function* putPage(c: Ctx, page: HugePage, fn: string): KGen {
  let last = false;
  yield {
    fn,
    obj: page.objId,
    access: 'write',
    label: () => `put_page(${page.id})`,
    cost: 'atomic',
    run: () => {
      page.refcount--;
      if (page.refcount < 0) c.k.report({ kind: 'refcount', message: `page ${page.id} refcount went negative in ${fn}`, thread: c.t.name, fn });
      last = page.refcount === 0;
    },
  };
  if (last) yield* freeHugePage(c, page);
}

/** mm/hugetlb.c restore_reserve_on_error() @ v5.6 */
export function* restoreReserveOnError(c: Ctx, vma: Vma, addr: number, page: HugePage): KGen {
  if (!page.restoreReserve) return;
  const rc = yield* vmaNeedsReservation(c, vma, addr);
  if (rc < 0) page.restoreReserve = false;
  else if (rc) {
    const r2 = yield* vmaAddReservation(c, vma, addr);
    if (r2 < 0) page.restoreReserve = false;
  } else yield* vmaEndReservation(c, vma, addr);
}

/** mm/hugetlb.c hugetlb_reserve_pages() @ v5.6: at mmap, reserve [from, to) for the mapping. false = -ENOMEM. */
export function* hugetlbReservePages(c: Ctx, inode: Inode, from: number, to: number, vma: Vma): KGen<boolean> {
  const fn = 'hugetlb_reserve_pages';
  let chg: number;
  let resv: ResvMap;
  if (vma.flags.mayshare) {
    resv = inode.resvMap;
    yield* lockIt(c, resv.lock, 'write', fn);
    let r = 0;
    yield { fn, obj: resv.objId, access: 'write', label: `region_chg(${from}, ${to})`, run: () => (r = resv.regionChg(from, to)) };
    yield* unlockIt(c, resv.lock, 'write', fn);
    chg = r;
  } else {
    resv = new ResvMap(`vma#${vma.id}`);
    vma.resvMap = resv;
    vma.resvOwner = true;
    chg = to - from;
  }
  const ok = yield* hugetlbAcctMemory(c, chg, fn);
  if (!ok) {
    if (vma.flags.mayshare) resv.regionAbort();
    return false;
  }
  if (vma.flags.mayshare) {
    yield* lockIt(c, resv.lock, 'write', fn);
    let add = 0;
    yield { fn, obj: resv.objId, access: 'write', label: `region_add(${from}, ${to})`, run: () => (add = resv.regionAdd(from, to)) };
    yield* unlockIt(c, resv.lock, 'write', fn);
    if (chg > add) yield* hugetlbAcctMemory(c, -(chg - add), fn);
  }
  return true;
}

/** mm/hugetlb.c hugetlb_unreserve_pages() @ v5.6: after removing pages [start, end), give back the reservations never used. */
export function* hugetlbUnreservePages(c: Ctx, inode: Inode, start: number, end: number, freed: number): KGen {
  const fn = 'hugetlb_unreserve_pages';
  const resv = inode.resvMap;
  let chg = 0;
  yield* lockIt(c, resv.lock, 'write', fn);
  yield { fn, obj: resv.objId, access: 'write', label: `region_del(${start}, ${end === Number.MAX_SAFE_INTEGER ? 'LONG_MAX' : end})`, run: () => (chg = resv.regionDel(start, end)) };
  yield* unlockIt(c, resv.lock, 'write', fn);
  yield* lockIt(c, inode.iLock, 'write', fn);
  yield { fn, obj: inode.objId, access: 'write', label: `i_blocks -= ${freed}`, run: () => (inode.blocks -= freed) };
  yield* unlockIt(c, inode.iLock, 'write', fn);
  if (chg - freed !== 0) yield* hugetlbAcctMemory(c, -(chg - freed), fn);
}

/** Private vma teardown: hugetlb_vm_op_close() @ v5.6 returns the owner's unused reservations. */
export function* hugetlbVmOpClose(c: Ctx, vma: Vma): KGen {
  if (!vma.resvOwner || !vma.resvMap) return;
  const start = vma.hugeIndex(vma.start);
  const end = vma.hugeIndex(vma.end - 1) + 1;
  const reserve = end - start - vma.resvMap.covered(start, end);
  vma.resvMap = null;
  vma.resvOwner = false;
  if (reserve > 0) yield* hugetlbAcctMemory(c, -reserve, 'hugetlb_vm_op_close');
}
