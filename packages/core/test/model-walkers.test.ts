/**
 * Issue 5 paths: GUP (follow_hugetlb_page, FOLL_NOWAIT, GUP-fast), userfaultfd missing faults,
 * walk_hugetlb_range and the TLB model (per-CPU translations, flushes, IPIs held off by
 * interrupts-off sections, the stale-tlb checker).
 */
import { describe, it, expect } from 'vitest';
import { composeStrategy, noneStrategy, runOnce, stepLabel, tlbOf, type Kernel, type Op, type Step, type Thread, type WorkloadSpec } from '../src/index.js';
import { mapping } from './fixtures.js';
import { GiB, MiB } from './model-helpers.js';

/** A and B share a PMD table over all of f (1 GiB); A's page 0 (and optionally 2) is present. */
function shared(threads: WorkloadSpec['threads'], opts: { uffdA?: boolean; page2?: boolean } = {}): WorkloadSpec {
  const touch = (process: string, offset: number) => ({ process, op: { op: 'touch', mapping: 'm', offset, length: 0, write: true, expect: 'ok' } as Op });
  return {
    name: 'walkers', description: '', tags: [], params: {}, pool: { hugePages: 520, overcommit: 0 }, faultMutexes: 64,
    files: [{ name: 'f', size: GiB }],
    processes: [
      { name: 'A', mappings: [mapping('m', GiB, opts.uffdA ? { userfaultfd: true } : {})] },
      { name: 'B', mappings: [mapping('m', GiB)] },
      { name: 'C', mappings: [] },
    ],
    // With A registered for userfaultfd B builds the table, so that A's first touch shares it.
    setup: opts.uffdA ? [touch('B', 0), touch('A', 0)] : [touch('A', opts.page2 ? 4 * MiB : 0), touch('B', 0)],
    threads,
  };
}
const gup = (extra: Partial<Extract<Op, { op: 'gup' }>> = {}): Op => ({ op: 'gup', mapping: 'm', offset: 0, length: 0, write: false, nowait: false, fast: false, ...extra });
const punch: Op = { op: 'fallocate', file: 'f', offset: 4 * MiB, length: 2 * MiB, punchHole: true, keepSize: true };
const munmap: Op = { op: 'munmap', mapping: 'm' };

/** A scheduler: `first` runs until its pending step matches `until`, then the others first, then `first`. */
function directed(first: string, until: RegExp, order: string[]) {
  let paused = false;
  return {
    pick: (r: readonly Thread[]): Thread => {
      const f = r.find((t) => t.name === first);
      if (f && !paused) {
        if (until.test(stepLabel(f.pending!))) paused = true;
        else return f;
      }
      for (const n of order) {
        const t = r.find((x) => x.name === n);
        if (t) return t;
      }
      return r[0]!;
    },
  };
}
const flushing = composeStrategy(noneStrategy, { name: 'none+flush', description: '', seed: '-', kernel: '-', package: '-', features: { ...noneStrategy.features, flushOnUnshare: true } });

