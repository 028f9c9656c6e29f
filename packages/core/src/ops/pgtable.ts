/** Page-table paths: huge_pte_offset, huge_pte_alloc, huge_pmd_share, huge_pmd_unshare, pte access through pointers. */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd } from './ctx.js';
import { PUD_SIZE, pmdIndex, pudAlignDown, pudIndex, PAGE_SHIFT } from '../model/constants.js';
import type { Mm, Vma } from '../model/mm.js';
import type { PmdTable, PtePtr } from '../model/pgtable.js';
import type { PteAccessEvent } from '../engine/events.js';

export interface PteVal {
  page: number;
  flags: number;
}

/** A pte pointer into `table` for addr (huge_pte_offset's result, or a walk's). */
export function makePtr(table: PmdTable, mm: Mm, addr: number): PtePtr {
  return { table, gen: table.gen, index: pmdIndex(addr), mm, addr };
}

/**
 * A dereference of a pte pointer, for the checkers (pte:access). The payload is built only when
 * one listens: ptepGet/ptepSet/hugePteLock run at nearly every fault step of a timed run.
 */
function ptAccess(c: Ctx, ptep: PtePtr, write: boolean, fn: string, what: PteAccessEvent['what'], speculative = false): void {
  if (c.k.bus.listenerCount('pte:access') > 0) c.k.bus.emit('pte:access', { t: c.t, ptep, write, fn, what, speculative });
}

/** The PMD table mm maps at addr now (pud_offset + pmd_offset), or null. */
export function tableOf(mm: Mm, addr: number): PmdTable | null {
  return mm.pud.get(pudIndex(addr)) ?? null;
}

/** mm/hugetlb.c huge_pte_offset() @ v5.6: lockless walk pgd -> pud -> pmd; NULL if pud_none. */
export function* hugePteOffset(_c: Ctx, mm: Mm, addr: number, fn = 'huge_pte_offset'): KGen<PtePtr | null> {
  let found: PmdTable | null = null;
  yield {
    fn,
    obj: mm.pudObj(pudIndex(addr)),
    access: 'read',
    label: () => `huge_pte_offset(${mm.name}, ${hex(addr)})`,
    cost: 'ptWalk',
    run: () => {
      found = tableOf(mm, addr);
    },
  };
  const t: PmdTable | null = found;
  return t ? makePtr(t, mm, addr) : null;
}

/** huge_ptep_get() @ v5.6: read the entry through a pte pointer. */
export function* ptepGet(c: Ctx, p: PtePtr, fn: string, speculative = false): KGen<PteVal> {
  let v: PteVal = { page: 0, flags: 0 };
  yield {
    fn,
    obj: p.table.slotObj(p.index),
    parent: p.table.objId,
    access: 'read',
    label: () => `huge_ptep_get(${p.mm.name} ${hex(p.addr)} -> pmd${p.table.pfn}[${p.index}])`,
    cost: 'step',
    run: () => {
      ptAccess(c, p, false, fn, 'read', speculative);
      v = { page: p.table.page[p.index]!, flags: p.table.flags[p.index]! };
    },
  };
  return v;
}

/** set_huge_pte_at() / huge_pte_clear() @ v5.6: write the entry through a pte pointer. */
export function* ptepSet(c: Ctx, p: PtePtr, v: PteVal, fn: string, label = 'set_huge_pte_at'): KGen {
  yield {
    fn,
    obj: p.table.slotObj(p.index),
    parent: p.table.objId,
    access: 'write',
    label: () => `${label}(${p.mm.name} ${hex(p.addr)} -> pmd${p.table.pfn}[${p.index}])`,
    cost: 'pteUpdate',
    run: () => {
      ptAccess(c, p, true, fn, 'write');
      p.table.page[p.index] = v.page;
      p.table.flags[p.index] = v.flags;
    },
  };
}

/**
 * include/linux/hugetlb.h huge_pte_lock() @ v5.6: the split PMD lock of the table the pointer is in.
 * `speculative`: a walker that only reads the entry under the lock (see PteAccessEvent).
 */
export function* hugePteLock(c: Ctx, p: PtePtr, fn: string, speculative = false): KGen {
  yield {
    fn,
    obj: p.table.objId,
    access: 'read',
    label: () => `huge_pte_lockptr(pmd${p.table.pfn})`,
    cost: 'step',
    run: () => ptAccess(c, p, false, fn, 'ptl', speculative),
  };
  yield* lockIt(c, p.table.ptl, 'write', fn);
}

/** include/linux/hugetlb.h huge_pte_lock()'s spin_unlock(ptl) @ v5.6 (the unlock's own generator: no frame of its own). */
export function hugePteUnlock(c: Ctx, p: PtePtr, fn: string): KGen {
  return unlockIt(c, p.table.ptl, 'write', fn);
}

