/**
 * Issue #5 paths, one task at a time: VMA split (partial munmap / mprotect, hugetlb_vm_op_split),
 * mremap (move_hugetlb_page_tables), fork with shared PMDs, MADV_DONTNEED on a private mapping and
 * SysV shm (shmget SHM_HUGETLB, shmat, shmdt, IPC_RMID).
 */
import { describe, it, expect } from 'vitest';
import { composeStrategy, noneStrategy, runOnce, stepLabel, shmSegmentOf, sysMunmapRange, type Op, type StrategyFeatures, type SyncStrategy, type WorkloadSpec, type Built } from '../src/index.js';
import { mapping } from './fixtures.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const sequential = { pick: (r: readonly { id: number }[]) => r[0]! } as const;

function withFeatures(f: Partial<StrategyFeatures>): SyncStrategy {
  return composeStrategy(noneStrategy, { name: 'test', description: '', seed: '-', kernel: '-', package: '-', features: { ...noneStrategy.features, ...f } });
}

const touch = (offset: number, write = true): Op => ({ op: 'touch', mapping: 'm', offset, length: 0, write, expect: 'ok' });

/** A and B map all of a 1 GiB file at the same address and share A's PMD table (setup); A then runs `ops`. */
function shared(ops: Op[], extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    name: 'vma-paths', description: '', tags: [], params: {}, pool: { hugePages: 520, overcommit: 0 }, faultMutexes: 8,
    files: [{ name: 'f', size: GiB }],
    processes: [
      { name: 'A', mappings: [mapping('m', GiB), mapping('moved', GiB, { mapAtStart: false })] },
      { name: 'B', mappings: [mapping('m', GiB)] },
    ],
    setup: [
      { process: 'A', op: touch(0) },
      { process: 'B', op: touch(0) },
    ],
    threads: [{ name: 'A', process: 'A', ops }],
    ...extra,
  };
}

/** Run sequentially; returns the built kernel and the set of kernel functions that ran a step. */
function run(spec: WorkloadSpec, s: SyncStrategy): { built: Built; fns: Set<string>; labels: string[]; violations: string[] } {
  const fns = new Set<string>();
  const labels: string[] = [];
  const { exec, built } = runOnce(spec, s, sequential as never, {
    seed: 1,
    stopOnViolation: false,
    onBuilt: (b) => {
      b.kernel.stepListeners = true;
      b.kernel.bus.on('step', (_t, st) => {
        fns.add(st.fn);
        labels.push(stepLabel(st));
      });
    },
  });
  return { built, fns, labels, violations: exec.violations.map((v) => `${v.kind}: ${v.message}`) };
}

describe('VMA split (mm/mmap.c __split_vma, hugetlb_vm_op_split)', () => {
  it('5.6: a partial mprotect splits A\'s vma at 2 MiB; hugetlb_change_protection unshares A\'s PUD; B keeps the table', () => {
    const r = run(shared([{ op: 'mprotect', mapping: 'm', write: false, offset: 0, length: 2 * MiB, expect: 'ok' }]), noneStrategy);
    expect(r.violations).toEqual([]);
    const k = r.built.kernel;
    const A = k.mms.get('A')!;
    const B = k.mms.get('B')!;
    const vmas = A.vmas.slice().sort((a, b) => a.start - b.start);
    expect(vmas.map((v) => [v.end - v.start, v.flags.write])).toEqual([
      [2 * MiB, false],
      [GiB - 2 * MiB, true],
    ]);
    // The upper half starts 2 MiB into the file: vm_pgoff in 4 KiB pages.
    expect(vmas[1]!.pgoff).toBe((2 * MiB) / 4096);
    expect(k.inodes.get('f')!.iMmap.length).toBe(3);
    expect(A.pud.size).toBe(0);
    expect([...B.pud.values()][0]!.refcount).toBe(1);
    expect(r.fns.has('hugetlb_unshare_pmds')).toBe(false);
    expect(r.fns.has('hugetlb_change_protection')).toBe(true);
  });

  it('6.1.15 (splitUnsharesPmds): the split itself unshares the PUD range around a non-PUD-aligned address first', () => {
    const r = run(shared([{ op: 'munmap', mapping: 'm', offset: GiB - 2 * MiB, length: 2 * MiB, expect: 'ok' }]), withFeatures({ splitUnsharesPmds: true }));
    expect(r.violations).toEqual([]);
    const A = r.built.kernel.mms.get('A')!;
    expect(A.vmas.map((v) => v.end - v.start)).toEqual([GiB - 2 * MiB]);
    expect(A.pud.size).toBe(0);
    const unshareAt = r.labels.findIndex((l) => /unshare pmd/.test(l));
    const adjustAt = r.labels.findIndex((l) => /vm_(start|end) = /.test(l));
    expect(r.fns.has('hugetlb_unshare_pmds')).toBe(true);
    expect(unshareAt).toBeGreaterThanOrEqual(0);
    expect(unshareAt).toBeLessThan(adjustAt);
  });

  it('the split halves can no longer share: a later fault in A allocates a private table', () => {
    const r = run(shared([{ op: 'munmap', mapping: 'm', offset: GiB - 2 * MiB, length: 2 * MiB, expect: 'ok' }, touch(4 * MiB)]), noneStrategy);
    expect(r.violations).toEqual([]);
    const k = r.built.kernel;
    const ta = [...k.mms.get('A')!.pud.values()][0]!;
    const tb = [...k.mms.get('B')!.pud.values()][0]!;
    expect(ta).not.toBe(tb);
    expect(ta.refcount).toBe(1);
  });

  it('a split address that is not huge-page aligned is refused (EINVAL)', () => {
    const spec = shared([]);
    spec.threads = [];
    const r = run(spec, noneStrategy);
    const k = r.built.kernel;
    const A = k.mms.get('A')!;
    const t = k.spawn('x', 'A', (self) =>
      (function* () {
        return yield* sysMunmapRange({ k, t: self }, A, A.vmas[0]!.start + 4096, 2 * MiB);
      })(),
    );
    while (!t.done) k.stepThread(t);
    expect(t.result).toBe('EINVAL');
    expect(A.vmas.length).toBe(1);
  });
});

