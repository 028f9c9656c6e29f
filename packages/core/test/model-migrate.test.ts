/** Page migration and memory failure of hugetlb pages (issue #5): migration entries, the fault's wait, hwpoison entries. */
import { describe, it, expect } from 'vitest';
import { noneStrategy, runOnce, stepLabel, PTE_MIGRATION, PTE_HWPOISON, PTE_PRESENT, PTE_WRITE, type Thread, type WorkloadSpec, type Op, type Kernel, type PmdTable } from '../src/index.js';
import { mapping } from './fixtures.js';

const MiB = 2 ** 20;

function spec(shared: boolean, other: Op): WorkloadSpec {
  const m = { ...mapping('m', 4 * MiB), shared };
  return {
    name: 'mig', description: '', tags: [], params: {}, pool: { hugePages: 4, overcommit: 0 }, faultMutexes: 8,
    files: [{ name: 'f', size: 4 * MiB }],
    processes: [{ name: 'A', mappings: [m] }],
    setup: [{ process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } }],
    threads: [
      { name: 'M', process: 'A', ops: [other] },
      { name: 'T', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' }] },
    ],
  };
}

/** Run `op` alone (sequentially) after planting a state into A's PMD table right after setup; the violation kinds. */
function planted(op: Op, plant: (k: Kernel, t: PmdTable) => void): string[] {
  const s = spec(true, op);
  s.threads = [s.threads[0]!];
  const { exec } = runOnce(s, noneStrategy, { pick: (r) => r[0]! }, {
    seed: 1,
    stopOnViolation: false,
    onBuilt: (b) => plant(b.kernel, [...b.kernel.mms.get('A')!.pud.values()][0]!),
  });
  return exec.violations.map((v) => v.kind);
}

/** The first PTE of A (page 0 of the mapping). */
function pte0(k: Kernel): { page: number; flags: number } {
  const t = [...k.mms.get('A')!.pud.values()][0]!;
  return { page: t.page[0]!, flags: t.flags[0]! };
}

/** Run M until `until` holds, then T alone as far as it can go, then whatever is runnable (M first). */
function directed(k: () => Kernel, until: () => boolean) {
  let phase = 0;
  const tBlocked: string[] = [];
  return {
    tBlocked,
    pick(runnable: readonly Thread[]): Thread {
      const by = (n: string) => runnable.find((t) => t.name === n);
      if (phase === 0 && until()) phase = 1;
      if (phase === 0) return by('M') ?? runnable[0]!;
      const t = by('T');
      if (phase === 1 && t) return t;
      if (phase === 1) {
        const T = k().threads.find((x) => x.name === 'T')!;
        if (!T.done && T.pending) tBlocked.push(stepLabel(T.pending));
        phase = 2;
      }
      return by('M') ?? runnable[0]!;
    },
  };
}

describe('page migration (move_pages -> unmap_and_move_huge_page)', () => {
  for (const shared of [true, false]) {
    it(`${shared ? 'file' : 'anon'} page: a fault on the migration entry waits for the page lock, then resumes on the new page`, () => {
      let kk: Kernel | null = null;
      // Stop M once the migration entry is in and it has left the page-table lock (it still holds the page lock).
      const mDone = (k: Kernel) => k.threads.find((t) => t.name === 'M')!.held.every((h) => h.lock.kind !== 'spinlock');
      const sched = directed(() => kk!, () => kk !== null && (pte0(kk).flags & PTE_MIGRATION) !== 0 && mDone(kk));
      const { exec, built } = runOnce(spec(shared, { op: 'migrate', mapping: 'm', offset: 0, expect: 'ok' }), noneStrategy, sched, {
        seed: 1,
        stopOnViolation: false,
        onBuilt: (b) => (kk = b.kernel),
      });
      const k = built.kernel;
      // T ran into the migration entry and was left sleeping on the old page's lock.
      expect(sched.tBlocked[0]).toMatch(/wait_on_page_locked\(\d+\)/);
      expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
      const e = pte0(k);
      expect(e.flags & PTE_PRESENT).toBeTruthy();
      expect(e.flags & PTE_MIGRATION).toBe(0);
      const page = k.hstate.pages[e.page - 1]!;
      expect(page.mapcount).toBe(1);
      expect(page.anon).toBe(!shared);
      // The old page went back to the pool: exactly one page is in use (plus nothing leaked).
      expect(k.hstate.pages.filter((p) => p && !p.free).map((p) => p.id)).toEqual([e.page]);
      if (shared) expect(k.inodes.get('f')!.pageCache.get(0)).toBe(page);
      else expect(page.anonVma).toBe(k.mms.get('A')!.vmas[0]!.anonVma);
    });
  }

  it('a migration entry left behind is reported at the end (migration-entry-leak)', () => {
    // Plant it: a second PTE in A's table pointing at page 0 as a migration entry nobody restores.
    const kinds = planted({ op: 'migrate', mapping: 'm', offset: 0 }, (k, t) => {
      t.page[5] = t.page[0]!;
      t.flags[5] = PTE_MIGRATION;
      void k;
    });
    expect(kinds).toContain('migration-entry-leak');
  });
});

