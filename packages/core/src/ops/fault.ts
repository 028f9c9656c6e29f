/** The hugetlb fault path: hugetlb_fault, hugetlb_no_page, hugetlb_cow (mm/hugetlb.c). */
import type { KGen, Step } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd, upd, work, trylockIt } from './ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import { HPAGE_SIZE, hpageAlignDown, pmdIndex, pudIndex } from '../model/constants.js';
import { PTE_DIRTY, PTE_HWPOISON, PTE_PRESENT, PTE_WRITE, isHwpoisonEntry, isMigrationEntry, type PmdTable, type PtePtr } from '../model/pgtable.js';
import type { HugePage } from '../model/page.js';
import { hex, hugePteAlloc, hugePteLock, hugePteOffset, hugePteUnlock, ptepGet, ptepSet, tableOf, type PteVal } from './pgtable.js';
import { allocHugePage, putPage, restoreReserveOnError, vmaEndReservation, vmaNeedsReservation } from './resv.js';
import { findLockPage, hugeAddToPageCache, removeHugePage } from './pagecache.js';
import { tlbOf } from '../model/tlb.js';
import { hugetlbNoPageUserfault, takeMmapDropped, userfaultfdMissing } from './uffd.js';
import { anonVmaPrepare, setPageAnonRmap } from './rmap.js';
import { migrationEntryWaitHuge } from './migrate.js';

export type FaultResult = 'ok' | 'sigbus' | 'oom' | 'hwpoison' | 'retry';

const isNone = (v: PteVal) => v.page === 0 && v.flags === 0;

/** The page an entry maps. */
function pageOf(c: Ctx, v: PteVal): HugePage | null {
  return v.page ? (c.k.hstate.pages[v.page - 1] ?? null) : null;
}

