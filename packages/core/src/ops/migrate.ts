/**
 * Page migration of hugetlb pages (mm/migrate.c): move_pages() of one huge page, migrate_pages()
 * with its retry passes, unmap_and_move_huge_page(), move_to_new_page(), and the fault side:
 * migration_entry_wait_huge(). The designs differ only through the strategy hooks
 * rmapUnmapBegin/End (the mapping lock taken with the page locked), rmapUnshareLock/Unlock (the
 * 6.1 vma trylock around huge_pmd_unshare) and migrationWaitUnlock (6.3).
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, trylockIt, rd, wr, work } from './ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import type { HugePage } from '../model/page.js';
import { hpageAlignDown } from '../model/constants.js';
import { PTE_PRESENT, isMigrationEntry, type PtePtr } from '../model/pgtable.js';
import { hugePteLock, hugePteOffset, hugePteUnlock, ptepGet } from './pgtable.js';
import { hugetlbLock, underHugetlbLock, putPage } from './resv.js';
import { removeMigrationPtes, tryToUnmap } from './rmap.js';
import type { RmapUnmapLock } from '../strategy.js';

/** Results of unmap_and_move_huge_page(): MIGRATEPAGE_SUCCESS, -EAGAIN (retry in the next pass), -ENOMEM. */
export type MigrateRc = 'success' | 'eagain' | 'enomem';

/** migrate_pages() makes at most this many passes over the list (mm/migrate.c @ v5.6). */
export const MIGRATE_PASSES = 10;

/**
 * mm/migrate.c __migration_entry_wait() via migration_entry_wait_huge() @ v5.6: take the PTL of
 * the (lockless, possibly stale) pte pointer, re-read the entry, and if it still is a migration
 * entry take a reference on its page, drop the PTL and put_and_wait_on_page_locked(): put the
 * reference and sleep until the migration unlocks the page. The fault is then retried.
 * 6.3 (faultLocked): called with the vma lock held for read, dropped (migrationWaitUnlock) after the recheck.
 */
export function* migrationEntryWaitHuge(c: Ctx, vma: Vma, ptep: PtePtr, faultLocked = false): KGen {
  const fn = 'migration_entry_wait_huge';
  const s = c.k.strategy;
  yield* hugePteLock(c, ptep, fn);
  // The pte pointer came from a lockless walk: its value only decides whether to wait (the fault is retried).
  const e = yield* ptepGet(c, ptep, fn, true);
  const page = isMigrationEntry(e.flags) ? (c.k.hstate.pages[e.page - 1] ?? null) : null;
  let got = false;
  if (page) {
    yield {
      fn,
      obj: page.objId,
      access: 'write',
      label: `get_page_unless_zero(${page.id})`,
      cost: 'atomic',
      run: () => {
        if (page.refcount > 0) {
          page.refcount++;
          got = true;
        }
      },
    };
  }
  if (faultLocked && s.migrationWaitUnlock) yield* s.migrationWaitUnlock(c, vma);
  yield* hugePteUnlock(c, ptep, fn);
  if (!page || !got) return;
  // put_and_wait_on_page_locked(): queued on the page's wait queue, the reference is dropped, then sleep.
  yield* putPage(c, page, 'put_and_wait_on_page_locked');
  yield {
    fn: 'put_and_wait_on_page_locked',
    obj: page.lock.id,
    access: 'read',
    label: `wait_on_page_locked(${page.id})`,
    cost: 'step',
    sleeping: true,
    blocked: () => page.lock.owner !== null,
  };
}

/** Under the PTL: a present entry's page, with a reference if FOLL_GET (get_page / try_grab_page); null otherwise. */
function* grabPresent(c: Ctx, e: { page: number; flags: number }, fn: string, get: boolean): KGen<HugePage | null> {
  if (!(e.flags & PTE_PRESENT)) return null;
  const p = c.k.hstate.pages[e.page - 1]!;
  if (!get) return p;
  yield* wr(c, fn, p.objId, `get_page(${p.id})`, 'atomic');
  p.refcount++;
  return p;
}

/**
 * mm/hugetlb.c follow_huge_pmd() @ v5.6, from mm/gup.c follow_page_mask() -> follow_pmd_mask()
 * (v6.1: follow_huge_pmd_pte(), the same steps through huge_pte_offset() / huge_pte_lock()): the
 * pmd found by a lockless walk with only mmap_lock held, its PTL, the entry under it. A present
 * entry gives the page; a migration entry: unlock, __migration_entry_wait(), walk again; anything
 * else gives none. A design that protects lockless walkers brackets the walk (walkBegin/walkEnd:
 * rcu_read_lock() in Peter Xu's RFC v1 07/10), ending the section before the wait.
 */