describe('GUP-fast (lock map A.16)', () => {
  it('runs with interrupts off, takes no lock and never sleeps while they are off', () => {
    const spec = shared([{ name: 'A-gup', process: 'A', ops: [gup({ fast: true, expect: 'ok' })] }]);
    const seen: Array<{ irqOff: boolean; s: Step }> = [];
    const { exec, built } = runOnce(spec, noneStrategy, { pick: (r) => r[0]! }, {
      seed: 1,
      onBuilt: (b) => {
        b.kernel.stepListeners = true;
        b.kernel.bus.on('step', (t, s) => seen.push({ irqOff: tlbOf(b.kernel).irqsDisabled(t), s }));
      },
    });
    expect(exec.violations).toEqual([]);
    const inside = seen.filter((x) => x.irqOff).map((x) => x.s);
    expect(inside.map((s) => s.fn)).toContain('gup_huge_pmd');
    expect(inside.filter((s) => s.access === 'acquire' || s.sleeping)).toEqual([]);
    // The page reference GUP took was dropped again: only the mapping's and the page cache's remain.
    const page = built.kernel.hstate.pages.find((p) => p?.mapcount === 1)!;
    expect(page.refcount).toBe(2);
  });

  it('holds off a TLB flush of its mm: the flushing CPU waits for local_irq_restore()', () => {
    const spec = shared([
      { name: 'A-gup', process: 'A', ops: [gup({ fast: true })] },
      { name: 'A-mprotect', process: 'A', ops: [{ op: 'mprotect', mapping: 'm', write: true }] },
    ]);
    let k: Kernel | null = null;
    let waitedForIrqs = false;
    const { exec } = runOnce(spec, noneStrategy, {
      pick: (r) => {
        const g = k!.threads.find((t) => t.name === 'A-gup')!;
        const m = k!.threads.find((t) => t.name === 'A-mprotect')!;
        const off = tlbOf(k!).irqsDisabled(g);
        if (off && !m.done && /flush_hugetlb_tlb_range/.test(stepLabel(m.pending!))) waitedForIrqs ||= !m.runnable;
        // GUP-fast first up to its interrupts-off section, then mprotect as far as it can go.
        if (!off && g.steps === 0) return g;
        return r.includes(m) ? m : r[0]!;
      },
    }, { seed: 1, onBuilt: (b) => (k = b.kernel) });
    expect(exec.completed).toBe(true);
    expect(exec.violations).toEqual([]);
    expect(waitedForIrqs).toBe(true);
  });

  it('5.6: a table freed by the other sharer under GUP-fast is a use-after-free; with the unshare flush (a4a118f2eead) it is not', () => {
    const spec = shared([
      { name: 'A-gup', process: 'A', ops: [gup({ fast: true })] },
      { name: 'C-punch', process: 'C', ops: [punch] },
      { name: 'B-munmap', process: 'B', ops: [munmap] },
    ]);
    const sched = () => directed('A-gup', /^huge_ptep_get/, ['C-punch', 'B-munmap']);
    const v56 = runOnce(spec, noneStrategy, sched(), { seed: 1, stopOnViolation: false }).exec;
    expect(v56.violations.find((v) => v.kind === 'pte-use-after-free')?.message).toMatch(/A-gup reads a PTE .* in gup_pmd_range, but that page-table page was freed/);
    const fixed = runOnce(spec, flushing, sched(), { seed: 1, stopOnViolation: false }).exec;
    expect(fixed.completed).toBe(true);
    expect(fixed.violations).toEqual([]);
  });
});

describe('GUP slow path and userfaultfd (lock map A.12, A.13)', () => {
  it('follow_hugetlb_page with FOLL_NOWAIT on a userfaultfd-missing page returns EAGAIN at once: nothing sleeps', () => {
    const spec = shared([{ name: 'A-gup', process: 'A', ops: [gup({ offset: 2 * MiB, nowait: true, expect: 'EAGAIN' })] }], { uffdA: true });
    const labels: string[] = [];
    const { exec } = runOnce(spec, noneStrategy, { pick: (r) => r[0]! }, {
      seed: 1,
      onBuilt: (b) => {
        b.kernel.stepListeners = true;
        b.kernel.bus.on('step', (_t, s) => labels.push(stepLabel(s)));
      },
    });
    expect(exec.completed).toBe(true);
    expect(exec.violations).toEqual([]);
    expect(labels).toContain('handle_userfault: FAULT_FLAG_RETRY_NOWAIT -> VM_FAULT_RETRY');
    expect(labels.some((l) => l.startsWith('schedule()'))).toBe(false);
  });

  it('a missing fault sleeps with mmap_lock and the fault mutex dropped, until the monitor fills the page', () => {
    const spec = shared([
      { name: 'A-fault', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true, expect: 'ok' }] },
      { name: 'C-fill', process: 'C', ops: [{ op: 'fallocate', file: 'f', offset: 2 * MiB, length: 2 * MiB, punchHole: false, keepSize: true }] },
    ], { uffdA: true });
    let asleep: Thread | null = null;
    const { exec } = runOnce(spec, noneStrategy, {
      pick: (r) => {
        const a = r.find((t) => t.name === 'A-fault');
        if (a && /^schedule\(\)/.test(stepLabel(a.pending!))) asleep = a;
        return a && !asleep ? a : (r.find((t) => t.name === 'C-fill') ?? r[0]!);
      },
    }, { seed: 1 });
    expect(asleep).not.toBeNull();
    expect(exec.completed).toBe(true);
    expect(exec.violations).toEqual([]);
  });

  it('5.6: userfaultfd_huge_must_wait() reads a table the other sharer freed', () => {
    const spec = shared([
      { name: 'A-fault', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true }] },
      { name: 'C-punch', process: 'C', ops: [punch, { op: 'fallocate', file: 'f', offset: 2 * MiB, length: 2 * MiB, punchHole: false, keepSize: true }] },
      { name: 'B-munmap', process: 'B', ops: [munmap] },
    ], { uffdA: true });
    // A stops inside handle_userfault, after huge_pte_offset() in userfaultfd_huge_must_wait().
    let walked = false;
    const { exec } = runOnce(spec, noneStrategy, {
      pick: (r) => {
        const a = r.find((t) => t.name === 'A-fault');
        if (a && !walked) {
          if (/^huge_ptep_get/.test(stepLabel(a.pending!)) && a.pending!.fn === 'userfaultfd_huge_must_wait') walked = true;
          else return a;
        }
        const b = r.find((t) => t.name === 'B-munmap');
        const c = r.find((t) => t.name === 'C-punch');
        return (c && c.opIndex < 1 ? c : b) ?? a ?? r[0]!;
      },
    }, { seed: 1, stopOnViolation: false });
    expect(exec.violations.find((v) => v.kind === 'pte-use-after-free')?.message).toMatch(/in userfaultfd_huge_must_wait, but that page-table page was freed/);
  });
});

