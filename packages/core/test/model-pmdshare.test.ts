/**
 * PMD sharing rules pinned against the kernel:
 * mm/hugetlb.c huge_pte_alloc(), huge_pmd_share(), vma_shareable(), page_table_shareable(),
 * huge_pmd_unshare() @ v5.6 (lock map §B.1-B.4), and the PMD-table page lifetime (pmd_free).
 */
import { describe, it, expect } from 'vitest';
import { checkQuiescence, pudIndex, sysMmap, sysMunmap, sysTouch, sysMprotect, sysFallocate, type Kernel, type Mm } from '../src/index.js';
import { BASE, GiB, MiB, kernel, run } from './model-helpers.js';

interface MapArgs {
  addr: number;
  len: number;
  offset: number;
  shared?: boolean;
}

function map(k: Kernel, mm: Mm, a: MapArgs): void {
  const r = run(k, `mmap-${mm.name}`, mm.name, (c) => sysMmap(c, mm, k.inodes.get('f')!, a.addr, a.len, a.offset, a.shared ?? true, true));
  expect(r.result).toBe('ok');
}
function touch(k: Kernel, mm: Mm, addr: number, write = true): string {
  return run(k, `touch-${mm.name}`, mm.name, (c) => sysTouch(c, mm, addr, write));
}
/** Two processes with the same file, each mapping it as given and faulting in `fa` (A) then `fb` (B). */
function twoMaps(a: MapArgs, b: MapArgs, fa: number, fb: number) {
  const k = kernel(2048);
  k.addInode('f', 4 * GiB);
  const A = k.addMm('A');
  const B = k.addMm('B');
  map(k, A, a);
  map(k, B, b);
  expect(touch(k, A, fa)).toBe('ok');
  expect(touch(k, B, fb)).toBe('ok');
  return { k, A, B, ta: A.pud.get(pudIndex(fa))!, tb: B.pud.get(pudIndex(fb))! };
}