function* followHugePmd(c: Ctx, vma: Vma, addr: number, get: boolean): KGen<HugePage | null> {
  const fn = 'follow_huge_pmd';
  const s = c.k.strategy;
  const haddr = hpageAlignDown(addr);
  for (let tries = 0; tries < 8; tries++) {
    if (s.walkBegin) yield* s.walkBegin(c, vma, 'sleepable');
    const ptep = yield* hugePteOffset(c, vma.mm, haddr, 'follow_page_mask');
    if (!ptep) {
      if (s.walkEnd) yield* s.walkEnd(c, vma, 'sleepable');
      return null;
    }
    // As in follow_hugetlb_page(): through a table unshared from this mm but still alive the entry
    // maps the same file page (tables are shared only at identical offsets); only a freed table is
    // a bug for this reader (pte-use-after-free), so the accesses are speculative.
    yield* hugePteLock(c, ptep, fn, true);
    const e = yield* ptepGet(c, ptep, fn, true);
    const page = yield* grabPresent(c, e, fn, get);
    yield* hugePteUnlock(c, ptep, fn);
    if (s.walkEnd) yield* s.walkEnd(c, vma, 'sleepable');
    if (page || !isMigrationEntry(e.flags)) return page;
    yield* migrationEntryWaitHuge(c, vma, ptep);
  }
  return null;
}

/**
 * mm/hugetlb.c hugetlb_follow_page_mask() @ v6.3.8 (lock map A.12 W): hugetlb_vma_lock_read()
 * (the design's walkBegin) -> hugetlb_walk() -> PTL -> a present entry gives the page
 * (try_grab_page); a migration entry is not waited for (v3 1/9 "Don't wait for migration entry
 * during follow page": no page) -> PTL unlock -> hugetlb_vma_unlock_read() (walkEnd).
 */
function* hugetlbFollowPageMask(c: Ctx, vma: Vma, addr: number, get: boolean): KGen<HugePage | null> {
  const fn = 'hugetlb_follow_page_mask';
  const s = c.k.strategy;
  if (s.walkBegin) yield* s.walkBegin(c, vma, 'sleepable');
  let page: HugePage | null = null;
  const ptep = yield* hugePteOffset(c, vma.mm, hpageAlignDown(addr), 'hugetlb_walk');
  if (ptep) {
    yield* hugePteLock(c, ptep, fn, true);
    page = yield* grabPresent(c, yield* ptepGet(c, ptep, fn, true), fn, get);
    yield* hugePteUnlock(c, ptep, fn);
  }
  if (s.walkEnd) yield* s.walkEnd(c, vma, 'sleepable');
  return page;
}

/**
 * mm/gup.c follow_page() -> follow_page_mask() @ v5.6 for a hugetlb vma (FOLL_GET when `get`):
 * the design kernel's hugetlb walk (feature followPageHugetlb): follow_huge_pmd() (5.x; 6.1's
 * follow_huge_pmd_pte() takes the same steps) or hugetlb_follow_page_mask() (6.3).
 */
export function* followPageMask(c: Ctx, vma: Vma, addr: number, get = true): KGen<HugePage | null> {
  if (c.k.strategy.features.followPageHugetlb === 'hugetlb_follow_page_mask') return yield* hugetlbFollowPageMask(c, vma, addr, get);
  return yield* followHugePmd(c, vma, addr, get);
}

/** @deprecated The name before followPageMask(): follow_page(FOLL_GET) of a hugetlb address. */
export const followHugePage = (c: Ctx, vma: Vma, addr: number): KGen<HugePage | null> => followPageMask(c, vma, addr, true);

/** mm/hugetlb.c isolate_huge_page() @ v5.6: under hugetlb_lock, get_page_unless_zero and take it off the active list. */
function* isolateHugePage(c: Ctx, page: HugePage): KGen<boolean> {
  const fn = 'isolate_huge_page';
  const l = hugetlbLock(c);
  yield* lockIt(c, l, 'write', fn);
  let ok = false;
  // The footprint is the page (its refcount), not the pool counters.
  yield {
    fn,
    obj: page.objId,
    access: 'write',
    label: `get_page_unless_zero(${page.id}) + list_move_tail`,
    cost: 'atomic',
    run: () => {
      if (page.refcount > 0 && !page.free) {
        page.refcount++;
        ok = true;
      }
    },
  };
  yield* unlockIt(c, l, 'write', fn);
  return ok;
}

