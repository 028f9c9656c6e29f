/**
 * The TLB model: each task runs on its own CPU, and each CPU caches the translations it used
 * (virtual huge page -> physical huge page, plus the paging-structure cache entry naming the PMD
 * table the walk went through). A cached translation is used without walking the page tables
 * until a TLB flush of its mm and range reaches the CPU (flush_tlb_mm_range / flush_hugetlb_tlb_range
 * send IPIs to every CPU running the mm). Interrupts disabled on a CPU (local_irq_save, as GUP-fast
 * does) hold such an IPI off: the flushing CPU waits (smp_call_function_many with wait=1).
 *
 * Representation (it is filled at every successful MMU walk, millions of times in a timed run):
 * each CPU keeps its translations in parallel typed arrays in fill order, no object per entry; a
 * TlbEntry object is made only when one is read (a cached access, entries()).
 */
import type { Kernel } from '../engine/kernel.js';
import type { Thread } from '../engine/thread.js';
import type { Mm } from './mm.js';
import type { HugePage } from './page.js';
import type { Inode } from './inode.js';
import type { PmdTable } from './pgtable.js';
import { HPAGE_SIZE } from './constants.js';

/**
 * Translations one CPU caches: the second-level TLB of recent x86 cores (1,536 entries shared by
 * 4 KiB and 2 MiB pages on Skylake and later). Small workloads never reach it.
 */
export const TLB_ENTRIES = 1536;

/** One cached translation of a CPU (made when read: the TLB keeps them in typed arrays). */
export interface TlbEntry {
  /** Which fill made it (unique per machine): a refill of the same address is a new entry. */
  readonly id: number;
  readonly mm: Mm;
  /** The huge page's virtual address (2 MiB aligned). */
  readonly haddr: number;
  /** The PMD table the walk went through, and its generation then (paging-structure cache). */
  readonly table: PmdTable;
  readonly tableGen: number;
  /** The page the translation maps, and its allocation generation then. */
  readonly page: HugePage;
  readonly pageGen: number;
  /** The entry allowed writes (a read-only translation does not serve a store). */
  readonly write: boolean;
  /** The file the page belonged to at fill time (whose i_mmap_rwsem an unsharer holds). */
  readonly inode: Inode | null;
}

/** The key of (mm, haddr) in a CPU's index: exact while mm ids stay below 2^21 and addresses below 2^53. */
const keyOf = (mm: Mm, haddr: number): number => mm.id * 2 ** 32 + haddr / HPAGE_SIZE;

/**
 * One CPU's translations, oldest first: slots [head, end) in fill order, a slot dead once
 * evicted or flushed (id 0). A refill of a cached address overwrites its slot and so keeps its
 * place in the order (the replacement order of a Map re-set with the same key).
 */
class CpuTlb {
  cap = 64;
  head = 0;
  end = 0;
  size = 0;
  /** key (keyOf) -> slot. */
  readonly index = new Map<number, number>();
  id = new Float64Array(this.cap);
  mm: Array<Mm | null> = new Array<Mm | null>(this.cap).fill(null);
  haddr = new Float64Array(this.cap);
  table: Array<PmdTable | null> = new Array<PmdTable | null>(this.cap).fill(null);
  tableGen = new Float64Array(this.cap);
  page: Array<HugePage | null> = new Array<HugePage | null>(this.cap).fill(null);
  pageGen = new Float64Array(this.cap);
  write = new Uint8Array(this.cap);
  inode: Array<Inode | null> = new Array<Inode | null>(this.cap).fill(null);

  slotOf(mm: Mm, haddr: number): number {
    return this.index.get(keyOf(mm, haddr)) ?? -1;
  }

  entry(s: number): TlbEntry {
    return { id: this.id[s]!, mm: this.mm[s]!, haddr: this.haddr[s]!, table: this.table[s]!, tableGen: this.tableGen[s]!, page: this.page[s]!, pageGen: this.pageGen[s]!, write: this.write[s] === 1, inode: this.inode[s]! };
  }

  put(s: number, id: number, mm: Mm, haddr: number, table: PmdTable, tableGen: number, page: HugePage, pageGen: number, write: boolean, inode: Inode | null): void {
    this.id[s] = id;
    this.mm[s] = mm;
    this.haddr[s] = haddr;
    this.table[s] = table;
    this.tableGen[s] = tableGen;
    this.page[s] = page;
    this.pageGen[s] = pageGen;
    this.write[s] = write ? 1 : 0;
    this.inode[s] = inode;
  }

  kill(s: number): void {
    this.index.delete(keyOf(this.mm[s]!, this.haddr[s]!));
    this.id[s] = 0;
    this.mm[s] = this.table[s] = this.page[s] = this.inode[s] = null;
    this.size--;
  }

  /** A slot at the end for a new address: drop the oldest at TLB_ENTRIES, compact or grow when full. */
  append(key: number): number {
    if (this.size >= TLB_ENTRIES) {
      while (this.id[this.head] === 0) this.head++;
      this.kill(this.head);
    }
    if (this.end === this.cap) this.compact();
    const s = this.end++;
    this.index.set(key, s);
    this.size++;
    return s;
  }

