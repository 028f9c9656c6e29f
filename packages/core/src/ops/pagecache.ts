/** Page-cache operations on a hugetlbfs mapping. */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, trylockIt, unlockIt, wr } from './ctx.js';
import type { Inode } from '../model/inode.js';
import type { HugePage } from '../model/page.js';
import { putPage } from './resv.js';

/** mm/filemap.c find_lock_page() @ v5.6: look up idx, take a reference and the page lock; recheck the mapping. */
export function* findLockPage(c: Ctx, inode: Inode, idx: number, fn = 'find_lock_page'): KGen<HugePage | null> {
  for (;;) {
    let page: HugePage | null = null;
    yield {
      fn,
      obj: inode.cacheObj,
      access: 'read',
      label: () => `find_lock_page(${inode.name}, ${idx})`,
      cost: 'pageCacheLookup',
      run: () => {
        c.k.bus.emit('mem:access', c.t, inode.cacheObj, false, fn);
        page = inode.pageCache.get(idx) ?? null;
        if (page) page.refcount++;
      },
    };
    const p = page as HugePage | null;
    if (!p) return null;
    yield* lockIt(c, p.lock, 'write', fn);
    if (p.mapping === inode && p.index === idx) return p;
    // Truncated while we waited for the lock: drop it and look again.
    yield* unlockIt(c, p.lock, 'write', fn);
    yield* putPage(c, p, fn);
  }
}

/** mm/filemap.c find_get_page() (hugetlbfs_pagecache_present) @ v5.6: lookup with a reference, no lock. */
export function* findGetPage(_c: Ctx, inode: Inode, idx: number, fn: string): KGen<HugePage | null> {
  let page: HugePage | null = null;
  yield {
    fn,
    obj: inode.cacheObj,
    access: 'read',
    label: `find_get_page(${inode.name}, ${idx})`,
    cost: 'pageCacheLookup',
    run: () => {
      page = inode.pageCache.get(idx) ?? null;
      if (page) page.refcount++;
    },
  };
  return page;
}

/**
 * mm/hugetlb.c huge_add_to_page_cache() @ v5.6: insert a new page locked (add_to_page_cache takes a
 * reference), ClearPagePrivate (the reservation now belongs to the page cache), i_blocks++.
 * Returns false for -EEXIST.
 */
export function* hugeAddToPageCache(c: Ctx, page: HugePage, inode: Inode, idx: number, fn = 'huge_add_to_page_cache'): KGen<boolean> {
  const locked = yield* trylockIt(c, page.lock, 'write', fn);
  let ok = false;
  yield {
    fn,
    obj: inode.cacheObj,
    access: 'write',
    label: `add_to_page_cache(${inode.name}, ${idx}, page ${page.id})`,
    cost: 'pageCacheInsert',
    run: () => {
      c.k.bus.emit('mem:access', c.t, inode.cacheObj, true, fn);
      if (inode.pageCache.has(idx)) return;
      inode.pageCache.set(idx, page);
      page.mapping = inode;
      page.index = idx;
      page.refcount++;
      ok = true;
    },
  };
  if (!ok) {
    if (locked) yield* unlockIt(c, page.lock, 'write', fn);
    return false;
  }
  page.restoreReserve = false;
  yield* lockIt(c, inode.iLock, 'write', fn);
  yield* wr(c, fn, inode.objId, 'i_blocks += 1');
  inode.blocks++;
  yield* unlockIt(c, inode.iLock, 'write', fn);
  return true;
}

/** mm/hugetlb.c remove_huge_page() -> delete_from_page_cache() @ v5.6: page locked by the caller; drops the cache reference. */
export function* removeHugePage(c: Ctx, inode: Inode, page: HugePage, fn = 'remove_huge_page'): KGen {
  yield {
    fn,
    obj: inode.cacheObj,
    access: 'write',
    label: `delete_from_page_cache(${inode.name}, ${page.index}, page ${page.id})`,
    cost: 'pageCacheInsert',
    run: () => {
      c.k.bus.emit('mem:access', c.t, inode.cacheObj, true, fn);
      if (inode.pageCache.get(page.index) === page) inode.pageCache.delete(page.index);
      page.mapping = null;
    },
  };
  yield* putPage(c, page, fn);
}