describe('PMD sharing happens exactly when the kernel allows it (huge_pmd_share @ v5.6)', () => {
  it('shares: same file offset, same PUD-aligned address, whole 1 GiB inside both VMAs (vma_shareable + page_table_shareable)', () => {
    const { k, ta, tb, A, B } = twoMaps({ addr: BASE, len: GiB, offset: 0 }, { addr: BASE, len: GiB, offset: 0 }, BASE, BASE + 2 * MiB);
    expect(ta).toBeDefined();
    expect(tb).toBe(ta); // B's pud points at A's PMD page
    expect(ta.refcount).toBe(2); // page_count: 1 for the creator + 1 extra sharer (§B.3, K5.6)
    expect(A.nrPmds).toBe(1);
    expect(B.nrPmds).toBe(1); // mm_inc_nr_pmds on pud_populate
    expect(k.tables.inUse).toBe(1); // no private table was allocated for B
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('a third sharer adds one more reference (refcount = 1 + extra sharers)', () => {
    const { k, ta } = twoMaps({ addr: BASE, len: GiB, offset: 0 }, { addr: BASE, len: GiB, offset: 0 }, BASE, BASE);
    const C = k.addMm('C');
    map(k, C, { addr: BASE, len: GiB, offset: 0 });
    expect(touch(k, C, BASE + 4 * MiB)).toBe('ok');
    expect(C.pud.get(pudIndex(BASE))).toBe(ta);
    expect(ta.refcount).toBe(3);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('shares across different virtual addresses when the file offset and pmd_index match (page_table_shareable compares pmd_index, not addresses)', () => {
    // A maps file [0, 2G) at BASE; B maps file [1G, 2G) at BASE + 4G. File offset 1G: A at BASE+1G, B at BASE+4G; pmd_index 0 in both.
    const { k, A, B } = twoMaps({ addr: BASE, len: 2 * GiB, offset: 0 }, { addr: BASE + 4 * GiB, len: GiB, offset: GiB }, BASE + GiB, BASE + 4 * GiB);
    expect(B.pud.get(pudIndex(BASE + 4 * GiB))).toBe(A.pud.get(pudIndex(BASE + GiB)));
    expect(A.pud.get(pudIndex(BASE + GiB))!.refcount).toBe(2);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('not shared: misaligned mapping, the same file offset at a different offset within the PUD (pmd_index(addr) != pmd_index(saddr))', () => {
    // B maps file [0, 2G) at BASE + 2M: B's PUD range [BASE+1G, BASE+2G) is wholly inside B's vma (vma_shareable holds)
    // and maps file offset 1G-2M, which A maps at BASE+1G-2M (pmd_index 511 vs 0).
    const { k, A, tb } = twoMaps({ addr: BASE, len: 2 * GiB, offset: 0 }, { addr: BASE + 2 * MiB, len: 2 * GiB, offset: 0 }, BASE + GiB - 2 * MiB, BASE + GiB);
    expect(A.pud.get(pudIndex(BASE))).toBeDefined();
    expect(tb).not.toBe(A.pud.get(pudIndex(BASE)));
    expect(tb.refcount).toBe(1);
    expect(A.pud.get(pudIndex(BASE))!.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('not shared: different file offsets at the same address (the interval-tree walk visits only vmas mapping file page idx)', () => {
    const { k, ta, tb } = twoMaps({ addr: BASE, len: GiB, offset: 0 }, { addr: BASE, len: GiB, offset: GiB }, BASE, BASE);
    expect(tb).not.toBe(ta);
    expect(ta.refcount).toBe(1);
    expect(tb.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('not shared: the faulting mapping is shorter than the PUD range (vma_shareable fails)', () => {
    const { k, ta, tb } = twoMaps({ addr: BASE, len: GiB, offset: 0 }, { addr: BASE, len: GiB - 2 * MiB, offset: 0 }, BASE, BASE);
    expect(tb).not.toBe(ta);
    expect(ta.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('not shared: the candidate mapping is shorter than the PUD range (page_table_shareable: svma must cover sbase..s_end)', () => {
    const { k, ta, tb } = twoMaps({ addr: BASE, len: GiB - 2 * MiB, offset: 0 }, { addr: BASE, len: GiB, offset: 0 }, BASE, BASE);
    expect(tb).not.toBe(ta);
    expect(tb.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('not shared: private mappings (no VM_MAYSHARE)', () => {
    const { k, ta, tb } = twoMaps({ addr: BASE, len: GiB, offset: 0, shared: false }, { addr: BASE, len: GiB, offset: 0, shared: false }, BASE, BASE);
    expect(tb).not.toBe(ta);
    expect(ta.refcount).toBe(1);
    expect(tb.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('not shared when the candidate has no PMD table yet (huge_pte_offset(svma->vm_mm) returns NULL)', () => {
    const k = kernel(1024);
    k.addInode('f', GiB);
    const A = k.addMm('A');
    const B = k.addMm('B');
    map(k, A, { addr: BASE, len: GiB, offset: 0 });
    map(k, B, { addr: BASE, len: GiB, offset: 0 });
    expect(touch(k, B, BASE)).toBe('ok');
    expect(A.pud.size).toBe(0);
    expect(B.pud.get(pudIndex(BASE))!.refcount).toBe(1);
    // A faults later and shares B's table.
    expect(touch(k, A, BASE + 2 * MiB)).toBe('ok');
    expect(A.pud.get(pudIndex(BASE))).toBe(B.pud.get(pudIndex(BASE)));
  });
});

describe('a sharer sees the pages already mapped in the shared PMD page without faulting', () => {
  it('B faults once (its pud is none), then reaches A\'s pages through the shared table', () => {
    const k = kernel(2048);
    k.addInode('f', GiB);
    const A = k.addMm('A');
    const B = k.addMm('B');
    map(k, A, { addr: BASE, len: GiB, offset: 0 });
    map(k, B, { addr: BASE, len: GiB, offset: 0 });
    const faults = new Map<string, number>();
    k.bus.on('fault:begin', (_t, mm) => faults.set(mm.name, (faults.get(mm.name) ?? 0) + 1));
    for (let i = 0; i < 4; i++) expect(touch(k, A, BASE + i * 2 * MiB)).toBe('ok');
    expect(faults.get('A')).toBe(4);
    // B's first access: its pud is none, so the MMU faults and huge_pmd_share() attaches A's table.
    expect(touch(k, B, BASE)).toBe('ok');
    expect(faults.get('B')).toBe(1);
    // The other three pages are already there.
    for (let i = 1; i < 4; i++) expect(touch(k, B, BASE + i * 2 * MiB)).toBe('ok');
    expect(faults.get('B')).toBe(1);
    // A page nobody mapped still faults, and the new pte is then visible to A without a fault.
    expect(touch(k, B, BASE + 10 * 2 * MiB)).toBe('ok');
    expect(faults.get('B')).toBe(2);
    expect(touch(k, A, BASE + 10 * 2 * MiB)).toBe('ok');
    expect(faults.get('A')).toBe(4);
    expect(k.hstate.used).toBe(5);
    expect(checkQuiescence(k)).toEqual([]);
  });
});

describe('huge_pmd_unshare @ v5.6 and the PMD page lifetime', () => {
  function shared3() {
    const k = kernel(2048);
    k.addInode('f', GiB);
    const mms = ['A', 'B', 'C'].map((n) => k.addMm(n));
    for (const mm of mms) map(k, mm, { addr: BASE, len: GiB, offset: 0 });
    for (const [i, mm] of mms.entries()) expect(touch(k, mm, BASE + i * 2 * MiB)).toBe('ok');
    const t = mms[0]!.pud.get(pudIndex(BASE))!;
    expect(t.refcount).toBe(3);
    return { k, A: mms[0]!, B: mms[1]!, C: mms[2]!, t };
  }

  it('munmap of a sharer clears only its PUD and drops one reference; the last munmap frees the table', () => {
    const { k, A, B, C, t } = shared3();
    expect(run(k, 'munmap-B', 'B', (c) => sysMunmap(c, B, BASE, GiB))).toBe('ok');
    expect(B.pud.has(pudIndex(BASE))).toBe(false);
    expect(B.nrPmds).toBe(0); // mm_dec_nr_pmds
    expect(A.pud.get(pudIndex(BASE))).toBe(t);
    expect(C.pud.get(pudIndex(BASE))).toBe(t);
    expect(t.refcount).toBe(2);
    expect(t.free).toBe(false);
    // Unshare leaves the entries alone (the other sharers still map the pages).
    expect(t.presentCount()).toBe(3);
    expect(run(k, 'munmap-A', 'A', (c) => sysMunmap(c, A, BASE, GiB))).toBe('ok');
    expect(t.refcount).toBe(1);
    expect(C.pud.get(pudIndex(BASE))).toBe(t);
    expect(t.free).toBe(false);
    // The last sharer is not "shared": huge_pmd_unshare returns 0, the ptes are zapped, free_pgd_range frees the table.
    expect(run(k, 'munmap-C', 'C', (c) => sysMunmap(c, C, BASE, GiB))).toBe('ok');
    expect(C.pud.size).toBe(0);
    expect(t.free).toBe(true);
    expect(k.tables.inUse).toBe(0);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('a freed PMD page is reused by the allocator with a new generation', () => {
    const { k, A, B, C, t } = shared3();
    for (const mm of [A, B, C]) run(k, `munmap-${mm.name}`, mm.name, (c) => sysMunmap(c, mm, BASE, GiB));
    const gen = t.gen;
    expect(t.free).toBe(true);
    const D = k.addMm('D');
    map(k, D, { addr: BASE, len: GiB, offset: 0 });
    expect(touch(k, D, BASE)).toBe('ok');
    const t2 = D.pud.get(pudIndex(BASE))!;
    expect(t2).toBe(t); // LIFO reuse of the same page
    expect(t2.gen).toBe(gen + 1);
    expect(t2.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('mprotect unshares (hugetlb_change_protection -> huge_pmd_unshare) and leaves the other sharers mapped', () => {
    const { k, A, B, t } = shared3();
    expect(run(k, 'mprotect-A', 'A', (c) => sysMprotect(c, A, BASE, GiB, false))).toBe('ok');
    expect(A.pud.has(pudIndex(BASE))).toBe(false);
    expect(B.pud.get(pudIndex(BASE))).toBe(t);
    expect(t.refcount).toBe(2);
    // A faults the page back in; its vm_flags (no VM_WRITE) now differ from B's and C's, so page_table_shareable()
    // refuses them and A gets a private table.
    expect(touch(k, A, BASE, false)).toBe('ok');
    expect(A.pud.get(pudIndex(BASE))).not.toBe(t);
    expect(checkQuiescence(k)).toEqual([]);
  });

  it('hole punch unshares every sharer but the last, which then owns the table alone (hugetlb_vmdelete_list -> unmap_hugepage_range)', () => {
    const { k, A, B, C, t } = shared3();
    expect(run(k, 'punch', '', (c) => sysFallocate(c, k.inodes.get('f')!, 8 * MiB, 2 * MiB, true))).toBe('ok');
    const holders = [A, B, C].filter((mm) => mm.pud.get(pudIndex(BASE)) === t);
    expect(holders.length).toBe(1);
    expect(t.refcount).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
  });
});