describe('memory failure (madvise MADV_HWPOISON -> memory_failure_hugetlb)', () => {
  it('the poisoned page is unmapped behind a hwpoison entry, leaves the page cache, and a later access gets SIGBUS', () => {
    const s = spec(true, { op: 'hwpoison', mapping: 'm', offset: 0, expect: 'ok' });
    s.threads[1]!.ops[0] = { op: 'touch', mapping: 'm', offset: 0, length: 0, write: false, expect: 'SIGBUS' };
    const { exec, built } = runOnce(s, noneStrategy, { pick: (r) => r[0]! }, { seed: 1, stopOnViolation: false });
    const k = built.kernel;
    expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
    const e = pte0(k);
    expect(e.flags).toBe(PTE_HWPOISON);
    const page = k.hstate.pages[e.page - 1]!;
    expect(page.hwpoison).toBe(true);
    expect(page.mapcount).toBe(0);
    expect(k.inodes.get('f')!.pageCache.size).toBe(0);
  });

  it('a poisoned page still mapped at the end is reported (hwpoison-mapped)', () => {
    const kinds = planted({ op: 'touch', mapping: 'm', offset: 0, length: 0, write: false }, (k, t) => (k.hstate.pages[t.page[0]! - 1]!.hwpoison = true));
    expect(kinds).toContain('hwpoison-mapped');
  });
});

describe('fork of a private mapping with an anonymous page (anon_vma_fork, copy_hugetlb_page_range)', () => {
  const forkOp = (exit: boolean): Op => ({ op: 'fork', child: 'child', ops: [], ...(exit ? {} : { exit: false as const }), expect: 'ok' });
  /** A private mapping with an anon page; M migrates it, T forks A (the child sleeps unless exit). */
  const forkSpec = (exit: boolean): WorkloadSpec => {
    const s = spec(false, { op: 'migrate', mapping: 'm', offset: 0, expect: 'ok' });
    s.threads[1] = { name: 'T', process: 'A', ops: [forkOp(exit)] };
    return s;
  };

  it('the child vma joins the parent\'s anon_vma tree and gets its own anon_vma under the same root rwsem; its exit leaves both', () => {
    const s = forkSpec(false);
    s.threads = [s.threads[1]!];
    const { exec, built } = runOnce(s, noneStrategy, { pick: (r) => r[0]! }, { seed: 1, stopOnViolation: false });
    expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
    const k = built.kernel;
    const pv = k.mms.get('A')!.vmas[0]!;
    const cv = k.mms.get('child')!.vmas[0]!;
    const pav = pv.anonVma!;
    expect(pav.vmas).toEqual([pv, cv]);
    expect(cv.anonVma).not.toBe(pav);
    expect(cv.anonVma!.root).toBe(pav);
    expect(cv.anonVma!.rwsem).toBe(pav.rwsem);
    expect(cv.anonVmaChain).toEqual([pav, cv.anonVma]);
    // The COW copy: both PTEs map the anon page read-only, mapcount 2.
    const page = k.hstate.pages[pte0(k).page - 1]!;
    expect([page.mapcount, pte0(k).flags & PTE_WRITE]).toEqual([2, 0]);

    const s2 = forkSpec(true);
    s2.threads = [s2.threads[1]!];
    const r2 = runOnce(s2, noneStrategy, { pick: (r) => r[0]! }, { seed: 1, stopOnViolation: false });
    expect(r2.exec.violations).toEqual([]);
    const k2 = r2.built.kernel;
    const pv2 = k2.mms.get('A')!.vmas[0]!;
    expect(pv2.anonVma!.vmas).toEqual([pv2]);
    expect(k2.hstate.pages[pte0(k2).page - 1]!.mapcount).toBe(1);
  });

  it('a fork while the PTE is a migration entry copies it read-only, and remove_migration_ptes() restores both mms to the new page', () => {
    let kk: Kernel | null = null;
    // Stop M after try_to_unmap(): the migration entry is in and M holds nothing but page locks.
    const mPastUnmap = (k: Kernel) => k.threads.find((t) => t.name === 'M')!.held.every((h) => h.lock.kind === 'pagelock');
    const sched = directed(() => kk!, () => kk !== null && (pte0(kk).flags & PTE_MIGRATION) !== 0 && mPastUnmap(kk));
    const { exec, built } = runOnce(forkSpec(false), noneStrategy, sched, { seed: 1, stopOnViolation: false, onBuilt: (b) => (kk = b.kernel) });
    expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
    expect(sched.tBlocked).toEqual([]); // the fork ran to the end while M held the page locks
    const k = built.kernel;
    const child = [...k.mms.get('child')!.pud.values()][0]!;
    const e = pte0(k);
    expect([e.flags & PTE_PRESENT, e.flags & PTE_WRITE, e.flags & PTE_MIGRATION]).toEqual([PTE_PRESENT, 0, 0]);
    expect([child.page[0], child.flags[0]]).toEqual([e.page, e.flags]);
    const page = k.hstate.pages[e.page - 1]!;
    expect([page.mapcount, page.refcount]).toEqual([2, 2]);
    expect(k.hstate.pages.filter((p) => p && !p.free).map((p) => p.id)).toEqual([e.page]);
  });
});