describe('walk_hugetlb_range (lock map A.15)', () => {
  it('mincore reads each entry without the PTL: a hint, so reading a table unshared but alive is no violation', () => {
    const spec = shared([
      { name: 'C-punch', process: 'C', ops: [punch] },
      { name: 'A-mincore', process: 'A', ops: [{ op: 'pagewalk', mapping: 'm', walker: 'mincore', offset: 0, length: 4 * MiB, expect: 'ok' }] },
    ]);
    const { exec } = runOnce(spec, noneStrategy, directed('A-mincore', /^huge_ptep_get/, ['C-punch']), { seed: 1 });
    expect(exec.completed).toBe(true);
    expect(exec.violations).toEqual([]);
  });
});

describe('TLB model (lock map B.5)', () => {
  const tlbSpec = () =>
    shared([
      { name: 'A-cpu', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 4 * MiB, length: 0, write: true }, { op: 'access', mapping: 'm', offset: 4 * MiB, write: true, expect: 'ok' }] },
      { name: 'C-punch', process: 'C', ops: [punch] },
    ], { page2: true });

  it('a store with a cached translation does not walk the page table', () => {
    const fns: string[] = [];
    const { exec } = runOnce(tlbSpec(), noneStrategy, { pick: (r) => r.find((t) => t.name === 'A-cpu') ?? r[0]! }, {
      seed: 1,
      onBuilt: (b) => {
        b.kernel.stepListeners = true;
        b.kernel.bus.on('step', (t, s) => t.name === 'A-cpu' && fns.push(s.fn));
      },
    });
    expect(exec.violations).toEqual([]);
    // touch: mmu_walk (2 steps); access: lookup, hit, the store.
    expect(fns).toEqual(['mmu_walk', 'mmu_walk', 'tlb_lookup', 'tlb_hit', 'user_access']);
  });

  it('5.6: the unshared mm keeps its translation and stores to the freed page (CVE-2021-4002); the unshare flush removes it', () => {
    const sched = () => directed('A-cpu', /^TLB lookup/, ['C-punch']);
    const v56 = runOnce(tlbSpec(), noneStrategy, sched(), { seed: 1, stopOnViolation: false }).exec;
    expect(v56.violations.map((v) => v.kind)).toEqual(['stale-tlb']);
    expect(v56.violations[0]!.message).toMatch(/unshared from A .* and no TLB flush reached this CPU/);
    const fixed = runOnce(tlbSpec(), flushing, sched(), { seed: 1, stopOnViolation: false }).exec;
    expect(fixed.completed).toBe(true);
    expect(fixed.violations).toEqual([]);
  });
});
