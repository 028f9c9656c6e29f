/**
 * The TLB model: each task runs on its own CPU, and each CPU caches the translations it used
 * (virtual huge page -> physical huge page, plus the paging-structure cache entry naming the PMD
 * table the walk went through). A cached translation is used without walking the page tables
 * until a TLB flush of its mm and range reaches the CPU (flush_tlb_mm_range / flush_hugetlb_tlb_range
 * send IPIs to every CPU running the mm). Interrupts disabled on a CPU (local_irq_save, as GUP-fast
 * does) hold such an IPI off: the flushing CPU waits (smp_call_function_many with wait=1).
 */
import type { Kernel } from '../engine/kernel.js';
import type { Thread } from '../engine/thread.js';
import type { Mm } from './mm.js';
import type { HugePage } from './page.js';
import type { Inode } from './inode.js';
import type { PmdTable } from './pgtable.js';

/**
 * Translations one CPU caches: the second-level TLB of recent x86 cores (1,536 entries shared by
 * 4 KiB and 2 MiB pages on Skylake and later). Small workloads never reach it.
 */
export const TLB_ENTRIES = 1536;

/** One cached translation of a CPU. */
export interface TlbEntry {
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

/** Per-machine TLB state: the entries of every CPU (= task) and which CPUs have interrupts off. */
export class TlbState {
  private readonly cpus = new Map<Thread, Map<string, TlbEntry>>();
  private readonly irqOff = new Map<Thread, number>();
  /** Flushes that invalidated at least one entry, for tests and traces. */
  flushes = 0;
  /** Flushes of each mm so far: a walk that saw one happen while it ran caches nothing. */
  private readonly epochs = new Map<Mm, number>();

  /** The mm's flush count (read when a hardware walk starts). */
  epoch(mm: Mm): number {
    return this.epochs.get(mm) ?? 0;
  }

  lookup(t: Thread, mm: Mm, haddr: number): TlbEntry | undefined {
    return this.cpus.get(t)?.get(key(mm, haddr));
  }
  fill(t: Thread, e: TlbEntry): void {
    let m = this.cpus.get(t);
    if (!m) this.cpus.set(t, (m = new Map()));
    const k = key(e.mm, e.haddr);
    // A CPU holds at most TLB_ENTRIES translations: the oldest goes first (a FIFO stand-in for the
    // hardware's replacement policy). Bounds memory and flush work at full scale.
    if (m.size >= TLB_ENTRIES && !m.has(k)) m.delete(m.keys().next().value as string);
    m.set(k, e);
  }
  /** Drop every entry of mm in [start, end) on every CPU. Returns how many went. */
  invalidate(mm: Mm, start: number, end: number): number {
    this.epochs.set(mm, this.epoch(mm) + 1);
    let n = 0;
    for (const m of this.cpus.values()) {
      for (const [k, e] of m) {
        if (e.mm === mm && e.haddr >= start && e.haddr < end) {
          m.delete(k);
          n++;
        }
      }
    }
    if (n > 0) this.flushes++;
    return n;
  }
  entries(t: Thread): TlbEntry[] {
    return [...(this.cpus.get(t)?.values() ?? [])];
  }
  irqsDisabled(t: Thread): boolean {
    return (this.irqOff.get(t) ?? 0) > 0;
  }
  setIrq(t: Thread, delta: 1 | -1): void {
    this.irqOff.set(t, (this.irqOff.get(t) ?? 0) + delta);
  }
}

const key = (mm: Mm, haddr: number): string => `${mm.name}@${haddr}`;

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
