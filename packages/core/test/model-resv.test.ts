/**
 * Reservation accounting pinned against the kernel (lock map §C; mm/hugetlb.c @ v5.6):
 * hugetlb_reserve_pages() at mmap, alloc_huge_page() consuming reserves at fault,
 * hugetlb_unreserve_pages() on truncate (region_del(start, LONG_MAX) - freed) and per page on hole punch,
 * hugetlb_vm_op_close() returning a private mapping's unused reserves.
 */
import { describe, it, expect } from 'vitest';
import { checkQuiescence, sysMmap, sysMunmap, sysTouch, sysFtruncate, sysFallocate, type Kernel, type Mm, type Vma } from '../src/index.js';
import { BASE, MiB, kernel, run } from './model-helpers.js';

const HP = 2 * MiB;

/** A kernel with a watcher that fails the test if HugePages_Rsvd is ever negative after a step. */
function watched(pool: number): { k: Kernel; minResv: () => number } {
  const k = kernel(pool);
  let min = 0;
  k.stepListeners = true;
  k.bus.on('step', () => (min = Math.min(min, k.hstate.resv)));
  return { k, minResv: () => min };
}

function mmap(k: Kernel, mm: Mm, len: number, shared: boolean, offset = 0): Vma {
  const r = run(k, `mmap-${mm.name}`, mm.name, (c) => sysMmap(c, mm, k.inodes.get('f')!, BASE, len, offset, shared, true));
  expect(r.result).toBe('ok');
  return r.vma!;
}
const touch = (k: Kernel, mm: Mm, idx: number, write = true) => run(k, `touch-${mm.name}`, mm.name, (c) => sysTouch(c, mm, BASE + idx * HP, write));
const meminfo = (k: Kernel) => ({ total: k.hstate.nr, free: k.hstate.free, resv: k.hstate.resv });

