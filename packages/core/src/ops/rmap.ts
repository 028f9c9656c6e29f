/**
 * Reverse mapping for hugetlb pages (mm/rmap.c): anon_vma set-up and teardown, rmap walks over
 * i_mmap (file pages) and over the anon_vma (anonymous pages of private mappings), and the
 * hugetlb branches of try_to_unmap_one() / try_to_migrate_one() and remove_migration_pte().
 * Page migration (ops/migrate.ts) and memory failure (ops/hwpoison.ts) are built on these.
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd, wr, work } from './ctx.js';
import { AnonVma, type Vma } from '../model/mm.js';
import type { HugePage } from '../model/page.js';
import { PTE_PRESENT, PTE_WRITE, isMigrationEntry, makeHwpoisonEntry, makeMigrationEntry } from '../model/pgtable.js';
import { hugePmdUnshare, hugePteLock, hugePteOffset, hugePteUnlock, ptepGet, ptepSet, hex } from './pgtable.js';
import { putPage } from './resv.js';
import type { RmapWhy } from '../strategy.js';


/** enum ttu_flags @ v5.6, the bits the hugetlb paths use. */
export interface TtuFlags {
  /** TTU_MIGRATION: replace PTEs with migration entries (5.6 try_to_unmap; try_to_migrate from 5.16). */
  migration: boolean;
  /** TTU_RMAP_LOCKED: the caller holds the rmap lock (i_mmap_rwsem for write); the walk takes none. */
  rmapLocked: boolean;
  why: RmapWhy;
}

/**
 * mm/rmap.c __anon_vma_prepare() @ v5.6: a private vma gets its anon_vma at its first anonymous
 * page: anon_vma_lock_write -> mm->page_table_lock -> link the vma (anon_vma_chain_link) if still
 * unset -> unlock both.
 */
export function* anonVmaPrepare(c: Ctx, vma: Vma): KGen<AnonVma> {
  const fn = '__anon_vma_prepare';
  if (vma.anonVma) return vma.anonVma;
  const av = new AnonVma(c.k.id());
  yield* lockIt(c, av.rwsem, 'write', fn);
  yield* lockIt(c, vma.mm.pageTableLock, 'write', fn);
  yield* wr(c, fn, vma.objId, 'vma->anon_vma = anon_vma');
  let linked = false;
  if (!vma.anonVma) {
    yield* wr(c, fn, av.objId, `anon_vma_chain_link(vma ${vma.id})`);
    vma.anonVma = av;
    av.vmas.push(vma);
    linked = true;
  }
  yield* unlockIt(c, vma.mm.pageTableLock, 'write', fn);
  yield* unlockIt(c, av.rwsem, 'write', fn);
  return linked ? av : vma.anonVma!;
}

/** mm/rmap.c unlink_anon_vmas() @ v5.6 (from free_pgtables): under anon_vma_lock_write, take the vma off the chain. */
export function* unlinkAnonVmas(c: Ctx, vma: Vma): KGen {
  const fn = 'unlink_anon_vmas';
  const av = vma.anonVma;
  if (!av) return;
  yield* lockIt(c, av.rwsem, 'write', fn);
  yield* wr(c, fn, av.objId, `anon_vma_interval_tree_remove(vma ${vma.id})`);
  const i = av.vmas.indexOf(vma);
  if (i >= 0) av.vmas.splice(i, 1);
  yield* unlockIt(c, av.rwsem, 'write', fn);
}

/** mm/rmap.c page_add_new_anon_rmap() for hugetlb: hugepage_add_new_anon_rmap() @ v5.6: page->mapping = anon_vma, page->index = linear index. */
export function setPageAnonRmap(page: HugePage, vma: Vma, haddr: number): void {
  page.anon = true;
  page.anonVma = vma.anonVma;
  page.index = vma.hugeIndex(haddr);
}

/** One call of rmap_one(page, vma, address): false stops the walk (SWAP_FAIL). */
export type RmapOne = (vma: Vma, addr: number) => KGen<boolean>;

