import { describe, expect, it } from 'vitest';
import {
  buildKernel,
  composeStrategy,
  defaultCosts,
  execute,
  lockIt,
  noneStrategy,
  RandomScheduler,
  simulate,
  unlockIt,
  type CostKey,
  type MappingSpec,
  type SimResult,
  type SyncStrategy,
  type WorkloadSpec,
} from '../src/index.js';
import { GiB, MiB, mapFaultUnmap, touchSameFile } from './sim-fixtures.js';

/** The figures of a run that must not depend on the wall clock. */
function modelled(r: SimResult): Omit<SimResult, 'wallMs' | 'setupWallMs'> {
  const { wallMs: _w, setupWallMs: _s, ...rest } = r;
  return rest;
}

const lockStat = (r: SimResult, name: string) => r.locks.find((l) => l.name === name);

describe('simulate: determinism', () => {
  it('same inputs give the same result (wall time aside)', () => {
    const spec = mapFaultUnmap(3, GiB, { prefault: true });
    const a = simulate(spec, noneStrategy, { cpus: 2, durationSec: 0.008, intervalSec: 0.002 });
    const b = simulate(spec, noneStrategy, { cpus: 2, durationSec: 0.008, intervalSec: 0.002 });
    expect(a.faults).toBeGreaterThan(100);
    expect(a.stoppedBy).toBe('duration');
    expect(a.intervals).toHaveLength(4);
    expect(a.intervals.reduce((n, i) => n + i.faults, 0)).toBe(a.faults);
    expect(modelled(a)).toEqual(modelled(b));
  });
});

describe('simulate: virtual time', () => {
  /** Sum of cost x units over every step the plain executor runs for the same workload. */
  function costSum(spec: WorkloadSpec, costs: Record<string, number>): { ns: number; steps: number } {
    const { kernel: k } = buildKernel(spec, noneStrategy, { seed: 1 });
    let ns = 0;
    let steps = 0;
    k.stepListeners = true;
    k.bus.on('step', (_t, s) => {
      ns += costs[s.cost ?? 'step']! * (s.units ?? 1);
      steps++;
    });
    const r = execute(k, new RandomScheduler(1), { maxSteps: 1_000_000 });
    expect(r.completed).toBe(true);
    return { ns, steps };
  }

  it('one thread touching k pages: simulated time is the sum of its step costs', () => {
    const pages = 5;
    const spec = touchSameFile(1, pages);
    const costs = defaultCosts();
    const want = costSum(spec, costs as unknown as Record<string, number>);
    const r = simulate(spec, noneStrategy, { cpus: 1, durationSec: 1 });
    expect(r.stoppedBy).toBe('completed');
    expect(r.faults).toBe(pages);
    expect(r.steps).toBe(want.steps);
    expect(Math.abs(r.simulatedSeconds * 1e9 - want.ns)).toBeLessThan(1);
    // Each fault cleared a new page: the latency is at least clear_huge_page.
    expect(r.faultLatencyUs.p50 * 1e3).toBeGreaterThan(costs.clearHugePage);
    expect(r.locks.every((l) => l.contended === 0)).toBe(true);
  });

  it('changing one cost moves simulated time by that cost times its uses', () => {
    const pages = 5;
    const spec = touchSameFile(1, pages);
    const base = simulate(spec, noneStrategy, { cpus: 1, durationSec: 1 });
    const slower = simulate(spec, noneStrategy, { cpus: 1, durationSec: 1, costs: { clearHugePage: defaultCosts().clearHugePage + 1000 } });
    expect(Math.abs((slower.simulatedSeconds - base.simulatedSeconds) * 1e9 - pages * 1000)).toBeLessThan(1);
  });
});