describe('mremap (mm/mremap.c move_vma, move_hugetlb_page_tables)', () => {
  const small = (): WorkloadSpec => ({
    name: 'mremap', description: '', tags: [], params: {}, pool: { hugePages: 8, overcommit: 0 }, faultMutexes: 8,
    files: [{ name: 'f', size: 4 * MiB }],
    processes: [{ name: 'A', mappings: [mapping('m', 4 * MiB), mapping('moved', 4 * MiB, { mapAtStart: false })] }],
    setup: [{ process: 'A', op: touch(0) }],
    threads: [{ name: 'A', process: 'A', ops: [{ op: 'mremap', mapping: 'm', to: 'moved', expect: 'ok' }] }],
  });

  it('before 5.16 a hugetlb vma cannot be moved: EINVAL', () => {
    const spec = small();
    spec.threads[0]!.ops = [{ op: 'mremap', mapping: 'm', to: 'moved', expect: 'EINVAL' }];
    const r = run(spec, noneStrategy);
    expect(r.violations).toEqual([]);
    expect(r.built.kernel.mms.get('A')!.vmas.length).toBe(1);
  });

  it('5.16+: the entry moves to the new address (same page, same mapcount) and the old range is unmapped', () => {
    const r = run(small(), withFeatures({ mremapMovesHugetlb: true }));
    expect(r.violations).toEqual([]);
    const k = r.built.kernel;
    const A = k.mms.get('A')!;
    const to = r.built.addresses.get('A')!.get('moved')!;
    expect(A.vmas.map((v) => v.start)).toEqual([to]);
    const page = k.inodes.get('f')!.pageCache.get(0)!;
    expect(page.mapcount).toBe(1);
    const t = A.pud.get(Math.floor(to / GiB))!;
    expect(t.page[0]).toBe(page.id);
    expect(k.inodes.get('f')!.iMmap.length).toBe(1);
  });

  it('a shared table is unshared, not moved: B keeps it; A\'s new range starts empty', () => {
    const r = run(shared([{ op: 'mremap', mapping: 'm', to: 'moved', expect: 'ok' }]), withFeatures({ mremapMovesHugetlb: true }));
    expect(r.violations).toEqual([]);
    const k = r.built.kernel;
    expect(k.mms.get('A')!.pud.size).toBe(0);
    expect([...k.mms.get('B')!.pud.values()][0]!.refcount).toBe(1);
  });

  it('a 1 GiB-aligned move of a table that is not shared: huge_pte_alloc() on the new vma reaches huge_pmd_share() under i_mmap_rwsem held for write', () => {
    const spec = shared([{ op: 'mremap', mapping: 'm', to: 'moved' }]);
    spec.setup = [{ process: 'A', op: touch(0) }];
    // pmdShareTakesIMmap (5.6, 6.1): huge_pmd_share() takes i_mmap_rwsem for read itself.
    const r = run(spec, withFeatures({ mremapMovesHugetlb: true }));
    expect(r.violations.some((v) => v.startsWith('deadlock:') && v.includes('huge_pmd_share'))).toBe(true);
  });
});

describe('fork of a process whose mapping shares a PMD table (copy_hugetlb_page_range)', () => {
  const forkSpec = (): WorkloadSpec => shared([{ op: 'fork', child: 'child', ops: [touch(2 * MiB)], expect: 'ok' }]);

  it('5.6: the child\'s huge_pte_alloc() shares the same table, so nothing is copied (dst_pte == src_pte)', () => {
    const r = run(forkSpec(), noneStrategy);
    expect(r.violations).toEqual([]);
    expect(r.fns.has('copy_hugetlb_page_range')).toBe(true);
    // The child shared the table during the copy (A, B, child), touched, and exited (unshare): A and B remain.
    expect(r.labels.some((l) => /get_page\(pmd\d+\) \[share with A\]/.test(l) || /get_page\(pmd\d+\) \[share with B\]/.test(l))).toBe(true);
    const k = r.built.kernel;
    expect([...k.mms.get('A')!.pud.values()][0]!.refcount).toBe(2);
    expect(k.mms.get('child')!.exited).toBe(true);
  });

  it('6.1 (forkCopiesShared off): a shared vma without an anon_vma is not copied; the child faults in its own walk', () => {
    const r = run(forkSpec(), withFeatures({ forkCopiesShared: false }));
    expect(r.violations).toEqual([]);
    expect(r.fns.has('copy_hugetlb_page_range')).toBe(false);
    // The child's own fault shared the table (huge_pmd_share through i_mmap) before it exited.
    expect(r.fns.has('huge_pmd_share')).toBe(true);
  });
});

