/** Page migration and memory failure of hugetlb pages (issue #5): migration entries, the fault's wait, hwpoison entries. */
import { describe, it, expect } from 'vitest';
import { noneStrategy, runOnce, stepLabel, PTE_MIGRATION, PTE_HWPOISON, PTE_PRESENT, type Thread, type WorkloadSpec, type Op, type Kernel, type PmdTable } from '../src/index.js';
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
