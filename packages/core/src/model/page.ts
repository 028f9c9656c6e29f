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
  constructor(readonly id: number) {
    this.objId = `page:${id}`;
  }
  /** PG_locked: made on first use (a full-size pool has hundreds of thousands of pages). */
  get lock(): PageLock {
    return (this.pageLock ??= new PageLock(this.objId));
  }
}

/** struct hstate counters for the 2 MiB size, as /proc/meminfo shows them. */
export class Hstate {
  nr = 0;
  free = 0;
  resv = 0;
  surplus = 0;
  /** nr_overcommit_hugepages: how many surplus pages may be allocated. */
  overcommit = 0;
  readonly pages: HugePage[] = [];
  readonly freeList: HugePage[] = [];
  /** Pages that were allocated (by id), for leak checks. */
  constructor(size: number, overcommit = 0) {
    this.overcommit = overcommit;
    for (let i = 0; i < size; i++) this.addPage(false);
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
      this.free--;
      return p;
    }
    return null;
  }
  get used(): number {
    return this.nr - this.free;
  }
}
