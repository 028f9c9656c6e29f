/**
 * Memory failure on a hugetlb page (mm/memory-failure.c @ v5.6), injected through
 * madvise(MADV_HWPOISON): memory_failure_hugetlb(), hwpoison_user_mappings() (hwpoison entries
 * in every PTE that mapped the page) and me_huge_page() (a file page leaves the page cache; an
 * anonymous one is dissolved from the pool once free). The designs differ through the strategy
 * hooks rmapUnmapBegin/End and rmapUnshareLock/Unlock, as in migration.
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd } from './ctx.js';
import type { Mm } from '../model/mm.js';
import type { HugePage } from '../model/page.js';
import { underHugetlbLock, hugetlbUnreservePages, putPage } from './resv.js';
import { removeHugePage } from './pagecache.js';
import { tryToUnmap } from './rmap.js';
import { hugetlbFault } from './fault.js';
import { followPageMask } from './migrate.js';
import type { RmapUnmapLock } from '../strategy.js';

/**
 * mm/memory-failure.c collect_procs() @ v5.6: find the tasks mapping the page, for early kill:
 * collect_procs_anon (page_lock_anon_vma_read) or collect_procs_file (i_mmap_lock_read), with
 * the page locked. Nothing is collected (late kill: accesses get SIGBUS from the hwpoison entry).
 */
function* collectProcs(c: Ctx, page: HugePage): KGen {
  if (page.anon) {
    const av = page.anonVma;
    if (!av) return;
    yield* lockIt(c, av.rwsem, 'read', 'collect_procs_anon');
    yield* rd(c, 'collect_procs_anon', av.objId, 'anon_vma_interval_tree_foreach()');
    yield* unlockIt(c, av.rwsem, 'read', 'collect_procs_anon');
    return;
  }
  const mapping = page.mapping;
  if (!mapping) return;
  yield* lockIt(c, mapping.iMmapRwsem, 'read', 'collect_procs_file');
  yield* rd(c, 'collect_procs_file', mapping.iMmapObj, 'vma_interval_tree_foreach()');
  yield* unlockIt(c, mapping.iMmapRwsem, 'read', 'collect_procs_file');
}

/**
 * mm/memory-failure.c hwpoison_user_mappings() @ v5.6 for a hugetlb page (locked by the caller):
 * collect_procs(), then try_to_unmap() without TTU_IGNORE_HWPOISON (hugetlbfs has no writeback),
 * which leaves hwpoison entries; 5.7+ first lock the mapping (rmapUnmapBegin: i_mmap_rwsem trylock
 * for write, "could not lock mapping" on failure; hinode: hinode_rwsem write). True if unmapped.
 */
export function* hwpoisonUserMappings(c: Ctx, page: HugePage): KGen<boolean> {
  const fn = 'hwpoison_user_mappings';
  const s = c.k.strategy;
  let mapped = false;
  yield { fn, obj: page.objId, access: 'read', label: `page_mapped(${page.id})`, run: () => (mapped = page.mapcount > 0) };
  if (!mapped) return true;
  yield* collectProcs(c, page);
  let lk: RmapUnmapLock | null = { rmapLocked: false, heldAcrossRemove: false };
  if (s.rmapUnmapBegin) lk = yield* s.rmapUnmapBegin(c, page, 'hwpoison');
  if (!lk) return false;
  const ok = yield* tryToUnmap(c, page, { migration: false, rmapLocked: lk.rmapLocked, why: 'hwpoison' });
  if (s.rmapUnmapEnd) yield* s.rmapUnmapEnd(c, page, 'hwpoison', lk);
  return ok;
}

/** mm/hugetlb.c dissolve_free_huge_page() @ v5.6: a free hugetlb page leaves the pool (unless reservations need it). */
function* dissolveFreeHugePage(c: Ctx, page: HugePage): KGen {
  yield* underHugetlbLock(c, 'dissolve_free_huge_page', `dissolve_free_huge_page(${page.id})`, () => {
    const h = c.k.hstate;
    if (!page.free || page.refcount !== 0 || h.free - h.resv === 0) return;
    const i = h.freeList.indexOf(page);
    if (i >= 0) h.freeList.splice(i, 1);
    h.free--;
    h.nr--;
    (page as { retired?: boolean }).retired = true;
  });
}