/** mm/hugetlb.c hugetlb_fault() @ v5.6, with the design's hooks where 5.7, hinode and 6.1 differ. */
export function* hugetlbFault(c: Ctx, mm: Mm, vma: Vma, address: number, write: boolean): KGen<FaultResult> {
  const fn = 'hugetlb_fault';
  const s = c.k.strategy;
  const f = s.features;
  const haddr = hpageAlignDown(address);
  c.k.bus.emit('fault:begin', c.t, mm, address);
  let early: PtePtr | null = null;
  if (f.faultLocklessWalk) {
    // The lockless look for a migration or hwpoison entry ("ptep could be stale"); the RCU design wraps it.
    if (s.walkBegin) yield* s.walkBegin(c, vma, 'sleepable');
    early = yield* hugePteOffset(c, mm, haddr, fn);
    let e: PteVal | null = null;
    if (early) e = yield* ptepGet(c, early, fn, true);
    if (s.walkEnd) yield* s.walkEnd(c, vma, 'sleepable');
    if (e && isMigrationEntry(e.flags)) {
      // migration_entry_wait_huge(vma, mm, ptep) through the lockless pointer; the access is retried.
      yield* migrationEntryWaitHuge(c, vma, early!);
      c.k.bus.emit('fault:end', c.t, mm, address, 'retry');
      return 'retry';
    }
    if (e && e.flags & PTE_HWPOISON) {
      c.k.bus.emit('fault:end', c.t, mm, address, 'hwpoison');
      return 'hwpoison';
    }
  }
  if (s.faultEnter) yield* s.faultEnter(c, vma, haddr);
  let ptep: PtePtr | null = null;
  if (!f.pteAllocUnderFaultMutex) ptep = f.faultUsesLocklessPte && early ? early : yield* hugePteAlloc(c, mm, vma, haddr);

  const inode = vma.file;
  const idx = vma.hugeIndex(haddr);
  const mutex = c.k.faultMutex(inode, idx);
  yield* lockIt(c, mutex, 'write', fn);
  if (s.faultLocked) yield* s.faultLocked(c, vma, haddr);
  if (f.pteAllocUnderFaultMutex) ptep = yield* hugePteAlloc(c, mm, vma, haddr);
  const p = ptep!;

  let ret: FaultResult = 'ok';
  const entry = yield* ptepGet(c, p, fn);
  if (!f.faultLocklessWalk && !isNone(entry) && !(entry.flags & PTE_PRESENT)) {
    // v6.3 (with the lockless walk gone): swap entries are handled here, under the fault mutex and the vma lock.
    if (isMigrationEntry(entry.flags)) {
      // "Release the hugetlb fault lock now, but retain the vma lock": migration_entry_wait_huge() drops it.
      yield* unlockIt(c, mutex, 'write', fn);
      yield* migrationEntryWaitHuge(c, vma, p, true);
      c.k.bus.emit('fault:end', c.t, mm, address, 'retry');
      return 'retry';
    }
    if (isHwpoisonEntry(entry.flags)) ret = 'hwpoison';
  } else if (isNone(entry)) {
    ret = yield* hugetlbNoPage(c, mm, vma, idx, address, p, write);
  } else if (entry.flags & PTE_PRESENT) {
    let pagecachePage: HugePage | null = null;
    if (write && !(entry.flags & PTE_WRITE)) {
      const r = yield* vmaNeedsReservation(c, vma, haddr);
      if (r < 0) ret = 'oom';
      else {
        yield* vmaEndReservation(c, vma, haddr);
        if (!vma.flags.mayshare) pagecachePage = yield* findLockPage(c, inode, idx, 'hugetlbfs_pagecache_page');
      }
    }
    if (ret === 'ok') {
      yield* hugePteLock(c, p, fn);
      const now = yield* ptepGet(c, p, fn);
      if (now.page === entry.page && now.flags === entry.flags) {
        const page = pageOf(c, entry)!;
        let locked = true;
        if (page !== pagecachePage) locked = yield* trylockIt(c, page.lock, 'write', fn);
        if (locked) {
          yield* upd(c, fn, page.objId, () => `get_page(${page.id})`, 'atomic');
          page.refcount++;
          if (write && !(entry.flags & PTE_WRITE)) {
            ret = yield* hugetlbCow(c, mm, vma, haddr, p, pagecachePage);
          } else {
            yield* ptepSet(c, p, { page: entry.page, flags: entry.flags | (write ? PTE_DIRTY : 0) }, fn, 'huge_ptep_set_access_flags');
          }
          if (page !== pagecachePage) yield* unlockIt(c, page.lock, 'write', fn);
          yield* putPage(c, page, fn);
        }
        // else: need_wait_lock; the caller retries the access.
      }
      yield* hugePteUnlock(c, p, fn);
    }
    if (pagecachePage) {
      yield* unlockIt(c, pagecachePage.lock, 'write', fn);
      yield* putPage(c, pagecachePage, fn);
    }
  }
  if (s.faultUnlocking) yield* s.faultUnlocking(c, vma, haddr);
  yield* unlockIt(c, mutex, 'write', fn);
  if (s.faultExit) yield* s.faultExit(c, vma, haddr);
  c.k.bus.emit('fault:end', c.t, mm, address, ret);
  return ret;
}

