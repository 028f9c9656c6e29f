/**
 * The stale-tlb checker: a user access through a cached translation (model/tlb.ts) whose PMD table
 * was freed, or unshared from the mm by a path that has since released i_mmap_rwsem (the flush
 * must come before that, lock map B.5), or whose page was freed, with no flush of that CPU in
 * between (CVE-2021-4002: huge_pmd_unshare() without a TLB flush).
 */
import type { Kernel } from '../engine/kernel.js';
import type { TlbAccessEvent } from '../engine/events.js';
import { pudIndex } from '../model/constants.js';
import { hex } from '../ops/pgtable.js';

export function attachTlbChecker(k: Kernel): void {
  /** One report per cached entry, by its fill id (the access goes on; its later steps would repeat it). */
  const reported = new Set<number>();
  k.bus.on('tlb:access', (ev: TlbAccessEvent) => {
    const { entry: e, t, what } = ev;
    if (reported.has(e.id)) return;
    let why: string | null = null;
    if (what === 'table') {
      if (e.table.free || e.table.gen !== e.tableGen) why = `its PMD table pmd${e.table.pfn} was freed${e.table.free ? '' : ' and reused'}`;
      // Between pud_clear and the flush the unsharer still holds i_mmap_rwsem for write: every
      // shootdown has that window. Once it released the rmap lock the flush is overdue (lock map B.5).
      else if (e.mm.pud.get(pudIndex(e.haddr)) !== e.table && !e.inode?.iMmapRwsem.writer) why = `its PMD table pmd${e.table.pfn} was unshared from ${e.mm.name} (huge_pmd_unshare) and i_mmap_rwsem released`;
    } else if (e.page.free || e.page.gen !== e.pageGen) {
      why = `page ${e.page.id} was freed${e.page.free ? '' : ' and reallocated'}`;
    }
    if (!why) return;
    reported.add(e.id);
    k.report({
      kind: 'stale-tlb',
      message: `${t.name} ${ev.write ? 'stores' : 'loads'} through a TLB entry for ${e.mm.name} ${hex(e.haddr)} -> page ${e.page.id}, but ${why} and no TLB flush reached this CPU`,
      thread: t.name,
      fn: what === 'table' ? 'tlb_hit' : 'user_access',
    });
  });
}
