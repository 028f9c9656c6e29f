/**
 * Each checker sees its bug when the bug is planted on purpose, and the same workload is clean
 * when it is not. Bugs are planted through a strategy's hooks (the way a faulty design would
 * introduce them) or by corrupting model state the way a kernel bug would.
 */
import { describe, it, expect } from 'vitest';
import {
  buildKernel, checkQuiescence, composeStrategy, execute, lockIt, noneStrategy, runOnce, unlockIt,
  SpinLock, Mutex, type SyncStrategy, type WorkloadSpec, type Scheduler,
} from '../src/index.js';
import { mapping } from './fixtures.js';

const MiB = 2 ** 20;
const first: Scheduler = { pick: (r) => r[0]! };

/** Two processes faulting a small shared file: a sequential run is clean under the baseline. */
function twoFaults(): WorkloadSpec {
  return {
    name: 'two-faults', description: '', tags: [], params: {}, pool: { hugePages: 4, overcommit: 0 }, faultMutexes: 8,
    files: [{ name: 'f', size: 4 * MiB }],
    processes: [{ name: 'A', mappings: [mapping('m', 4 * MiB)] }, { name: 'B', mappings: [mapping('m', 4 * MiB)] }],
    setup: [],
    threads: [
      { name: 'A', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' }] },
      { name: 'B', process: 'B', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true, expect: 'ok' }] },
    ],
  };
}

function plant(over: Partial<SyncStrategy>): SyncStrategy {
  return composeStrategy(noneStrategy, { name: 'planted', description: 'a deliberately broken design', seed: '-', kernel: '-', package: '-', ...over });
}

function kinds(spec: WorkloadSpec, s: SyncStrategy, sched: Scheduler = first): string[] {
  const { exec } = runOnce(spec, s, sched, { seed: 1, stopOnViolation: false });
  return [...new Set(exec.violations.map((v) => v.kind))];
}

describe('checkers catch planted bugs, and stay quiet without them', () => {
  it('control: the baseline runs the workload clean', () => {
    expect(kinds(twoFaults(), noneStrategy)).toEqual([]);
  });

  it('lock-imbalance: a hook that takes a lock and never releases it', () => {
    const l = new SpinLock('spin:planted', 'planted_lock');
    const s = plant({ *faultEnter(c) { yield* lockIt(c, l, 'write', 'planted_fault_enter'); } });
    expect(kinds(twoFaults(), s)).toContain('lock-imbalance');
  });

  it('sleep-in-atomic: a hook that takes a mutex inside a spinlock', () => {
    const sp = new SpinLock('spin:planted2', 'planted_spin');
    const m = new Mutex('mutex:planted2', 'planted_mutex');
    const s = plant({
      *faultEnter(c) {
        yield* lockIt(c, sp, 'write', 'planted');
        yield* lockIt(c, m, 'write', 'planted');
        yield* unlockIt(c, m, 'write', 'planted');
        yield* unlockIt(c, sp, 'write', 'planted');
      },
    });
    expect(kinds(twoFaults(), s)).toContain('sleep-in-atomic');
  });

  it('lock-order: a design lock taken before the fault mutex by faults and after it by truncation', () => {
    const m = new Mutex('mutex:planted3', 'planted_design_lock');
    const s = plant({
      // fault: design lock -> hugetlb_fault_mutex
      *faultEnter(c) { yield* lockIt(c, m, 'write', 'planted_fault_enter'); },
      *faultExit(c) { yield* unlockIt(c, m, 'write', 'planted_fault_exit'); },
      // truncate: hugetlb_fault_mutex -> design lock
      *truncateBegin(c) {
        const fm = c.k.faultMutexes[0]!;
        yield* lockIt(c, fm, 'write', 'planted_truncate');
        yield* lockIt(c, m, 'write', 'planted_truncate');
        yield* unlockIt(c, m, 'write', 'planted_truncate');
        yield* unlockIt(c, fm, 'write', 'planted_truncate');
      },
    });
    const spec = twoFaults();
    spec.threads[1] = { name: 'T', process: 'B', ops: [{ op: 'ftruncate', file: 'f', size: 4 * MiB }] };
    // Run one after the other: no deadlock happens, yet the inverted order is reported.
    const { exec } = runOnce(spec, s, first, { seed: 1, stopOnViolation: false });
    expect(exec.completed).toBe(true);
    const lo = exec.violations.filter((v) => v.kind === 'lock-order');
    expect(lo).toHaveLength(1);
    expect(lo[0]!.report).toContain('WARNING: possible circular locking dependency detected');
    expect(lo[0]!.report).toContain('planted_design_lock');
    expect(kinds(spec, noneStrategy)).toEqual([]);
  });

  it('reserve-count, page-beyond-eof, page-leak, refcount, pmd-share-invalid: corrupted state is caught at quiescence', () => {
    const mk = () => {
      const b = buildKernel(twoFaults(), noneStrategy, { seed: 1 });
      execute(b.kernel, first);
      expect(b.kernel.violations).toEqual([]);
      return b.kernel;
    };
    expect(checkQuiescence(mk())).toEqual([]);

    let k = mk();
    k.hstate.resv++;
    expect(checkQuiescence(k).map((v) => v.kind)).toContain('reserve-count');

    k = mk();
    const ino = k.inodes.get('f')!;
    ino.size = 2 * MiB; // shrink i_size without truncating
    expect(checkQuiescence(k).map((v) => v.kind)).toContain('page-beyond-eof');

    k = mk();
    const p = k.hstate.dequeue()!;
    p.refcount = 1;
    expect(checkQuiescence(k).map((v) => v.kind)).toContain('page-leak');

    k = mk();
    ino.pageCache.get(0); // unchanged kernel from before is not reused
    const page = k.inodes.get('f')!.pageCache.get(0)!;
    page.refcount++;
    expect(checkQuiescence(k).map((v) => v.kind)).toContain('refcount');

    k = mk();
    const A = k.mms.get('A')!;
    const B = k.mms.get('B')!;
    const [pi, t] = [...A.pud.entries()][0]!;
    // B points its PUD at A's table although its 4 MiB vma cannot share a 1 GiB range.
    const bt = B.pud.get(pi)!;
    k.tables.release(bt);
    B.pud.set(pi, t);
    t.refcount++;
    expect(checkQuiescence(k).map((v) => v.kind)).toContain('pmd-share-invalid');
  });

  it('unexpected-result: an op whose result differs from what the workload states', () => {
    const spec = twoFaults();
    spec.threads[0]!.ops[0] = { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'SIGBUS' };
    expect(kinds(spec, noneStrategy)).toEqual(['unexpected-result']);
    spec.threads[1]!.ops[0] = { op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true };
    spec.threads[0]!.ops.push({ op: 'ftruncate', file: 'f', size: 0, expect: 'ok' }, { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'SIGBUS' });
    spec.threads[0]!.ops[0] = { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' };
    expect(kinds(spec, noneStrategy, { pick: (r) => r[0]! })).toEqual([]);
  });
});
