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
import { PTE_PRESENT, PTE_WRITE, isMigrationEntry, makeHwpoisonEntry, makeMigrationEntry, type PtePtr } from '../model/pgtable.js';
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
    vma.anonVmaChain.push(av);
    linked = true;
  }
  yield* unlockIt(c, vma.mm.pageTableLock, 'write', fn);
  yield* unlockIt(c, av.rwsem, 'write', fn);
  return linked ? av : vma.anonVma!;
}

/**
 * mm/rmap.c anon_vma_fork() @ v5.6 (from kernel/fork.c dup_mmap(), parent's and child's mmap_lock
 * held for write, before the child vma enters i_mmap): anon_vma_clone() links the child vma into
 * every anon_vma of the parent's chain under the root's anon_vma->rwsem for write (so rmap walks
 * of the parent's anonymous pages find the child's copies), then a new anon_vma of the child's own,
 * with the parent's root, is linked the same way. Nothing when the parent vma has no anon_vma.
 */
export function* anonVmaFork(c: Ctx, vma: Vma, pvma: Vma): KGen {
  const parentAv = pvma.anonVma;
  if (!parentAv) return;
  // anon_vma_clone(): list_for_each_entry_reverse over the parent's chain, one root lock for all.
  const clone = pvma.anonVmaChain.length > 0 ? pvma.anonVmaChain.slice().reverse() : [parentAv];
  yield* lockIt(c, parentAv.rwsem, 'write', 'anon_vma_clone');
  for (const av of clone) {
    yield* wr(c, 'anon_vma_clone', av.objId, `anon_vma_chain_link(${vma.mm.name} vma ${vma.id}, anon_vma ${av.id})`);
    av.vmas.push(vma);
    vma.anonVmaChain.push(av);
  }
  yield* unlockIt(c, parentAv.rwsem, 'write', 'anon_vma_clone');
  // The child's own anon_vma (anon_vma->root = the parent's root), locked through that root.
  const own = new AnonVma(c.k.id(), parentAv);
  vma.anonVma = own;
  yield* lockIt(c, own.rwsem, 'write', 'anon_vma_fork');
  yield* wr(c, 'anon_vma_fork', own.objId, `anon_vma_chain_link(${vma.mm.name} vma ${vma.id}, anon_vma ${own.id})`);
  own.vmas.push(vma);
  vma.anonVmaChain.push(own);
  yield* unlockIt(c, own.rwsem, 'write', 'anon_vma_fork');
}

/**
 * mm/rmap.c unlink_anon_vmas() @ v5.6 (from free_pgtables): under the root's anon_vma_lock_write,
 * take the vma off every anon_vma of its chain (a vma with only a copied anon_vma pointer: that one).
 */
export function* unlinkAnonVmas(c: Ctx, vma: Vma): KGen {
  const fn = 'unlink_anon_vmas';
  const chain = vma.anonVmaChain.length > 0 ? vma.anonVmaChain : vma.anonVma ? [vma.anonVma] : [];
  if (chain.length === 0) return;
  yield* lockIt(c, chain[0]!.rwsem, 'write', fn);
  for (const av of chain) {
    yield* wr(c, fn, av.objId, `anon_vma_interval_tree_remove(vma ${vma.id})`);
    const i = av.vmas.indexOf(vma);
    if (i >= 0) av.vmas.splice(i, 1);
  }
  yield* unlockIt(c, chain[0]!.rwsem, 'write', fn);
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

/** What page_vma_mapped_walk() found: the pte (its PTL held) and the entry read under it. */
export interface PvmwHit {
  ptep: PtePtr;
  entry: { page: number; flags: number };
}

/**
 * mm/page_vma_mapped.c page_vma_mapped_walk() @ v5.6, hugetlb branch (lock map A.14):
 * huge_pte_offset() without any hugetlb lock (v6.3: hugetlb_walk(), whose lockdep assertion, vma
 * lock or i_mmap_rwsem held, is satisfied by the rmap walker's i_mmap_rwsem for a file page; an
 * anonymous page's private vma never shares its table), huge_pte_lockptr() + spin_lock(), then
 * check_pte(): the entry maps `page` (PVMW_MIGRATION: is a migration entry for it). Returns with
 * the PTL held on a match (the caller unlocks), null with it released otherwise. The same in
 * every design: none hooks in here (RFC v1 06/10 adds rcu_read_lock(), redundant under i_mmap_rwsem).
 */
export function* pageVmaMappedWalk(c: Ctx, vma: Vma, addr: number, page: HugePage, migration: boolean): KGen<PvmwHit | null> {
  const fn = 'page_vma_mapped_walk';
  const ptep = yield* hugePteOffset(c, vma.mm, addr, fn);
  if (!ptep) return null;
  yield* hugePteLock(c, ptep, fn);
  const entry = yield* ptepGet(c, ptep, fn);
  const match = migration ? isMigrationEntry(entry.flags) : (entry.flags & PTE_PRESENT) !== 0;
  if (!match || entry.page !== page.id) {
    yield* hugePteUnlock(c, ptep, fn);
    return null;
  }
  return { ptep, entry };
}

/**
 * mm/rmap.c try_to_unmap_one() @ v5.6 for a hugetlb page (try_to_migrate_one() from 5.16 has the
 * same hugetlb branch): pageVmaMappedWalk() (huge_pte_offset + PTL + check_pte); for a file
 * page, huge_pmd_unshare() first (5.10+: only !PageAnon; 6.1: under hugetlb_vma_trylock_write(),
 * whose failure aborts the walk — the strategy's rmapUnshareLock hook), and if it unshared, flush
 * and go on with the next vma; otherwise clear the PTE, flush, and leave a hwpoison entry
 * (PageHWPoison) or a migration entry (TTU_MIGRATION); page_remove_rmap + put_page.
 */
export function* tryToUnmapOne(c: Ctx, page: HugePage, vma: Vma, addr: number, ttu: TtuFlags): KGen<boolean> {
  const fn = ttu.migration ? 'try_to_migrate_one' : 'try_to_unmap_one';
  const s = c.k.strategy;
  const mm = vma.mm;
  const found = yield* pageVmaMappedWalk(c, vma, addr, page, false);
  if (!found) return true;
  const { ptep, entry: e } = found;
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
 * mm/migrate.c remove_migration_pte() @ v5.6 for a hugetlb page: pageVmaMappedWalk(PVMW_MIGRATION)
 * finds this vma's migration entry for `old` under the PTL and replaces it with a present PTE of
 * `page` (writable if the entry was), get_page + hugepage_add_anon_rmap / page_dup_rmap.
 */
function* removeMigrationPte(c: Ctx, page: HugePage, vma: Vma, addr: number, old: HugePage): KGen<boolean> {
  const fn = 'remove_migration_pte';
  const mm = vma.mm;
  const found = yield* pageVmaMappedWalk(c, vma, addr, old, true);
  if (!found) return true;
  const { ptep, entry: e } = found;
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
