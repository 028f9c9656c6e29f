import { PageLock } from '../kernel/locks.js';
import type { Inode } from './inode.js';
import type { AnonVma } from './mm.js';

/** A 2 MiB hugetlb page (struct page of the head; folio from 6.1). */
export class HugePage {
  refcount = 0;
  /** Number of page-table entries mapping this page (compound mapcount). */
  mapcount = 0;
  /** Footprint object name, "page:<id>". */
  readonly objId: string;
  private pageLock: PageLock | null = null;
  mapping: Inode | null = null;
  index = -1;
  anon = false;
  /** page->mapping of an anonymous page: its anon_vma (set by hugepage_add_new_anon_rmap, copied by migration). */
  anonVma: AnonVma | null = null;
  /** PagePrivate (<= 5.x) / HPageRestoreReserve (6.1): this page consumed a global reservation. */
  restoreReserve = false;
  free = true;
  hwpoison = false;
  /** Allocated from the buddy allocator beyond nr_hugepages (overcommit). */
  surplus = false;
  /** Bumped at every allocation from the pool: a TLB entry made before refers to freed memory. */
  gen = 0;
  constructor(readonly id: number) {
    this.objId = `page:${id}`;
  }
  /** PG_locked: made on first use (a full-size pool has hundreds of thousands of pages). */
  get lock(): PageLock {
    return (this.pageLock ??= new PageLock(`pagelock:${this.id}`, 'page_lock', this.objId));
  }
}

/**
 * struct hstate counters for the 2 MiB size, as /proc/meminfo shows them, and the pool's pages.
 *
 * The pool is built lazily: pages 1..untouched have never left the free list and have no object
 * yet. They sit at the bottom of the free list (page 1 deepest), below `freeList`, exactly where
 * the pages built at construction would be; dequeue() makes page `untouched` when it reaches them.
 * So a page that has ever been allocated has its object in `pages[id - 1]`; other slots of
 * `pages` may be undefined (a pool of 512 pages costs one array until used).
 */
export class Hstate {
  nr = 0;
  free = 0;
  resv = 0;
  surplus = 0;
  /** nr_overcommit_hugepages: how many surplus pages may be allocated. */
  overcommit = 0;
  /** Pages by id - 1; a slot is undefined while its page is one of the `untouched` ones. */
  readonly pages: HugePage[];
  /** The free list above the untouched pages (LIFO: the last element is taken first). */
  readonly freeList: HugePage[] = [];
  /** Free pages 1..untouched that were never allocated (no object yet). */
  untouched = 0;
  constructor(size: number, overcommit = 0) {
    this.overcommit = overcommit;
    // Filled with undefined, not holes: a large holey `new Array(n)` would be a dictionary.
    const pages: HugePage[] = [];
    for (let i = 0; i < size; i++) pages.push(undefined as unknown as HugePage);
    this.pages = pages;
    this.nr = size;
    this.free = size;
    this.untouched = size;
  }
  addPage(surplus: boolean): HugePage {
    const p = new HugePage(this.pages.length + 1);
    p.surplus = surplus;
    this.pages.push(p);
    this.nr++;
    if (surplus) this.surplus++;
    this.enqueue(p);
    return p;
  }
  /** The page with this id (made now if it is one of the untouched free pages). */
  page(id: number): HugePage {
    return (this.pages[id - 1] ??= new HugePage(id));
  }
  /** mm/hugetlb.c enqueue_huge_page() @ v5.6 */
  enqueue(p: HugePage): void {
    p.free = true;
    this.freeList.push(p);
    this.free++;
  }
  /** mm/hugetlb.c dequeue_huge_page_node_exact() @ v5.6: take a free page (LIFO, like the free lists). */
  dequeue(): HugePage | null {
    while (this.freeList.length > 0) {
      const p = this.freeList.pop()!;
      if (p.hwpoison) continue;
      p.free = false;
      p.gen++;
      this.free--;
      return p;
    }
    if (this.untouched > 0) {
      const p = this.page(this.untouched--);
      p.free = false;
      this.free--;
      return p;
    }
    return null;
  }
  get used(): number {
    return this.nr - this.free;
  }
}
