/** Quiescence invariants: reserve-count, page-beyond-eof, page-leak, refcount, pmd-share-invalid. */
import type { Kernel } from '../engine/kernel.js';
import type { Violation } from '../engine/events.js';
import { HPAGE_SIZE, PUD_SIZE } from '../model/constants.js';
import { PTE_PRESENT, isMigrationEntry, type PmdTable } from '../model/pgtable.js';
import type { Mm } from '../model/mm.js';

type V = Omit<Violation, 'seq'>;

/** Check the model's invariants once every thread has finished. Returns what it reported. */
export function checkQuiescence(k: Kernel): V[] {
  const out: V[] = [];
  const h = k.hstate;
  // Pages never allocated (Hstate.untouched) have no object: free, unmapped, in no page cache.
  const live = h.pages.filter((p) => p !== undefined && !(p as { retired?: boolean }).retired);

  // free + used = total
  const freeCount = live.filter((p) => p.free).length + h.untouched;
  if (freeCount !== h.free || live.length + h.untouched !== h.nr) {
    out.push({ kind: 'page-leak', message: `pool counters disagree with the pages: HugePages_Free ${h.free} vs ${freeCount} free pages, HugePages_Total ${h.nr} vs ${live.length + h.untouched}` });
  }
  const cached = new Map<number, { inode: string; idx: number }>();
  for (const ino of k.inodes.values()) {
    const sizePages = Math.ceil(ino.size / HPAGE_SIZE);
    for (const [idx, p] of ino.pageCache) {
      cached.set(p.id, { inode: ino.name, idx });
      if (idx >= sizePages) {
        out.push({ kind: 'page-beyond-eof', message: `page ${p.id} is in the page cache of ${ino.name} at index ${idx}, beyond i_size (${sizePages} huge pages)` });
      }
    }
  }
  for (const p of live) {
    if (p.free) {
      if (p.refcount !== 0 || p.mapcount !== 0) out.push({ kind: 'refcount', message: `free page ${p.id} has refcount ${p.refcount}, mapcount ${p.mapcount}` });
      continue;
    }
    // A poisoned page keeps the reference memory_failure() took (MF_COUNT_INCREASED): it is never freed.
    const expect = (cached.has(p.id) ? 1 : 0) + p.mapcount + (p.hwpoison ? 1 : 0);
    if (p.refcount === 0 || expect === 0) {
      out.push({ kind: 'page-leak', message: `page ${p.id} is allocated but neither in a page cache nor mapped (refcount ${p.refcount}): leaked` });
    } else if (p.refcount !== expect) {
      out.push({ kind: 'refcount', message: `page ${p.id}: refcount ${p.refcount}, expected ${expect} (page cache ${cached.has(p.id) ? 1 : 0} + mapcount ${p.mapcount})` });
    }
  }
  // mapcount must match the PTEs that map each page.
  const ptes = new Map<number, number>();
  const tableRefs = new Map<PmdTable, Array<[Mm, number]>>();
  for (const mm of k.mms.values()) for (const [pi, t] of mm.pud) {
    const arr = tableRefs.get(t) ?? [];
    arr.push([mm, pi]);
    tableRefs.set(t, arr);
  }
  for (const t of tableRefs.keys()) {
    for (let i = 0; i < 512; i++) {
      const id = t.page[i]!;
      const fl = t.flags[i]!;
      if (!id) continue;
      if (isMigrationEntry(fl)) {
        const owners = tableRefs.get(t)!.map(([m, pi]) => `${m.name} 0x${(pi * PUD_SIZE + i * HPAGE_SIZE).toString(16)}`);
        out.push({ kind: 'migration-entry-leak', message: `a migration entry for page ${id} is left in pmd${t.pfn}[${i}] (${owners.join(', ')}) after every task finished: remove_migration_ptes() missed it, and a fault there waits forever` });
        continue;
      }
      if (!(fl & PTE_PRESENT)) continue;
      ptes.set(id, (ptes.get(id) ?? 0) + 1);
      const pg = h.pages[id - 1];
      if (pg?.hwpoison) out.push({ kind: 'hwpoison-mapped', message: `poisoned page ${id} is mapped by pmd${t.pfn}[${i}] (${tableRefs.get(t)!.map(([m]) => m.name).join(', ')}) at the end: never unmapped, or mapped again` });
    }
  }
  for (const ino of k.inodes.values()) for (const [idx, p] of ino.pageCache) {
    if (p.hwpoison) out.push({ kind: 'hwpoison-mapped', message: `poisoned page ${p.id} is still in the page cache of ${ino.name} at index ${idx}: a fault would map it again` });
  }
  for (const p of live) {
    const n = ptes.get(p.id) ?? 0;
    if (n !== p.mapcount) out.push({ kind: 'refcount', message: `page ${p.id}: mapcount ${p.mapcount} but ${n} page-table entries map it` });
  }

  // Reservations: HugePages_Rsvd must equal what the resv_maps imply.
  let expected = 0;
  for (const ino of k.inodes.values()) {
    for (const [a, b] of ino.resvMap.regions) for (let i = a; i < b; i++) if (!ino.pageCache.has(i)) expected++;
  }
  for (const mm of k.mms.values()) for (const v of mm.vmas) {
    if (v.resvOwner && v.resvMap) {
      const s = v.hugeIndex(v.start);
      const e = s + (v.end - v.start) / HPAGE_SIZE;
      expected += e - s - v.resvMap.covered(s, e);
    }
  }
  for (const p of live) if (!p.free && p.restoreReserve) expected--;
  if (h.resv !== expected) {
    out.push({ kind: 'reserve-count', message: `HugePages_Rsvd is ${h.resv} but the reserve maps account for ${expected}` });
  }
  if (h.resv > h.free) out.push({ kind: 'reserve-count', message: `HugePages_Rsvd ${h.resv} exceeds HugePages_Free ${h.free}` });

  // PMD tables: share counts and the kernel's sharing rules.
  for (const [t, refs] of tableRefs) {
    if (t.free) {
      out.push({ kind: 'pte-use-after-free', message: `pmd${t.pfn} is freed but still mapped by ${refs.map(([m]) => m.name).join(', ')}` });
      continue;
    }
    if (t.refcount !== refs.length) {
      out.push({ kind: 'refcount', message: `pmd${t.pfn}: page count ${t.refcount} but ${refs.length} PUD entries point at it` });
    }
    if (refs.length < 2) continue;
    let fileOff: string | null = null;
    for (const [mm, pi] of refs) {
      const lo = pi * PUD_SIZE;
      const v = mm.vmas.find((x) => x.start <= lo && x.end >= lo + PUD_SIZE);
      const key = v ? `${v.file.name}@${v.fileOffset + (lo - v.start)}` : null;
      if (!v || !v.flags.mayshare) {
        out.push({ kind: 'pmd-share-invalid', message: `pmd${t.pfn} is shared, but ${mm.name}'s range 0x${lo.toString(16)} is not wholly inside a shareable vma` });
      } else if (fileOff !== null && key !== fileOff) {
        out.push({ kind: 'pmd-share-invalid', message: `pmd${t.pfn} is shared by ranges that map different file offsets (${fileOff} vs ${key})` });
      }
      fileOff ??= key;
    }
  }
  for (const t of k.tables.all) {
    if (!t.free && !tableRefs.has(t)) out.push({ kind: 'page-leak', message: `pmd${t.pfn} (page count ${t.refcount}) is allocated but no mm points at it: page-table page leaked` });
  }
  for (const v of out) k.report(v);
  return out;
}