/** mm/hugetlb.c vma_shareable() @ v5.6: VM_MAYSHARE and the whole PUD-aligned range around addr inside the vma. */
export function vmaShareable(c: Ctx, vma: Vma, addr: number): boolean {
  const base = pudAlignDown(addr);
  const end = base + PUD_SIZE;
  if (!vma.flags.mayshare) return false;
  if (!(base >= vma.start && end <= vma.end)) return false;
  return c.k.strategy.vmaMayShare ? c.k.strategy.vmaMayShare(vma) : true;
}

/** mm/hugetlb.c page_table_shareable() @ v5.6: the address in svma of file page idx, if its PUD range can be shared with vma's. */
export function pageTableShareable(c: Ctx, svma: Vma, vma: Vma, addr: number, idx4k: number): number {
  const saddr = (idx4k - svma.pgoff) * 2 ** PAGE_SHIFT + svma.start;
  const sbase = pudAlignDown(saddr);
  const send = sbase + PUD_SIZE;
  if (pmdIndex(addr) !== pmdIndex(saddr)) return 0;
  if (svma.flags.mayshare !== vma.flags.mayshare || svma.flags.write !== vma.flags.write || svma.flags.shared !== vma.flags.shared) return 0;
  if (sbase < svma.start || svma.end < send) return 0;
  if (!svma.flags.mayshare) return 0;
  if (c.k.strategy.vmaMayShare && !c.k.strategy.vmaMayShare(svma)) return 0;
  return saddr;
}

/** mm/memory.c __pmd_alloc() @ v5.6: allocate a table, populate the pud under page_table_lock unless someone beat us. */
export function* pmdAlloc(c: Ctx, mm: Mm, addr: number, fn = 'pmd_alloc'): KGen<PtePtr> {
  const pi = pudIndex(addr);
  const existing = yield* hugePteOffset(c, mm, addr, fn);
  if (existing) return existing;
  const fresh = c.k.tables.alloc();
  yield { fn: '__pmd_alloc', obj: fresh.objId, access: 'write', label: `pmd_alloc_one() -> pmd${fresh.pfn}`, cost: 'allocTable' };
  yield* lockIt(c, mm.pageTableLock, 'write', '__pmd_alloc');
  let won = false;
  yield {
    fn: '__pmd_alloc',
    obj: mm.pudObj(pi),
    access: 'write',
    label: `pud_populate(${mm.name}, pmd${fresh.pfn})`,
    cost: 'pteUpdate',
    run: () => {
      if (!mm.pud.has(pi)) {
        mm.pud.set(pi, fresh);
        mm.nrPmds++;
        won = true;
      }
    },
  };
  yield* unlockIt(c, mm.pageTableLock, 'write', '__pmd_alloc');
  if (!won) {
    c.k.tables.release(fresh);
    return (yield* hugePteOffset(c, mm, addr, fn))!;
  }
  return makePtr(fresh, mm, addr);
}

/** mm/hugetlb.c huge_pmd_share() @ v5.6 (i_mmap_rwsem taken here unless the design holds it across the fault, 5.7..6.0). */
export function* hugePmdShare(c: Ctx, mm: Mm, vma: Vma, addr: number): KGen<PtePtr> {
  const fn = 'huge_pmd_share';
  const inode = vma.file;
  const idx4k = Math.floor((addr - vma.start) / 2 ** PAGE_SHIFT) + vma.pgoff;
  if (!vmaShareable(c, vma, addr)) return yield* pmdAlloc(c, mm, addr);
  const takeIMmap = c.k.strategy.features.pmdShareTakesIMmap;
  if (takeIMmap) yield* lockIt(c, inode.iMmapRwsem, 'read', fn);
  yield* rd(c, fn, inode.iMmapObj, 'vma_interval_tree_foreach(i_mmap)');
  let spte: PtePtr | null = null;
  for (const svma of inode.iMmap.slice()) {
    if (svma === vma) continue;
    const fileHuge = Math.floor(idx4k / 512);
    if (svma.addrOfIndex(fileHuge) < 0) continue;
    const saddr = pageTableShareable(c, svma, vma, addr, idx4k);
    if (!saddr) continue;
    const p = yield* hugePteOffset(c, svma.mm, saddr, fn);
    if (p) {
      // get_page(virt_to_page(spte))
      yield {
        fn,
        obj: p.table.refObj,
        access: 'write',
        label: `get_page(pmd${p.table.pfn}) [share with ${svma.mm.name}]`,
        cost: 'atomic',
        line: p.table.objId,
        run: () => {
          ptAccess(c, p, true, fn, 'ptl');
          p.table.refcount++;
        },
      };
      spte = p;
      break;
    }
  }
  if (spte) {
    const s = spte;
    yield* hugePteLock(c, s, fn);
    const pi = pudIndex(addr);
    yield {
      fn,
      obj: mm.pudObj(pi),
      access: 'write',
      label: `pud_populate(${mm.name}, pmd${s.table.pfn}) or put_page`,
      cost: 'pteUpdate',
      run: () => {
        if (!mm.pud.has(pi)) {
          mm.pud.set(pi, s.table);
          mm.nrPmds++;
        } else {
          s.table.refcount--;
        }
      },
    };
    yield* hugePteUnlock(c, s, fn);
  }
  const pte = yield* pmdAlloc(c, mm, addr);
  if (takeIMmap) yield* unlockIt(c, inode.iMmapRwsem, 'read', fn);
  return pte;
}