describe('follow_page (move_pages nodes = NULL) and page_vma_mapped_walk', () => {
  const stat = (expect: string): Op => ({ op: 'migrate', mapping: 'm', offset: 0, stat: true, expect });
  const with63 = { ...noneStrategy, name: 'follow-6.3', features: { ...noneStrategy.features, followPageHugetlb: 'hugetlb_follow_page_mask' as const } };

  it('move_pages(nodes = NULL) follows the page under mmap_lock and leaves no reference behind', () => {
    const s = spec(true, stat('ok'));
    s.threads = [s.threads[0]!];
    const { exec, built } = runOnce(s, noneStrategy, { pick: (r) => r[0]! }, { seed: 1, stopOnViolation: false });
    expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
    const page = built.kernel.hstate.pages[pte0(built.kernel).page - 1]!;
    expect([page.refcount, page.mapcount]).toEqual([2, 1]); // page cache + the mapping
  });

  for (const [label, strategy, result, waits] of [
    ['5.6 follow_huge_pmd() waits on a migration entry and then finds the new page', noneStrategy, 'ok', true],
    ['6.3 hugetlb_follow_page_mask() does not wait on a migration entry: no page (ENOENT)', with63, 'ENOENT', false],
  ] as const) {
    it(label, () => {
      let kk: Kernel | null = null;
      const mPastUnmap = (k: Kernel) => k.threads.find((t) => t.name === 'M')!.held.every((h) => h.lock.kind === 'pagelock');
      const sched = directed(() => kk!, () => kk !== null && (pte0(kk).flags & PTE_MIGRATION) !== 0 && mPastUnmap(kk));
      const s = spec(true, { op: 'migrate', mapping: 'm', offset: 0, expect: 'ok' });
      s.threads[1] = { name: 'T', process: 'A', ops: [stat(result)] };
      const { exec } = runOnce(s, strategy, sched, { seed: 1, stopOnViolation: false, onBuilt: (b) => (kk = b.kernel) });
      expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
      if (waits) expect(sched.tBlocked[0]).toMatch(/wait_on_page_locked\(\d+\)/);
      else expect(sched.tBlocked).toEqual([]);
    });
  }

  it('page_vma_mapped_walk() takes no hugetlb lock: for a file page it runs under the rmap walk\'s i_mmap_rwsem (what 6.3\'s hugetlb_walk() asserts)', () => {
    const seen: string[][] = [];
    const pick = (r: readonly Thread[]): Thread => {
      const t = r[0]!;
      if (t.name === 'M' && t.pending && t.pending.fn === 'page_vma_mapped_walk' && /huge_pte_offset/.test(stepLabel(t.pending))) seen.push(t.held.map((h) => h.lock.cls));
      return t;
    };
    const s = spec(true, { op: 'migrate', mapping: 'm', offset: 0, expect: 'ok' });
    s.threads = [s.threads[0]!];
    const { exec } = runOnce(s, noneStrategy, { pick }, { seed: 1, stopOnViolation: false });
    expect(exec.violations).toEqual([]);
    // try_to_unmap and remove_migration_ptes: one walk each over A's vma.
    expect(seen.length).toBe(2);
    for (const held of seen) {
      // hugetlbfs inodes' i_mmap_rwsem lockdep class; the two page locks are the old and the new page.
      expect(held).toContain('hugetlbfs_i_mmap_rwsem_key');
      expect(held.filter((c) => c !== 'hugetlbfs_i_mmap_rwsem_key' && c !== 'page_lock')).toEqual([]);
    }
  });
});
