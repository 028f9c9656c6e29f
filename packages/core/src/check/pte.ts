/** Checkers on pte pointers: pte-use-after-free and pte-stale-owner (seed 002's diagram). */
import type { Kernel } from '../engine/kernel.js';
import type { PteAccessEvent } from '../engine/events.js';
import { pudIndex } from '../model/constants.js';
import { hex } from '../ops/pgtable.js';

export function attachPteChecker(k: Kernel): void {
  k.bus.on('pte:access', (e: PteAccessEvent) => {
    const { ptep, t, fn, what } = e;
    const verb = what === 'ptl' ? 'takes the page-table lock through' : what === 'write' ? 'writes a PTE through' : 'reads a PTE through';
    if (ptep.table.free || ptep.table.gen !== ptep.gen) {
      const reused = !ptep.table.free && ptep.table.gen !== ptep.gen;
      const owner = reused ? [...k.mms.values()].find((m) => [...m.pud.values()].includes(ptep.table)) : undefined;
      k.report({
        kind: 'pte-use-after-free',
        message: `${t.name} ${verb} a pte pointer into PMD page pmd${ptep.table.pfn} (${ptep.mm.name} ${hex(ptep.addr)}) in ${fn}, but that page-table page was freed${reused ? ` and reused${owner ? ` by ${owner.name}` : ''}` : ''}`,
        thread: t.name,
        fn,
      });
      return;
    }
    if (!e.speculative && ptep.mm.pud.get(pudIndex(ptep.addr)) !== ptep.table) {
      const owners = [...k.mms.values()].filter((m) => m !== ptep.mm && m.pud.get(pudIndex(ptep.addr)) === ptep.table).map((m) => m.name);
      k.report({
        kind: 'pte-stale-owner',
        message: `${t.name} ${verb} a pte pointer into pmd${ptep.table.pfn} in ${fn}, but ${ptep.mm.name} no longer maps that PMD page at ${hex(ptep.addr)} (huge_pmd_unshare ran${owners.length ? `; it belongs to ${owners.join(', ')}` : ''})`,
        thread: t.name,
        fn,
      });
    }
  });
}