/**
 * mm/hugetlb.c alloc_huge_page_node() @ v5.6 (the move_pages target): a free page not needed by a
 * reservation (h->free_huge_pages - h->resv_huge_pages > 0), taken under hugetlb_lock, refcount 1.
 * The surplus fallback (alloc_migrate_huge_page) is not modelled: no free page means -ENOMEM.
 */
function* allocMigrationTarget(c: Ctx): KGen<HugePage | null> {
  let page: HugePage | null = null;
  yield* underHugetlbLock(c, 'alloc_huge_page_node', 'dequeue_huge_page_nodemask()', () => {
    const h = c.k.hstate;
    if (h.free - h.resv <= 0) return;
    page = h.dequeue();
    if (page) page.refcount = 1;
  });
  return page;
}

/**
 * mm/migrate.c move_to_new_page() @ v5.6: anonymous pages through migrate_page() (the old page's
 * only reference must be the isolation's), file pages through hugetlbfs_migrate_page() ->
 * migrate_huge_page_move_mapping() (isolation + page cache: the cache slot now holds the new page,
 * which takes the cache's reference); then the copy, and the old file page loses its mapping.
 */
function* moveToNewPage(c: Ctx, np: HugePage, old: HugePage): KGen<MigrateRc> {
  const mapping = old.mapping;
  let ok = false;
  if (!mapping) {
    yield {
      fn: 'migrate_page_move_mapping',
      obj: old.objId,
      access: 'write',
      label: `page_count(${old.id}) == 1; newpage->mapping = anon_vma`,
      run: () => {
        if (old.refcount !== 1) return;
        np.anon = old.anon;
        np.anonVma = old.anonVma;
        np.index = old.index;
        ok = true;
      },
    };
  } else {
    yield {
      fn: 'migrate_huge_page_move_mapping',
      obj: mapping.cacheObj,
      access: 'write',
      label: `page_ref_freeze(${old.id}, 2); xas_store(${mapping.name}, ${old.index}, page ${np.id})`,
      cost: 'pageCacheInsert',
      run: () => {
        c.k.bus.emit('mem:access', c.t, mapping.cacheObj, true, 'migrate_huge_page_move_mapping');
        if (old.refcount !== 2 || mapping.pageCache.get(old.index) !== old) return;
        mapping.pageCache.set(old.index, np);
        np.mapping = mapping;
        np.index = old.index;
        np.refcount++;
        old.refcount--;
        ok = true;
      },
    };
  }
  if (!ok) return 'eagain';
  yield* work(c, 'migrate_page_copy', `copy_huge_page(${old.id} -> ${np.id})`, 'copyHugePage');
  if (mapping) yield* wr(c, 'move_to_new_page', old.objId, `page ${old.id}: mapping = NULL`);
  if (mapping) old.mapping = null;
  return 'success';
}

/**
 * mm/migrate.c unmap_and_move_huge_page() @ v5.6 (5.7: mapping locked by
 * hugetlb_page_mapping_lock_write() across try_to_unmap(TTU_RMAP_LOCKED) and
 * remove_migration_ptes(); 5.10/6.1: for file pages only, released right after the unmap):
 * allocate the target, lock the old page (trylock; lock_page only when forced, pass > 2), lock the
 * new page, unmap with migration entries if mapped, move the page if no mapping is left, restore
 * the migration entries (to the new page on success, the old one otherwise), unlock, put back.
 */
export function* unmapAndMoveHugePage(c: Ctx, old: HugePage, force: boolean): KGen<MigrateRc> {
  const fn = 'unmap_and_move_huge_page';
  const s = c.k.strategy;
  const np = yield* allocMigrationTarget(c);
  if (!np) return 'enomem';
  let rc: MigrateRc = 'eagain';
  let oldLocked = yield* trylockIt(c, old.lock, 'write', fn);
  if (!oldLocked && force) {
    yield* lockIt(c, old.lock, 'write', fn);
    oldLocked = true;
  }
  if (oldLocked) {
    // page_get_anon_vma() keeps the anon_vma alive; new_hpage is private, so its trylock succeeds.
    yield* lockIt(c, np.lock, 'write', fn);
    let wasMapped = false;
    let mapped = false;
    yield { fn, obj: old.objId, access: 'read', label: `page_mapped(${old.id})`, run: () => (mapped = old.mapcount > 0) };
    let lk: RmapUnmapLock | null = { rmapLocked: false, heldAcrossRemove: false };
    if (mapped) {
      if (s.rmapUnmapBegin) lk = yield* s.rmapUnmapBegin(c, old, 'migrate');
      if (lk) {
        yield* tryToUnmap(c, old, { migration: true, rmapLocked: lk.rmapLocked, why: 'migrate' });
        wasMapped = true;
        if (!lk.heldAcrossRemove && s.rmapUnmapEnd) yield* s.rmapUnmapEnd(c, old, 'migrate', lk);
      }
    }
    if (lk) {
      let still = false;
      yield { fn, obj: old.objId, access: 'read', label: `page_mapped(${old.id})`, run: () => (still = old.mapcount > 0) };
      if (!still) rc = yield* moveToNewPage(c, np, old);
      if (wasMapped) yield* removeMigrationPtes(c, old, rc === 'success' ? np : old, lk.heldAcrossRemove && lk.rmapLocked);
      if (lk.heldAcrossRemove && s.rmapUnmapEnd) yield* s.rmapUnmapEnd(c, old, 'migrate', lk);
    }
    yield* unlockIt(c, np.lock, 'write', fn);
    yield* unlockIt(c, old.lock, 'write', fn);
  }
  // putback_active_hugepage(): the isolation reference of the old page (kept for a retry on -EAGAIN) and the new page's.
  if (rc !== 'eagain') yield* putPage(c, old, 'putback_active_hugepage');
  yield* putPage(c, np, 'putback_active_hugepage');
  return rc;
}