describe('shared mappings: reserve at mmap, consume at fault, return on truncate and hole punch', () => {
  it('mmap reserves every page of the range once per file range (hugetlb_reserve_pages: region_chg counts only pages not yet in the map)', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 0);
    const A = k.addMm('A');
    const B = k.addMm('B');
    mmap(k, A, 4 * HP, true);
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 4 });
    expect(k.inodes.get('f')!.size).toBe(4 * HP); // hugetlbfs_file_mmap extends i_size for a writable mapping
    mmap(k, B, 4 * HP, true);
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 4 }); // the file's resv_map already covers [0, 4)
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });

  it('mmap fails with ENOMEM when the pool cannot back the reservation (hugetlb_acct_memory)', () => {
    const { k } = watched(3);
    k.addInode('f', 0);
    const A = k.addMm('A');
    const r = run(k, 'mmap', 'A', (c) => sysMmap(c, A, k.inodes.get('f')!, BASE, 4 * HP, 0, true, true));
    expect(r.result).toBe('ENOMEM');
    expect(meminfo(k)).toEqual({ total: 3, free: 3, resv: 0 });
  });

  it('a fault consumes its page\'s reservation: Rsvd and Free both drop by one (alloc_huge_page -> dequeue_huge_page_vma)', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 0);
    const A = k.addMm('A');
    const B = k.addMm('B');
    mmap(k, A, 4 * HP, true);
    mmap(k, B, 4 * HP, true);
    expect(touch(k, A, 0)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 7, resv: 3 });
    // The page is in the page cache: B's fault on the same index finds it and consumes nothing.
    expect(touch(k, B, 0, false)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 7, resv: 3 });
    expect(touch(k, A, 3, false)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 6, resv: 2 });
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });

  it('truncate returns the reservations never used beyond the new size: region_del(start, LONG_MAX) - freed', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 0);
    const A = k.addMm('A');
    mmap(k, A, 4 * HP, true);
    expect(touch(k, A, 0)).toBe('ok');
    expect(touch(k, A, 3)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 6, resv: 2 }); // idx 1, 2 reserved, unused
    expect(run(k, 'trunc', '', (c) => sysFtruncate(c, k.inodes.get('f')!, 2 * HP))).toBe('ok');
    // region_del(2, LONG_MAX) = 2 (idx 2 reserved, idx 3 in the page cache), freed = 1 (idx 3): resv -= 1.
    expect(meminfo(k)).toEqual({ total: 8, free: 7, resv: 1 });
    expect(k.inodes.get('f')!.resvMap.regions).toEqual([[0, 2]]);
    expect(k.inodes.get('f')!.blocks).toBe(1);
    expect(checkQuiescence(k)).toEqual([]);
    // Truncating to 0 returns the last one; no page remains.
    expect(run(k, 'trunc0', '', (c) => sysFtruncate(c, k.inodes.get('f')!, 0))).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 0 });
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });

  it('hole punch: each removed page gives back its region (hugetlb_unreserve_pages(idx, idx+1, 1), chg - freed = 0); unfaulted pages in the hole stay reserved', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 0);
    const A = k.addMm('A');
    mmap(k, A, 4 * HP, true);
    expect(touch(k, A, 1)).toBe('ok');
    expect(touch(k, A, 2)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 6, resv: 2 });
    expect(run(k, 'punch', '', (c) => sysFallocate(c, k.inodes.get('f')!, 0, 4 * HP, true))).toBe('ok');
    // remove_inode_hugepages() only visits pages in the page cache: idx 0 and 3 keep their reservation.
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 2 });
    expect(k.inodes.get('f')!.resvMap.regions).toEqual([
      [0, 1],
      [3, 4],
    ]);
    expect(k.inodes.get('f')!.size).toBe(4 * HP); // punching keeps i_size
    expect(checkQuiescence(k)).toEqual([]);
    // A new fault on a punched index needs a fresh reservation (region_chg = 1): it takes a free, unreserved page.
    expect(touch(k, A, 1)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 7, resv: 2 });
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });

  it('munmap of a shared mapping keeps the file\'s reservations (they belong to the inode\'s resv_map)', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 0);
    const A = k.addMm('A');
    mmap(k, A, 4 * HP, true);
    expect(touch(k, A, 0)).toBe('ok');
    expect(run(k, 'munmap', 'A', (c) => sysMunmap(c, A, BASE, 4 * HP))).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 7, resv: 3 }); // the page stays in the page cache
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });

  it('fallocate preallocates into the page cache and consumes the reservation of a reserved index', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 0);
    const A = k.addMm('A');
    mmap(k, A, 2 * HP, true);
    expect(run(k, 'falloc', '', (c) => sysFallocate(c, k.inodes.get('f')!, 0, 4 * HP, false))).toBe('ok');
    // idx 0, 1 used their reservations; idx 2, 3 had none and took free pages.
    expect(meminfo(k)).toEqual({ total: 8, free: 4, resv: 0 });
    expect(k.inodes.get('f')!.size).toBe(4 * HP);
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });
});

describe('private mappings: per-VMA reservations (HPAGE_RESV_OWNER)', () => {
  it('mmap reserves the whole VMA, a fault consumes one, munmap returns the unused ones (hugetlb_vm_op_close)', () => {
    const { k, minResv } = watched(8);
    k.addInode('f', 8 * HP);
    const A = k.addMm('A');
    const B = k.addMm('B');
    const va = mmap(k, A, 4 * HP, false);
    expect(va.resvOwner).toBe(true);
    mmap(k, B, 4 * HP, false);
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 8 }); // no sharing of private reservations
    expect(touch(k, A, 0)).toBe('ok');
    expect(touch(k, A, 1, false)).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 6, resv: 6 });
    expect(va.resvMap!.regions).toEqual([[0, 2]]); // private map: "reservation consumed"
    expect(checkQuiescence(k)).toEqual([]);
    expect(run(k, 'munmap', 'A', (c) => sysMunmap(c, A, BASE, 4 * HP))).toBe('ok');
    // 4 - region_count = 2 returned; the two anon pages are freed.
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 4 });
    expect(checkQuiescence(k)).toEqual([]);
    expect(run(k, 'munmapB', 'B', (c) => sysMunmap(c, B, BASE, 4 * HP))).toBe('ok');
    expect(meminfo(k)).toEqual({ total: 8, free: 8, resv: 0 });
    expect(checkQuiescence(k)).toEqual([]);
    expect(minResv()).toBe(0);
  });
});