  /** Move the live slots to the front, in order, into arrays twice as large if they are more than half full. */
  private compact(): void {
    const from = { id: this.id, mm: this.mm, haddr: this.haddr, table: this.table, tableGen: this.tableGen, page: this.page, pageGen: this.pageGen, write: this.write, inode: this.inode };
    const oldEnd = this.end;
    if (this.size * 2 >= this.cap) {
      const cap = (this.cap *= 2);
      this.id = new Float64Array(cap);
      this.haddr = new Float64Array(cap);
      this.tableGen = new Float64Array(cap);
      this.pageGen = new Float64Array(cap);
      this.write = new Uint8Array(cap);
      this.mm = new Array<Mm | null>(cap).fill(null);
      this.table = new Array<PmdTable | null>(cap).fill(null);
      this.page = new Array<HugePage | null>(cap).fill(null);
      this.inode = new Array<Inode | null>(cap).fill(null);
    }
    // Slot n <= s: moving in place (same arrays) never overwrites a live slot not yet moved.
    let n = 0;
    for (let s = this.head; s < oldEnd; s++) {
      if (from.id[s] === 0) continue;
      const mm = from.mm[s]!;
      const haddr = from.haddr[s]!;
      this.put(n, from.id[s]!, mm, haddr, from.table[s]!, from.tableGen[s]!, from.page[s]!, from.pageGen[s]!, from.write[s] === 1, from.inode[s]!);
      this.index.set(keyOf(mm, haddr), n);
      n++;
    }
    if (this.id === from.id) {
      for (let s = n; s < oldEnd; s++) {
        this.id[s] = 0;
        this.mm[s] = this.table[s] = this.page[s] = this.inode[s] = null;
      }
    }
    this.head = 0;
    this.end = n;
  }
}

/** Per-machine TLB state: the entries of every CPU (= task) and which CPUs have interrupts off. */
export class TlbState {
  private readonly cpus = new Map<Thread, CpuTlb>();
  private readonly irqOff = new Map<Thread, number>();
  /** Fills so far: the next entry's id. */
  private fills = 0;
  /** Flushes that invalidated at least one entry, for tests and traces. */
  flushes = 0;
  /** Flushes of each mm so far: a walk that saw one happen while it ran caches nothing. */
  private readonly epochs = new Map<Mm, number>();

  /** The mm's flush count (read when a hardware walk starts). */
  epoch(mm: Mm): number {
    return this.epochs.get(mm) ?? 0;
  }

  /** CPU t's translation of (mm, haddr), if it has one. */
  lookup(t: Thread, mm: Mm, haddr: number): TlbEntry | undefined {
    const cpu = this.cpus.get(t);
    const s = cpu ? cpu.slotOf(mm, haddr) : -1;
    return s < 0 ? undefined : cpu!.entry(s);
  }
  /**
   * Cache a translation on CPU t (replacing its translation of the same address; the fields are
   * TlbEntry's, passed one by one so that a fill makes no object). Returns the new entry's id.
   */
  fill(t: Thread, mm: Mm, haddr: number, table: PmdTable, tableGen: number, page: HugePage, pageGen: number, write: boolean, inode: Inode | null): number {
    let cpu = this.cpus.get(t);
    if (!cpu) this.cpus.set(t, (cpu = new CpuTlb()));
    const k = keyOf(mm, haddr);
    // A CPU holds at most TLB_ENTRIES translations: the oldest goes first (a FIFO stand-in for the
    // hardware's replacement policy). Bounds memory and flush work at full scale.
    const s = cpu.index.get(k) ?? cpu.append(k);
    const id = ++this.fills;
    cpu.put(s, id, mm, haddr, table, tableGen, page, pageGen, write, inode);
    return id;
  }
  /** Drop every entry of mm in [start, end) on every CPU. Returns how many went. */
  invalidate(mm: Mm, start: number, end: number): number {
    this.epochs.set(mm, this.epoch(mm) + 1);
    let n = 0;
    for (const cpu of this.cpus.values()) {
      if (cpu.size === 0) continue;
      for (let s = cpu.head; s < cpu.end; s++) {
        if (cpu.id[s] !== 0 && cpu.mm[s] === mm && cpu.haddr[s]! >= start && cpu.haddr[s]! < end) {
          cpu.kill(s);
          n++;
        }
      }
    }
    if (n > 0) this.flushes++;
    return n;
  }
  /** CPU t's translations, oldest first. */
  entries(t: Thread): TlbEntry[] {
    const cpu = this.cpus.get(t);
    const out: TlbEntry[] = [];
    if (cpu) for (let s = cpu.head; s < cpu.end; s++) if (cpu.id[s] !== 0) out.push(cpu.entry(s));
    return out;
  }
  irqsDisabled(t: Thread): boolean {
    return (this.irqOff.get(t) ?? 0) > 0;
  }
  setIrq(t: Thread, delta: 1 | -1): void {
    this.irqOff.set(t, (this.irqOff.get(t) ?? 0) + delta);
  }
}

const states = new WeakMap<Kernel, TlbState>();

/** The TLB state of a machine (made on first use). */
export function tlbOf(k: Kernel): TlbState {
  let s = states.get(k);
  if (!s) states.set(k, (s = new TlbState()));
  return s;
}

/** Footprint object of an mm's TLB state (flushes write it, cached accesses read it). */
export function tlbObj(mm: Mm): string {
  return `tlb:${mm.name}`;
}
