import { SpinLock } from '../kernel/locks.js';
import { PTRS_PER_PMD } from './constants.js';
import type { Mm } from './mm.js';

/** PTE flag bits of a PMD-level huge entry. */
export const PTE_PRESENT = 1;
export const PTE_WRITE = 2;
export const PTE_DIRTY = 4;
export const PTE_MIGRATION = 8;
export const PTE_HWPOISON = 16;

/**
 * A PMD page-table page: 512 huge PTEs, its split PMD lock (the ptlock in its struct page, so
 * every mm sharing it takes the same spinlock), and its share count (page refcount up to 6.3:
 * 1 for the creator plus one per extra sharer). Freed pages go back to a pool and are reused.
 */
export class PmdTable {
  /** Page id of the entry (0 = none). */
  readonly page = new Int32Array(PTRS_PER_PMD);
  readonly flags = new Uint8Array(PTRS_PER_PMD);
  /** page_count() of the table page. */
  refcount = 0;
  /** Bumped at every (re)allocation: a handle with an older generation points into freed memory. */
  gen = 0;
  free = true;
  readonly ptl: SpinLock;
  /** Footprint object name, "pmd:<pfn>" (built once: it is read at nearly every step). */
  readonly objId: string;
  /**
   * Footprint object of the table page's refcount (get_page / put_page / page_count on the
   * table's struct page): not an access to any entry.
   */
  readonly refObj: string;
  /** Footprint object names of the entries, "pmd:<pfn>[i]", built on first use. */
  private slots: string[] | null = null;
  constructor(readonly pfn: number) {
    this.ptl = new SpinLock(`spin:ptl#pmd${pfn}`, 'ptlock');
    this.objId = `pmd:${pfn}`;
    this.refObj = `pmd:${pfn}.count`;
  }
  /**
   * Footprint object of entry i: entries are separate words, so accesses to different entries
   * commute; the table's own object (objId) is their parent: allocating or freeing the table
   * conflicts with every entry (engine/dpor.ts).
   */
  slotObj(i: number): string {
    const a = (this.slots ??= []);
    return (a[i] ??= `${this.objId}[${i}]`);
  }
  clear(): void {
    this.page.fill(0);
    this.flags.fill(0);
  }
  presentCount(): number {
    let n = 0;
    for (let i = 0; i < PTRS_PER_PMD; i++) if (this.page[i] !== 0 || this.flags[i] !== 0) n++;
    return n;
  }
}

/** The page allocator for page-table pages: LIFO reuse, like the per-cpu free lists. */
export class TablePool {
  readonly all: PmdTable[] = [];
  private readonly freeList: PmdTable[] = [];
  /** pmd_alloc_one() @ v5.6: a zeroed page-table page with refcount 1. */
  alloc(): PmdTable {
    const t = this.freeList.pop() ?? this.create();
    t.gen++;
    t.free = false;
    t.refcount = 1;
    t.clear();
    return t;
  }
  /** pmd_free() @ v5.6: back to the allocator. Its memory may be handed out again at once. */
  release(t: PmdTable): void {
    t.free = true;
    t.refcount = 0;
    this.freeList.push(t);
  }
  get inUse(): number {
    return this.all.length - this.freeList.length;
  }
  private create(): PmdTable {
    const t = new PmdTable(this.all.length + 1);
    this.all.push(t);
    return t;
  }
}

/**
 * A pte pointer (pte_t *) as a handle: the table page it points into, that page's generation
 * when the pointer was made, and the slot. Also remembers which mm and address it was derived
 * for, so that use through a table the mm no longer maps is observable.
 */
export interface PtePtr {
  readonly table: PmdTable;
  readonly gen: number;
  readonly index: number;
  readonly mm: Mm;
  readonly addr: number;
}

/**
 * Non-present huge entries (swap-format PTEs): include/linux/swapops.h make_migration_entry() /
 * make_hwpoison_entry() @ v5.6, stored as the page id with the PTE_MIGRATION or PTE_HWPOISON bit and
 * without PTE_PRESENT. A migration entry keeps the write bit of the PTE it replaced.
 */
export function makeMigrationEntry(pageId: number, write: boolean): { page: number; flags: number } {
  return { page: pageId, flags: PTE_MIGRATION | (write ? PTE_WRITE : 0) };
}
export function makeHwpoisonEntry(pageId: number): { page: number; flags: number } {
  return { page: pageId, flags: PTE_HWPOISON };
}
/** include/linux/hugetlb.h is_hugetlb_entry_migration() @ v5.6 */
export const isMigrationEntry = (flags: number): boolean => (flags & PTE_PRESENT) === 0 && (flags & PTE_MIGRATION) !== 0;
/** mm/hugetlb.c is_hugetlb_entry_hwpoisoned() @ v5.6 */
export const isHwpoisonEntry = (flags: number): boolean => (flags & PTE_PRESENT) === 0 && (flags & PTE_HWPOISON) !== 0;