/**
 * mm/rmap.c rmap_walk() / rmap_walk_locked() @ v5.6: anonymous pages through their anon_vma
 * (rmap_walk_anon: anon_vma_lock_read unless locked), file pages through mapping->i_mmap
 * (rmap_walk_file: i_mmap_lock_read unless locked); rmap_one for every vma that maps the index.
 */
export function* rmapWalk(c: Ctx, page: HugePage, one: RmapOne, locked: boolean): KGen {
  if (page.anon) yield* rmapWalkAnon(c, page, one, locked);
  else yield* rmapWalkFile(c, page, one, locked);
}

/** mm/rmap.c rmap_walk_anon() @ v5.6 */
function* rmapWalkAnon(c: Ctx, page: HugePage, one: RmapOne, locked: boolean): KGen {
  const fn = 'rmap_walk_anon';
  const av = page.anonVma;
  if (!av) return;
  if (!locked) yield* lockIt(c, av.rwsem, 'read', fn);
  yield* rd(c, fn, av.objId, () => `anon_vma_interval_tree_foreach(anon_vma ${av.id}, page ${page.id})`);
  for (const vma of av.vmas.slice()) {
    const addr = vma.addrOfIndex(page.index);
    if (addr < 0) continue;
    if (!(yield* one(vma, addr))) break;
  }
  if (!locked) yield* unlockIt(c, av.rwsem, 'read', fn);
}

/** mm/rmap.c rmap_walk_file() @ v5.6 */
function* rmapWalkFile(c: Ctx, page: HugePage, one: RmapOne, locked: boolean): KGen {
  const fn = 'rmap_walk_file';
  const mapping = page.mapping;
  if (!mapping) return;
  if (!locked) yield* lockIt(c, mapping.iMmapRwsem, 'read', fn);
  yield* rd(c, fn, mapping.iMmapObj, () => `vma_interval_tree_foreach(${mapping.name}, ${page.index})`);
  for (const vma of mapping.iMmap.slice()) {
    const addr = vma.addrOfIndex(page.index);
    if (addr < 0) continue;
    if (!(yield* one(vma, addr))) break;
  }
  if (!locked) yield* unlockIt(c, mapping.iMmapRwsem, 'read', fn);
}

/**
 * mm/rmap.c try_to_unmap_one() @ v5.6 for a hugetlb page (try_to_migrate_one() from 5.16 has the
 * same hugetlb branch): page_vma_mapped_walk() (huge_pte_offset + PTL + check_pte); for a file
 * page, huge_pmd_unshare() first (5.10+: only !PageAnon; 6.1: under hugetlb_vma_trylock_write(),
 * whose failure aborts the walk — the strategy's rmapUnshareLock hook), and if it unshared, flush
 * and go on with the next vma; otherwise clear the PTE, flush, and leave a hwpoison entry
 * (PageHWPoison) or a migration entry (TTU_MIGRATION); page_remove_rmap + put_page.
 */