/** mm/hugetlb.c huge_pte_alloc() @ v5.6: share a PMD table if possible, otherwise allocate one. */
export function* hugePteAlloc(c: Ctx, mm: Mm, vma: Vma, addr: number): KGen<PtePtr> {
  const pi = pudIndex(addr);
  yield* rd(c, 'huge_pte_alloc', mm.pudObj(pi), () => `pud_alloc(${mm.name}, ${hex(addr)})`, 'ptWalk');
  if (!mm.pud.has(pi) && vmaShareable(c, vma, addr)) return yield* hugePmdShare(c, mm, vma, addr);
  return yield* pmdAlloc(c, mm, addr);
}

/**
 * mm/hugetlb.c huge_pmd_unshare() @ v5.6: called with the PTL held. If the table is shared,
 * clear this mm's pud and drop one reference; return true.
 */
export function* hugePmdUnshare(c: Ctx, mm: Mm, addr: number, p: PtePtr): KGen<boolean> {
  const fn = 'huge_pmd_unshare';
  let shared = false;
  yield {
    fn,
    obj: p.table.refObj,
    access: 'read',
    label: () => `page_count(pmd${p.table.pfn})`,
    cost: 'step',
    run: () => {
      // page_count() is an atomic read of the table page's refcount, not of a PTE (move_hugetlb_page_tables calls this without the PTL).
      ptAccess(c, p, false, fn, 'ptl');
      shared = p.table.refcount > 1;
    },
  };
  if (!shared) return false;
  const pi = pudIndex(addr);
  yield {
    fn,
    obj: mm.pudObj(pi),
    access: 'write',
    label: `pud_clear(${mm.name}, ${hex(pudAlignDown(addr))}) [unshare pmd${p.table.pfn}]`,
    cost: 'pteUpdate',
    run: () => {
      if (mm.pud.get(pi) === p.table) {
        mm.pud.delete(pi);
        mm.nrPmds--;
      }
    },
  };
  yield* putTable(c, p.table, fn);
  return true;
}

/** put_page() on a page-table page: the last reference frees it (at once, or after a grace period, as the design says). */
export function* putTable(c: Ctx, table: PmdTable, fn: string): KGen {
  let last = false;
  yield {
    fn,
    obj: table.refObj,
    access: 'write',
    label: () => `put_page(pmd${table.pfn})`,
    cost: 'atomic',
    line: table.objId,
    run: () => {
      table.refcount--;
      last = table.refcount === 0;
    },
  };
  if (last) {
    if (c.k.strategy.freeTable) yield* c.k.strategy.freeTable(c, table);
    else yield* freeTableNow(c, table, fn);
  }
}

/** pmd_free() via tlb_remove_table @ v5.6 without RCU table freeing: the page goes back to the allocator. */
export function* freeTableNow(c: Ctx, table: PmdTable, fn: string): KGen {
  // Freeing is not an access to the table's entries (KCSAN does not see it); a later use is KASAN's job: pte-use-after-free.
  yield { fn, obj: table.objId, access: 'write', label: `pmd_free(pmd${table.pfn})`, cost: 'step', run: () => c.k.tables.release(table) };
}

/** mm/hugetlb.c hugetlb_free_pgd_range() -> free_pmd_range @ v5.6: drop this mm's reference to each table under [start, end) no other vma needs. */
export function* hugetlbFreePgdRange(c: Ctx, mm: Mm, start: number, end: number): KGen {
  const fn = 'hugetlb_free_pgd_range';
  for (let pi = pudIndex(start); pi * PUD_SIZE < end; pi++) {
    const lo = pi * PUD_SIZE;
    const hi = lo + PUD_SIZE;
    if (mm.vmas.some((v) => !v.dead && v.start < hi && v.end > lo)) continue;
    let table: PmdTable | undefined;
    yield {
      fn,
      obj: mm.pudObj(pi),
      access: 'write',
      label: `pud_clear(${mm.name}, ${hex(lo)}) [free_pmd_range]`,
      cost: 'pteUpdate',
      run: () => {
        table = mm.pud.get(pi);
        if (table) {
          mm.pud.delete(pi);
          mm.nrPmds--;
        }
      },
    };
    if (table) yield* putTable(c, table, fn);
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