/** mm/hugetlb.c hugetlb_no_page() @ v5.6, with the i_size checks and backout each design has. */
export function* hugetlbNoPage(c: Ctx, mm: Mm, vma: Vma, idx: number, address: number, ptep: PtePtr, write: boolean): KGen<FaultResult> {
  const fn = 'hugetlb_no_page';
  const f = c.k.strategy.features;
  const inode = vma.file;
  const haddr = hpageAlignDown(address);
  if (vma.resvUnmapped) return 'sigbus';
  const sizePages = () => Math.floor(inode.size / HPAGE_SIZE);
  if (f.sizeCheck === 'before-lookup') {
    let size = 0;
    yield { fn, obj: inode.sizeObj, access: 'read', label: 'i_size_read()', run: () => (size = sizePages()) };
    if (idx >= size) return 'sigbus';
  }
  let page: HugePage | null = null;
  let newPage = false;
  let inCache = false;
  let anonRmap = false;
  /** hinode 4/4 records whether the allocation consumed a reservation (reserve_alloc). */
  let reserveAlloc = false;
  for (;;) {
    page = yield* findLockPage(c, inode, idx);
    if (page) {
      // "If memory error occurs between mmap() and fault": block the fault by the PG_hwpoison check.
      // Read with the page locked, as part of the lock step (no scheduling point of its own, so the
      // fault's step sequence and timing are unchanged when no page is poisoned).
      if (page.hwpoison) {
        yield* unlockIt(c, page.lock, 'write', fn);
        yield* putPage(c, page, fn);
        return 'hwpoison';
      }
      break;
    }
    if (f.sizeCheck === 'when-absent') {
      let size = 0;
      yield { fn, obj: inode.sizeObj, access: 'read', label: 'i_size_read() [check #1]', run: () => (size = sizePages()) };
      if (idx >= size) return 'sigbus';
    }
    // "Check for page in userfault range": the monitor provides the page (ops/uffd.ts).
    if (userfaultfdMissing(vma)) return yield* hugetlbNoPageUserfault(c, mm, vma, idx, address);
    const np = yield* allocHugePage(c, vma, haddr, false);
    if (!np) return 'oom';
    reserveAlloc = np.restoreReserve;
    yield* work(c, fn, `clear_huge_page(${np.id})`, 'clearHugePage');
    newPage = true;
    if (vma.flags.mayshare) {
      const ok = yield* hugeAddToPageCache(c, np, inode, idx);
      if (!ok) {
        yield* putPage(c, np, fn);
        continue; // -EEXIST: retry
      }
      inCache = true;
    } else {
      yield* lockIt(c, np.lock, 'write', fn);
      // anon_vma_prepare(): a private mapping gets its anon_vma at the first anonymous page.
      if (!vma.anonVma) yield* anonVmaPrepare(c, vma);
      anonRmap = true;
    }
    page = np;
    break;
  }
  const pg: HugePage = page!;
  if (write && !vma.flags.shared) {
    const r = yield* vmaNeedsReservation(c, vma, haddr);
    if (r < 0) {
      yield* unlockIt(c, pg.lock, 'write', fn);
      if (newPage && !inCache) yield* restoreReserveOnError(c, vma, haddr, pg);
      yield* putPage(c, pg, fn);
      return 'oom';
    }
    yield* vmaEndReservation(c, vma, haddr);
  }
  yield* hugePteLock(c, ptep, fn);
  let beyond = false;
  if (f.sizeRecheckUnderPtl) {
    let size = 0;
    yield { fn, obj: inode.sizeObj, access: 'read', label: 'i_size_read() [check #2]', run: () => (size = sizePages()) };
    beyond = idx >= size;
  }
  const cur = beyond ? null : yield* ptepGet(c, ptep, fn);
  if (beyond || (cur && !isNone(cur))) {
    // backout
    yield* hugePteUnlock(c, ptep, fn);
    if (beyond && newPage && inCache && f.backoutDeletesBeyondEof) {
      // hinode 4/4: take the page back out of the page cache; the reserve it consumed is restored at free.
      yield* removeHugePage(c, inode, pg, fn);
      if (reserveAlloc) pg.restoreReserve = true;
      yield* unlockIt(c, pg.lock, 'write', fn);
      yield* putPage(c, pg, fn);
      return 'sigbus';
    }
    yield* unlockIt(c, pg.lock, 'write', fn);
    if (!(beyond && f.backoutDeletesBeyondEof)) yield* restoreReserveOnError(c, vma, haddr, pg);
    yield* putPage(c, pg, fn);
    return beyond ? 'sigbus' : 'ok';
  }
  let ret: FaultResult = 'ok';
  if (anonRmap) {
    pg.restoreReserve = false;
    setPageAnonRmap(pg, vma, haddr);
  }
  yield* upd(c, fn, pg.objId, anonRmap ? 'hugepage_add_new_anon_rmap()' : 'page_dup_rmap()', 'atomic');
  pg.mapcount++;
  if (!newPage) {
    // The page was found in the cache: its find reference becomes the mapping's.
  }
  const writable = vma.flags.write && vma.flags.shared;
  yield* ptepSet(c, ptep, { page: pg.id, flags: PTE_PRESENT | (writable ? PTE_WRITE : 0) | (write && writable ? PTE_DIRTY : 0) }, fn);
  mm.hugetlbRss++;
  if (write && !vma.flags.shared && !anonRmap) {
    ret = yield* hugetlbCow(c, mm, vma, haddr, ptep, pg);
  } else if (write && !vma.flags.shared && anonRmap) {
    // A new private anon page is mapped writable at once (make_huge_pte with the vma's write bit).
    yield* ptepSet(c, ptep, { page: pg.id, flags: PTE_PRESENT | PTE_WRITE | PTE_DIRTY }, fn, 'huge_pte_mkwrite');
  }
  yield* hugePteUnlock(c, ptep, fn);
  yield* unlockIt(c, pg.lock, 'write', fn);
  return ret;
}