export function* tryToUnmapOne(c: Ctx, page: HugePage, vma: Vma, addr: number, ttu: TtuFlags): KGen<boolean> {
  const fn = ttu.migration ? 'try_to_migrate_one' : 'try_to_unmap_one';
  const s = c.k.strategy;
  const mm = vma.mm;
  const ptep = yield* hugePteOffset(c, mm, addr, 'page_vma_mapped_walk');
  if (!ptep) return true;
  yield* hugePteLock(c, ptep, 'page_vma_mapped_walk');
  const e = yield* ptepGet(c, ptep, 'page_vma_mapped_walk');
  if (!(e.flags & PTE_PRESENT) || e.page !== page.id) {
    yield* hugePteUnlock(c, ptep, 'page_vma_mapped_walk');
    return true;
  }
  if (!page.anon) {
    // "We have to assume the worse case": a shared PMD is unshared rather than its entry cleared.
    let locked = true;
    if (s.rmapUnshareLock) locked = yield* s.rmapUnshareLock(c, vma, ttu.why);
    if (!locked) {
      yield* hugePteUnlock(c, ptep, fn);
      return false;
    }
    const unshared = yield* hugePmdUnshare(c, mm, addr, ptep);
    if (s.rmapUnshareUnlock) yield* s.rmapUnshareUnlock(c, vma, ttu.why);
    if (unshared) {
      yield* work(c, fn, () => `flush_tlb_range(${mm.name} ${hex(addr)}) [pmd unshared]`, 'tlbFlush');
      yield* hugePteUnlock(c, ptep, fn);
      return true;
    }
  }
  yield* ptepSet(c, ptep, { page: 0, flags: 0 }, fn, 'huge_ptep_clear_flush');
  yield* work(c, fn, () => `flush_tlb_page(${mm.name} ${hex(addr)})`, 'tlbFlush');
  mm.hugetlbRss--;
  if (page.hwpoison) yield* ptepSet(c, ptep, makeHwpoisonEntry(page.id), fn, 'set_huge_swap_pte_at [hwpoison entry]');
  else if (ttu.migration) yield* ptepSet(c, ptep, makeMigrationEntry(page.id, (e.flags & PTE_WRITE) !== 0), fn, 'set_huge_swap_pte_at [migration entry]');
  yield* wr(c, fn, page.objId, () => `page_remove_rmap(${page.id})`, 'atomic');
  page.mapcount--;
  yield* putPage(c, page, fn);
  yield* hugePteUnlock(c, ptep, fn);
  return true;
}

/** mm/rmap.c try_to_unmap() / try_to_migrate() @ v5.6 (5.16+): walk every mapping; true if the page is no longer mapped. */
export function* tryToUnmap(c: Ctx, page: HugePage, ttu: TtuFlags): KGen<boolean> {
  yield* rmapWalk(c, page, (vma, addr) => tryToUnmapOne(c, page, vma, addr, ttu), ttu.rmapLocked);
  let mapped = true;
  yield { fn: 'try_to_unmap', obj: page.objId, access: 'read', label: `page_mapcount(${page.id})`, run: () => (mapped = page.mapcount > 0) };
  return !mapped;
}

/**
 * mm/migrate.c remove_migration_pte() @ v5.6 for a hugetlb page: page_vma_mapped_walk(PVMW_MIGRATION)
 * finds this vma's migration entry for `old` under the PTL and replaces it with a present PTE of
 * `page` (writable if the entry was), get_page + hugepage_add_anon_rmap / page_dup_rmap.
 */
function* removeMigrationPte(c: Ctx, page: HugePage, vma: Vma, addr: number, old: HugePage): KGen<boolean> {
  const fn = 'remove_migration_pte';
  const mm = vma.mm;
  const ptep = yield* hugePteOffset(c, mm, addr, 'page_vma_mapped_walk');
  if (!ptep) return true;
  yield* hugePteLock(c, ptep, 'page_vma_mapped_walk');
  const e = yield* ptepGet(c, ptep, 'page_vma_mapped_walk');
  if (!isMigrationEntry(e.flags) || e.page !== old.id) {
    yield* hugePteUnlock(c, ptep, 'page_vma_mapped_walk');
    return true;
  }
  yield* wr(c, fn, page.objId, () => `get_page + ${page.anon ? 'hugepage_add_anon_rmap' : 'page_dup_rmap'}(${page.id})`, 'atomic');
  page.refcount++;
  page.mapcount++;
  yield* ptepSet(c, ptep, { page: page.id, flags: PTE_PRESENT | (e.flags & PTE_WRITE) }, fn, 'set_huge_pte_at');
  mm.hugetlbRss++;
  yield* hugePteUnlock(c, ptep, fn);
  return true;
}

/** mm/migrate.c remove_migration_ptes() @ v5.6: rmap walk of `page` (the new page, or the old one on failure) restoring every migration entry for `old`. */
export function* removeMigrationPtes(c: Ctx, old: HugePage, page: HugePage, locked: boolean): KGen {
  yield* rmapWalk(c, page, (vma, addr) => removeMigrationPte(c, page, vma, addr, old), locked);
}