/**
 * mm/migrate.c migrate_pages() @ v5.6 for one isolated hugetlb page: up to MIGRATE_PASSES passes
 * while it returns -EAGAIN (force from pass 3); the caller puts back a page not migrated.
 */
export function* migratePages(c: Ctx, page: HugePage): KGen<MigrateRc> {
  let rc: MigrateRc = 'eagain';
  for (let pass = 0; pass < MIGRATE_PASSES && rc === 'eagain'; pass++) rc = yield* unmapAndMoveHugePage(c, page, pass > 2);
  // putback_movable_pages(): a page still on the list after the last pass (or -ENOMEM) loses its isolation reference.
  if (rc !== 'success') yield* putPage(c, page, 'putback_movable_pages');
  return rc;
}

/**
 * mm/migrate.c move_pages() -> do_pages_move() -> add_page_for_migration() + do_move_pages_to_node()
 * @ v5.6 for the huge page at addr of mm: under mmap_lock for read find the vma and follow_page()
 * the page, isolate it, drop the follow_page reference; then migrate_pages() without mmap_lock.
 * Returns 'ok' (migrated), 'EFAULT'/'ENOENT' (nothing there), 'EBUSY' (not migrated) or 'ENOMEM'.
 */
export function* sysMovePages(c: Ctx, mm: Mm, addr: number): KGen<string> {
  const fn = 'add_page_for_migration';
  yield* lockIt(c, mm.mmapLock, 'read', fn);
  yield* rd(c, 'find_vma', mm.objId, `find_vma(${mm.name})`);
  const vma = mm.findVma(addr);
  let page: HugePage | null = null;
  let isolated = false;
  if (vma) {
    page = yield* followPageMask(c, vma, addr);
    if (page) {
      isolated = yield* isolateHugePage(c, page);
      yield* putPage(c, page, fn);
    }
  }
  yield* unlockIt(c, mm.mmapLock, 'read', fn);
  if (!vma) return 'EFAULT';
  if (!page) return 'ENOENT';
  if (!isolated) return 'EBUSY';
  const rc = yield* migratePages(c, page);
  return rc === 'success' ? 'ok' : rc === 'enomem' ? 'ENOMEM' : 'EBUSY';
}

/**
 * mm/migrate.c move_pages() with nodes == NULL -> do_pages_stat() -> do_pages_stat_array() @ v6.1
 * for one huge page: under mmap_lock for read, find_vma() and follow_page(FOLL_GET | FOLL_DUMP),
 * page_to_nid(), put_page(). (FOLL_GET came with Miaohe Lin's 2022 refcount fix; 5.x follows
 * without it: the model takes the reference in every version, one atomic more.) Returns 'ok' (a
 * page is there), 'ENOENT' or 'EFAULT'.
 */
export function* sysMovePagesStat(c: Ctx, mm: Mm, addr: number): KGen<string> {
  const fn = 'do_pages_stat_array';
  yield* lockIt(c, mm.mmapLock, 'read', fn);
  yield* rd(c, 'find_vma', mm.objId, `find_vma(${mm.name})`);
  const vma = mm.findVma(addr);
  const page = vma ? yield* followPageMask(c, vma, addr) : null;
  if (page) yield* putPage(c, page, fn);
  yield* unlockIt(c, mm.mmapLock, 'read', fn);
  return !vma ? 'EFAULT' : page ? 'ok' : 'ENOENT';
}