/**
 * mm/hugetlb.c hugetlb_cow() @ v5.6: entered and left with the PTL held. Copies the page for a
 * private write; drops the PTL around the allocation and re-walks after.
 */
export function* hugetlbCow(c: Ctx, mm: Mm, vma: Vma, haddr: number, ptep: PtePtr, pagecachePage: HugePage | null): KGen<FaultResult> {
  const fn = 'hugetlb_cow';
  const pte = yield* ptepGet(c, ptep, fn);
  const old = pageOf(c, pte)!;
  if (old.mapcount === 1 && old.anon) {
    yield* ptepSet(c, ptep, { page: pte.page, flags: pte.flags | PTE_WRITE | PTE_DIRTY }, fn, 'set_huge_ptep_writable');
    return 'ok';
  }
  const outsideReserve = vma.resvOwner && old !== pagecachePage;
  yield* upd(c, fn, old.objId, `get_page(${old.id})`, 'atomic');
  old.refcount++;
  yield* hugePteUnlock(c, ptep, fn);
  const np = yield* allocHugePage(c, vma, haddr, outsideReserve);
  if (!np) {
    // unmap_ref_private() (stealing the page from other private mappers) is not modelled: report OOM.
    yield* putPage(c, old, fn);
    yield* hugePteLock(c, ptep, fn);
    return 'oom';
  }
  yield* work(c, fn, `copy_user_huge_page(${old.id} -> ${np.id})`, 'copyHugePage');
  yield* hugePteLock(c, ptep, fn);
  const again = yield* hugePteOffset(c, mm, haddr, fn);
  let done = false;
  if (again) {
    const v = yield* ptepGet(c, again, fn);
    if (v.page === pte.page && v.flags === pte.flags) {
      np.restoreReserve = false;
      yield* ptepSet(c, again, { page: np.id, flags: PTE_PRESENT | PTE_WRITE | PTE_DIRTY }, fn);
      yield* upd(c, fn, old.objId, `page_remove_rmap(${old.id})`, 'atomic');
      old.mapcount--;
      old.refcount--; // the mapping's reference moves to the new page
      np.mapcount++;
      setPageAnonRmap(np, vma, haddr);
      done = true;
    }
  }
  if (!done) {
    yield* restoreReserveOnError(c, vma, haddr, np);
    yield* putPage(c, np, fn);
  }
  yield* putPage(c, old, fn);
  return 'ok';
}

/**
 * User access: the MMU walks the page table (sharing included) and faults only where no usable
 * PTE is present. Its two steps are MmuWalk's; the workload's touch loop yields them itself.
 */
export function* hardwareWalk(c: Ctx, mm: Mm, addr: number, write: boolean): KGen<boolean> {
  const w = new MmuWalk(c, mm, addr, write);
  yield w.pudStep();
  const s = w.pmdStep();
  if (!s) return false;
  yield s;
  return w.ok;
}

/**
 * The hardware page-table walk of one user access (hardwareWalk) as plain steps, for a caller
 * that yields them itself: a touch of a whole mapping makes millions, and a generator frame less
 * per step counts. pudStep() is huge_pte_offset()'s pud read (ops/pgtable.ts); once it ran,
 * pmdStep() is the read of the PMD entry (null without a table); once that ran, `ok` tells
 * whether the entry allows the access. The steps are class instances (labels are getters): no
 * closure per step.
 */