describe('MADV_DONTNEED on a private mapping (zap_page_range_single)', () => {
  it('the anonymous page goes back to the pool at tlb_finish_mmu; a later write fault allocates it again', () => {
    const spec: WorkloadSpec = {
      name: 'madv-private', description: '', tags: [], params: {}, pool: { hugePages: 1, overcommit: 0 }, faultMutexes: 8,
      files: [{ name: 'f', size: 2 * MiB }],
      processes: [{ name: 'A', mappings: [mapping('m', 2 * MiB, { shared: false })] }],
      setup: [{ process: 'A', op: touch(0) }],
      threads: [{ name: 'A', process: 'A', ops: [{ op: 'madvise', mapping: 'm', advice: 'dontneed', expect: 'ok' }, { op: 'assert', pool: { free: 1 } }, touch(0), { op: 'assert', pool: { free: 0 } }] }],
    };
    const r = run(spec, withFeatures({ madviseDontneed: true }));
    expect(r.violations).toEqual([]);
  });
});

describe('SysV shm with SHM_HUGETLB (ipc/shm.c)', () => {
  const shmSpec = (ops: Op[], bOps: Op[] = []): WorkloadSpec => ({
    name: 'shm', description: '', tags: [], params: {}, pool: { hugePages: 512, overcommit: 0 }, faultMutexes: 8,
    files: [{ name: 'f', size: GiB, shm: true }],
    processes: [
      { name: 'A', mappings: [mapping('m', GiB)] },
      { name: 'B', mappings: [mapping('m', GiB)] },
    ],
    setup: [
      { process: 'A', op: touch(0) },
      { process: 'B', op: touch(0) },
    ],
    threads: [
      { name: 'A', process: 'A', ops },
      { name: 'B', process: 'B', ops: bOps },
    ],
  });

  it('shmget reserves the whole segment; two attaches at the same address share a PMD table', () => {
    const r = run(shmSpec([]), noneStrategy);
    expect(r.violations).toEqual([]);
    const k = r.built.kernel;
    const seg = shmSegmentOf(k.inodes.get('f')!)!;
    expect(seg.nattch).toBe(2);
    expect(k.hstate.resv).toBe(511);
    expect(k.mms.get('A')!.pud.values().next().value).toBe(k.mms.get('B')!.pud.values().next().value);
  });

  it('IPC_RMID while attached marks SHM_DEST; the last shmdt destroys the segment and evicts the inode (pages and reservations back)', () => {
    const r = run(shmSpec([{ op: 'shmctl', file: 'f', cmd: 'rmid', expect: 'ok' }, { op: 'shmdt', mapping: 'm', expect: 'ok' }], [{ op: 'shmdt', mapping: 'm', expect: 'ok' }, { op: 'assert', pool: { free: 512, reserved: 0 } }]), noneStrategy);
    expect(r.violations).toEqual([]);
    const seg = shmSegmentOf(r.built.kernel.inodes.get('f')!)!;
    expect(seg.nattch).toBe(0);
    expect(seg.removed).toBe(true);
    expect(r.built.kernel.inodes.get('f')!.pageCache.size).toBe(0);
  });

  it('shmat of a destroyed segment is EIDRM; shmdt where nothing is attached is EINVAL', () => {
    const spec = shmSpec([{ op: 'shmdt', mapping: 'm', expect: 'ok' }, { op: 'shmdt', mapping: 'm', expect: 'EINVAL' }], [{ op: 'shmdt', mapping: 'm', expect: 'ok' }]);
    spec.setup.push({ process: 'A', op: { op: 'shmctl', file: 'f', cmd: 'rmid', expect: 'ok' } });
    spec.threads.push({ name: 'A2', process: 'A', ops: [{ op: 'shmat', mapping: 'm', expect: 'EIDRM' }] });
    const r = run(spec, noneStrategy);
    expect(r.violations).toEqual([]);
  });

  it('fork of an attached process counts the child\'s attach (shm_open) and its exit detaches it (shm_close)', () => {
    const r = run(shmSpec([{ op: 'fork', child: 'kid', ops: [touch(2 * MiB)], expect: 'ok' }]), noneStrategy);
    expect(r.violations).toEqual([]);
    // Setup's two attaches are not traced; the fork's copy of the vma is one more.
    expect(r.labels.filter((l) => l === 'shp->shm_nattch++').length).toBe(1);
    expect(shmSegmentOf(r.built.kernel.inodes.get('f')!)!.nattch).toBe(2);
  });
});
