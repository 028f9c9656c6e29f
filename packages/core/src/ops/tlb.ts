/** TLB flushes, interrupt disabling and user accesses through cached translations (the TLB model, model/tlb.ts). */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import type { Mm } from '../model/mm.js';
import { hpageAlignDown } from '../model/constants.js';
import { tlbObj, tlbOf, type TlbEntry } from '../model/tlb.js';
import { hex } from './pgtable.js';
import { sysTouch, type OpResult } from './syscalls.js';

/** The other CPUs a flush of mm must reach: every live task of the process (mm_cpumask). */
function otherCpus(c: Ctx, mm: Mm) {
  return c.k.threads.filter((t) => t !== c.t && !t.done && t.proc === mm.name);
}

/**
 * arch/x86/mm/tlb.c flush_tlb_mm_range() @ v5.6 (also reached from flush_hugetlb_tlb_range,
 * tlb_flush_mmu_tlbonly and tlb_finish_mmu): invalidate mm's translations in [start, end) on every
 * CPU running mm. The IPI to another CPU is answered only with interrupts enabled there, and the
 * caller spins until every CPU answered (smp_call_function_many, wait=1): a CPU inside GUP-fast
 * holds the flush off. An empty range (nothing gathered) flushes nothing and sends no IPI.
 */
export function* flushTlbRange(c: Ctx, mm: Mm, start: number, end: number, fn: string, label: string): KGen {
  const tlb = tlbOf(c.k);
  if (end <= start) {
    yield { fn, obj: '', access: 'none', label: `${label} [empty range: no flush]`, cost: 'step' };
    return;
  }
  const cpus = otherCpus(c, mm).length;
  yield {
    fn,
    obj: tlbObj(mm),
    access: 'write',
    label: () => `${label} [${hex(start)}-${hex(end)}]`,
    cost: 'tlbFlush',
    units: Math.max(1, cpus),
    // Waiting for IPI acknowledgements spins with preemption off: not a sleep.
    blocked: () => otherCpus(c, mm).some((t) => tlb.irqsDisabled(t)),
    run: () => {
      tlb.invalidate(mm, start, end);
    },
  };
}

/**
 * Interrupts off (on = true) or back on for this CPU: an atomic context, and in v5.0+ also an RCU
 * read-side section (consolidated RCU-sched). The 'rcu' cost makes DPOR order it against grace
 * periods as it does rcu_read_lock(). Pending IPIs (TLB flushes) are answered once they are back on.
 */
function* irqStep(c: Ctx, fn: string, on: boolean): KGen {
  const t = c.t;
  const d = on ? 1 : -1;
  yield {
    fn,
    obj: '',
    access: 'none',
    label: on ? 'local_irq_save()' : 'local_irq_restore()',
    cost: 'rcu',
    run: () => {
      tlbOf(c.k).setIrq(t, d);
      t.atomic += d;
      t.rcuDepth += d;
      if (!on && t.rcuDepth === 0) t.rcuExits++;
      c.k.emitRcu(t, on ? 'lock' : 'unlock');
    },
  };
}

/** include/linux/irqflags.h local_irq_save() @ v5.6 */
export const localIrqSave = (c: Ctx, fn: string): KGen => irqStep(c, fn, true);
/** include/linux/irqflags.h local_irq_restore() @ v5.6 */
export const localIrqRestore = (c: Ctx, fn: string): KGen => irqStep(c, fn, false);

/**
 * A user load or store that may hit the CPU's TLB: with a cached translation (for a store, a
 * writable one) the access goes through it without a page-table walk: the paging-structure cache
 * names the PMD table, the load/store reaches the page. An IPI that flushed the entry (or a walk that
 * refilled it) before the access completed makes the instruction start over; without an entry it is a `touch` (MMU walk,
 * fault).
 */
export function* sysAccess(c: Ctx, mm: Mm, addr: number, write: boolean): KGen<OpResult> {
  const haddr = hpageAlignDown(addr);
  const tlb = tlbOf(c.k);
  const cached = (): TlbEntry | undefined => {
    const e = tlb.lookup(c.t, mm, haddr);
    return e && (!write || e.write) ? e : undefined;
  };
  for (let tries = 0; tries < 8; tries++) {
    let hit: TlbEntry | undefined;
    yield { fn: 'tlb_lookup', obj: tlbObj(mm), access: 'read', label: () => `TLB lookup ${mm.name} ${hex(haddr)}`, cost: 'step', run: () => (hit = cached()) };
    const e: TlbEntry | undefined = hit;
    if (!e) return yield* sysTouch(c, mm, addr, write);
    let still = true;
    yield {
      fn: 'tlb_hit',
      obj: e.table.objId,
      access: 'read',
      label: () => `TLB hit ${mm.name} ${hex(haddr)} via pmd${e.table.pfn}`,
      cost: 'step',
      run: () => {
        still = cached()?.id === e.id;
        if (still) c.k.bus.emit('tlb:access', { t: c.t, entry: e, write, what: 'table' });
      },
    };
    if (!still) continue;
    yield {
      fn: 'user_access',
      obj: e.page.objId,
      access: write ? 'write' : 'read',
      label: () => `${write ? 'store to' : 'load from'} page ${e.page.id} through the TLB`,
      cost: 'userAccess',
      run: () => {
        still = cached()?.id === e.id;
        if (still) c.k.bus.emit('tlb:access', { t: c.t, entry: e, write, what: 'page' });
      },
    };
    if (still) return 'ok';
  }
  return 'EAGAIN';
}