export class MmuWalk {
  readonly haddr: number;
  /** A flush IPI is taken between instructions, never inside a walk: the mm's flush count at the start. */
  readonly epoch: number;
  /** The PMD table the pud entry names (set by the pud step). */
  table: PmdTable | null = null;
  ok = false;
  constructor(
    readonly c: Ctx,
    readonly mm: Mm,
    addr: number,
    readonly write: boolean,
  ) {
    this.haddr = hpageAlignDown(addr);
    this.epoch = c.t.cachesTranslations ? tlbOf(c.k).epoch(mm) : 0;
  }
  pudStep(): Step {
    return new WalkPudStep(this);
  }
  pmdStep(): Step | null {
    return this.table ? new WalkPmdStep(this, this.table) : null;
  }
}

/** The walk's read of the pud entry (huge_pte_offset, the lockless walk pgd -> pud). */
class WalkPudStep implements Step {
  readonly fn = 'mmu_walk';
  readonly obj: string;
  readonly access = 'read';
  readonly cost = 'ptWalk';
  constructor(private readonly w: MmuWalk) {
    this.obj = w.mm.pudObj(pudIndex(w.haddr));
  }
  get label(): string {
    return `huge_pte_offset(${this.w.mm.name}, ${hex(this.w.haddr)})`;
  }
  run(): void {
    this.w.table = tableOf(this.w.mm, this.w.haddr);
  }
}

/** The walk's read of the PMD entry, and the TLB fill when it allows the access. */
class WalkPmdStep implements Step {
  readonly fn = 'mmu_walk';
  readonly obj: string;
  readonly access = 'read';
  readonly cost = 'userAccess';
  /** The table the entry is part of (engine/dpor.ts: freeing it conflicts with the entry). */
  readonly parent: string;
  private readonly gen: number;
  private readonly index: number;
  constructor(
    private readonly w: MmuWalk,
    private readonly table: PmdTable,
  ) {
    this.index = pmdIndex(w.haddr);
    this.obj = table.slotObj(this.index);
    this.parent = table.objId;
    this.gen = table.gen;
  }
  get label(): string {
    return `MMU reads pmd${this.table.pfn}[${this.index}]`;
  }
  run(): void {
    const { w, table, index } = this;
    const fl = table.flags[index]!;
    const ok = (w.ok = (fl & PTE_PRESENT) !== 0 && (!w.write || (fl & PTE_WRITE) !== 0));
    // The CPU caches what it walked (model/tlb.ts), unless a flush reached it during the walk:
    // used by later accesses until a flush.
    const { c, mm } = w;
    if (ok && c.t.cachesTranslations && tlbOf(c.k).epoch(mm) === w.epoch) {
      const page = c.k.hstate.pages[table.page[index]! - 1];
      if (page) tlbOf(c.k).fill(c.t, mm, w.haddr, table, this.gen, page, page.gen, (fl & PTE_WRITE) !== 0, page.mapping);
    }
  }
}

/** Read the pte under mmap_lock for the fault: arch/x86/mm/fault.c do_user_addr_fault -> handle_mm_fault @ v5.6. */
export function* handleMmFault(c: Ctx, mm: Mm, addr: number, write: boolean): KGen<FaultResult> {
  yield* lockIt(c, mm.mmapLock, 'read', 'do_user_addr_fault');
  yield* rd(c, 'find_vma', mm.objId, `find_vma(${mm.name})`);
  const vma = mm.findVma(addr);
  let r: FaultResult;
  if (!vma) r = 'sigbus';
  else if (write && !vma.flags.write) r = 'sigbus';
  else r = yield* hugetlbFault(c, mm, vma, addr, write);
  // handle_userfault() released mmap_lock before sleeping (VM_FAULT_RETRY): nothing to unlock.
  if (!takeMmapDropped(c.t)) yield* unlockIt(c, mm.mmapLock, 'read', 'do_user_addr_fault');
  return r;
}