describe('simulate: contention', () => {
  it('two CPUs faulting the same pages contend on the fault mutex; one CPU does not', () => {
    const spec = touchSameFile(2, 4);
    const two = simulate(spec, noneStrategy, { cpus: 2, durationSec: 1 });
    const one = simulate(spec, noneStrategy, { cpus: 1, durationSec: 1 });
    for (const r of [one, two]) {
      expect(r.stoppedBy).toBe('completed');
      expect(r.faults).toBe(8);
    }
    const m2 = lockStat(two, 'hugetlb_fault_mutex')!;
    expect(m2.contended).toBeGreaterThan(0);
    expect(m2.waitTimeMs).toBeGreaterThan(0);
    expect(two.waits).toBeGreaterThan(0);
    expect(two.waitTimeMs).toBeGreaterThan(0);
    expect(one.locks.every((l) => l.contended === 0 && l.waitTimeMs === 0)).toBe(true);
    expect(one.waits).toBe(0);
  });

  /** A test design holding i_mmap_rwsem for read across the whole fault (as 5.7 did), to expose the rwsem rules. */
  const iMmapAcrossFault: SyncStrategy = composeStrategy(noneStrategy, {
    name: 'test-i-mmap-across-fault',
    description: 'test only: i_mmap_rwsem read held across hugetlb_fault',
    seed: 'test',
    kernel: 'test',
    package: 'test',
    features: { ...noneStrategy.features, pmdShareTakesIMmap: false },
    faultEnter: (c, vma) => lockIt(c, vma.file.iMmapRwsem, 'read', 'hugetlb_fault'),
    faultExit: (c, vma) => unlockIt(c, vma.file.iMmapRwsem, 'read', 'hugetlb_fault'),
  });

  it('a rwsem whose cache line more CPUs touch costs more per fault', () => {
    // Four processes fault disjoint pages of one prefaulted file; every fault takes i_mmap_rwsem
    // for read (test design below), so only that rwsem's line is shared between them.
    const spread: WorkloadSpec = {
      ...touchSameFile(4, 64),
      name: 'disjoint-faults',
      faultMutexes: 4096,
      setup: [{ process: 'p0', op: { op: 'fallocate', file: 'f', offset: 0, length: 128 * MiB, punchHole: false, keepSize: false, expect: 'ok' } }],
    };
    spread.threads = spread.threads.map((t, i) => ({ ...t, ops: [{ op: 'touch', mapping: 'm', offset: i * 32 * MiB, length: 32 * MiB, write: true, expect: 'ok' }] }));
    const transfer = defaultCosts().cacheLineTransfer;
    const one = simulate(spread, iMmapAcrossFault, { cpus: 1, durationSec: 1 });
    const four = simulate(spread, iMmapAcrossFault, { cpus: 4, durationSec: 1 });
    const fourFree = simulate(spread, iMmapAcrossFault, { cpus: 4, durationSec: 1, costs: { cacheLineTransfer: 0 } });
    for (const r of [one, four, fourFree]) expect(r.faults).toBe(64);
    expect(lockStat(four, 'hugetlbfs_i_mmap_rwsem_key')!.contended).toBe(0);
    // down_read + up_read each pay at least one line transfer on four CPUs, none on one.
    expect((four.faultLatencyUs.p50 - one.faultLatencyUs.p50) * 1e3).toBeGreaterThanOrEqual(2 * transfer);
    expect(fourFree.faultLatencyUs.p50).toBeLessThan(four.faultLatencyUs.p50);
  });

  function writerWaiting(withWriter: boolean): WorkloadSpec {
    const m = (name: string, file: string, length: number): MappingSpec => ({ name, file, offset: 0, length, shared: true, write: true, placement: 'same', mapAtStart: true });
    const touch = (mapping: string, offset: number, pages: number) => ({ op: 'touch' as const, mapping, offset, length: pages * 2 * MiB, write: true, expect: 'ok' });
    return {
      name: 'rwsem-writer-waiting',
      description: 'A holds i_mmap_rwsem(f) for read through a long fault; W queues for write; R then asks for read',
      tags: [],
      params: {},
      pool: { hugePages: 80, overcommit: 0 },
      faultMutexes: 4096,
      files: [
        { name: 'f', size: 8 * MiB },
        { name: 'g', size: 128 * MiB },
      ],
      processes: [
        { name: 'A', mappings: [m('f', 'f', 8 * MiB)] },
        { name: 'B', mappings: [m('f', 'f', 8 * MiB), m('g', 'g', 128 * MiB)] },
        { name: 'C', mappings: [m('f', 'f', 8 * MiB), m('g', 'g', 128 * MiB)] },
        { name: 'S', mappings: [m('g', 'g', 128 * MiB)] },
      ],
      // g's pages are in the page cache before the run: faults on g are cheap and serve as delays.
      setup: [{ process: 'S', op: touch('g', 0, 64) }],
      threads: [
        { name: 'A-fault', process: 'A', ops: [touch('f', 0, 1)] },
        ...(withWriter ? [{ name: 'W-munmap', process: 'C', ops: [touch('g', 80 * MiB, 10), { op: 'munmap' as const, mapping: 'f', expect: 'ok' }] }] : []),
        { name: 'R-fault', process: 'B', ops: [touch('g', 0, 40), touch('f', 2 * MiB, 1)] },
      ],
    };
  }

  it('a waiting writer makes a later reader wait although only readers hold the rwsem', () => {
    const w = simulate(writerWaiting(true), iMmapAcrossFault, { cpus: 3, durationSec: 1 });
    const n = simulate(writerWaiting(false), iMmapAcrossFault, { cpus: 3, durationSec: 1 });
    expect(w.violations).toEqual([]);
    expect(n.violations).toEqual([]);
    const cls = 'hugetlbfs_i_mmap_rwsem_key';
    expect(lockStat(n, cls)!.contended).toBe(0);
    // W waits for A's read hold; R (a reader) waits behind the queued writer; then W's
    // unlink_file_vma() waits for R's read hold.
    expect(lockStat(w, cls)!.contended).toBe(3);
    expect(w.waits).toBe(n.waits + 1);
    expect(w.maxFaultWaitUs).toBeGreaterThan(50);
  });
});

describe('simulate: one cost model for every strategy', () => {
  it('a strategy that only renames none gives identical figures', () => {
    const renamed = composeStrategy(noneStrategy, { name: 'none-renamed', description: 'none under another name', seed: 'test', kernel: 'v5.6', package: 'test' });
    const spec = mapFaultUnmap(3, GiB, { prefault: true });
    const a = simulate(spec, noneStrategy, { cpus: 3, durationSec: 0.004, intervalSec: 0.001 });
    const b = simulate(spec, renamed, { cpus: 3, durationSec: 0.004, intervalSec: 0.001 });
    expect(a.faults).toBeGreaterThan(0);
    expect({ ...modelled(b), strategy: 'none' }).toEqual(modelled(a));
  });
});

describe('simulate: input errors', () => {
  it('rejects bad options with a one-line message', () => {
    const spec = touchSameFile(1, 1);
    expect(() => simulate(spec, noneStrategy, { cpus: 0, durationSec: 1 })).toThrow(/^cpus must be an integer/);
    expect(() => simulate(spec, noneStrategy, { cpus: 1, durationSec: 0 })).toThrow(/^durationSec must be/);
    expect(() => simulate(spec, noneStrategy, { cpus: 1, durationSec: 1, costs: { nope: 1 } as unknown as Partial<Record<CostKey, number>> })).toThrow(/^unknown cost 'nope'/);
    expect(() => simulate(spec, noneStrategy, { cpus: 1, durationSec: 1, costs: { step: -1 } })).toThrow(/^cost 'step' must be/);
  });
});