/**
 * mm/memory-failure.c me_huge_page() @ v5.6 (page locked): a file page goes through
 * truncate_error_page() -> hugetlbfs_error_remove_page() (remove_huge_page + hugetlb_unreserve_pages
 * of its index); an anonymous one is unlocked, its reference dropped, dissolved, relocked.
 */
function* meHugePage(c: Ctx, page: HugePage): KGen {
  const mapping = page.mapping;
  if (mapping) {
    const index = page.index;
    yield* removeHugePage(c, mapping, page, 'hugetlbfs_error_remove_page');
    yield* hugetlbUnreservePages(c, mapping, index, index + 1, 1);
    return;
  }
  yield* unlockIt(c, page.lock, 'write', 'me_huge_page');
  if (page.anon) yield* putPage(c, page, 'me_huge_page');
  yield* dissolveFreeHugePage(c, page);
  yield* lockIt(c, page.lock, 'write', 'me_huge_page');
}

/**
 * mm/memory-failure.c memory_failure() -> memory_failure_hugetlb() @ v5.6 with MF_COUNT_INCREASED
 * (the caller's reference stays with the poisoned page): TestSetPageHWPoison, lock_page,
 * hwpoison_user_mappings() (failure: -EBUSY), me_huge_page(), unlock_page.
 */
export function* memoryFailureHugetlb(c: Ctx, page: HugePage): KGen<string> {
  const fn = 'memory_failure_hugetlb';
  let already = false;
  yield {
    fn,
    obj: page.objId,
    access: 'write',
    label: `TestSetPageHWPoison(${page.id})`,
    run: () => {
      already = page.hwpoison;
      page.hwpoison = true;
    },
  };
  if (already) return 'ok';
  yield* lockIt(c, page.lock, 'write', fn);
  const unmapped = yield* hwpoisonUserMappings(c, page);
  if (unmapped) yield* meHugePage(c, page);
  yield* unlockIt(c, page.lock, 'write', fn);
  return unmapped ? 'ok' : 'EBUSY';
}

/**
 * mm/madvise.c madvise_inject_error() @ v5.6, MADV_HWPOISON of the huge page at addr:
 * get_user_pages_fast() (modelled by its slow path, __get_user_pages() -> follow_hugetlb_page():
 * under mmap_lock for read, follow the PTE and fault it in when absent or a swap entry), skip a
 * page already poisoned, then memory_failure(pfn, MF_COUNT_INCREASED).
 */
export function* sysMadviseHwpoison(c: Ctx, mm: Mm, addr: number): KGen<string> {
  const fn = 'madvise_inject_error';
  yield* lockIt(c, mm.mmapLock, 'read', '__get_user_pages');
  yield* rd(c, 'find_vma', mm.objId, `find_vma(${mm.name})`);
  const vma = mm.findVma(addr);
  let page: HugePage | null = null;
  let err = vma ? '' : 'EFAULT';
  for (let tries = 0; vma && !page && !err && tries < 8; tries++) {
    page = yield* followPageMask(c, vma, addr);
    if (page) break;
    const r = yield* hugetlbFault(c, mm, vma, addr, false);
    if (r !== 'ok' && r !== 'retry') err = 'EFAULT';
  }
  yield* unlockIt(c, mm.mmapLock, 'read', '__get_user_pages');
  if (!page) return err || 'EFAULT';
  const p: HugePage = page;
  let poisoned = false;
  yield { fn, obj: p.objId, access: 'read', label: `PageHWPoison(${p.id})`, run: () => (poisoned = p.hwpoison) };
  if (poisoned) {
    yield* putPage(c, p, fn);
    return 'ok';
  }
  return yield* memoryFailureHugetlb(c, p);
}
