import { stepLabel, type Kernel, type Scheduler, type Thread, type WorkloadSpec } from '@hugesync/core';
import { mapping } from '../../core/test/fixtures.js';

export { pmdUnshareRace, faultTruncateRace } from '../../core/test/fixtures.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** Run threads in the order given: each to completion (or until it blocks) before the next. */
export function inOrder(...names: string[]): Scheduler {
  return {
    pick(r: readonly Thread[]) {
      for (const n of names) {
        const t = r.find((x) => x.name === n);
        if (t) return t;
      }
      return r[0]!;
    },
  };
}

/**
 * Seed 001's window: run A-fault up to and including the lockless huge_pte_offset() at the top
 * of hugetlb_fault(), then C-punch and B-munmap to completion, then everything else.
 */
export function earlyWalkPreempted(): Scheduler {
  let walked = false;
  return {
    pick(r: readonly Thread[]) {
      const a = r.find((t) => t.name === 'A-fault');
      if (a && !walked) {
        const s = a.pending!;
        if (s.fn === 'hugetlb_fault' && stepLabel(s).startsWith('huge_pte_offset')) walked = true;
        return a;
      }
      return inOrder('C-punch', 'B-munmap').pick(r, undefined as never, 0);
    },
  };
}

/** A fault that establishes PMD sharing: B has the table, A faults the same file page. */
export function shareFault(): WorkloadSpec {
  return {
    name: 'share-fault',
    description: 'B maps page 0 (its PMD table exists) and page 1 is preallocated; A faults page 1: shares B\'s table, finds the page in the cache',
    tags: [],
    params: {},
    pool: { hugePages: 520, overcommit: 0 },
    faultMutexes: 64,
    files: [{ name: 'f', size: GiB }],
    processes: [
      { name: 'A', mappings: [mapping('m', GiB)] },
      { name: 'B', mappings: [mapping('m', GiB)] },
    ],
    setup: [
      { process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
      { process: 'B', op: { op: 'fallocate', file: 'f', offset: 2 * MiB, length: 2 * MiB, punchHole: false, keepSize: true, expect: 'ok' } },
    ],
    threads: [{ name: 'A-fault', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true, expect: 'ok' }] }],
  };
}

/** Every path that takes the vma lock, at once: faults, mprotect, fork, munmap, exit, hole punch, truncate. */
export function vmaLockMix(): WorkloadSpec {
  return {
    name: 'vma-lock-mix',
    description: 'faults racing with mprotect, fork, munmap, hole punch and truncate on a shared 1 GiB file',
    tags: [],
    params: {},
    pool: { hugePages: 530, overcommit: 0 },
    faultMutexes: 64,
    files: [{ name: 'f', size: GiB }],
    processes: [
      { name: 'A', mappings: [mapping('m', GiB)] },
      { name: 'B', mappings: [mapping('m', GiB)] },
      { name: 'C', mappings: [mapping('m', GiB)] },
      { name: 'T', mappings: [] },
    ],
    setup: [
      { process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 4 * MiB, write: true, expect: 'ok' } },
      { process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 4 * MiB, write: true, expect: 'ok' } },
      { process: 'C', op: { op: 'touch', mapping: 'm', offset: 0, length: 2 * MiB, write: true, expect: 'ok' } },
    ],
    threads: [
      { name: 'A-fault', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 4 * MiB, length: 4 * MiB, write: true }] },
      { name: 'A-mprotect', process: 'A', ops: [{ op: 'mprotect', mapping: 'm', write: false }] },
      { name: 'B-fork', process: 'B', ops: [{ op: 'fork', child: 'B1', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: false }] }, { op: 'munmap', mapping: 'm' }] },
      { name: 'C-fault', process: 'C', ops: [{ op: 'touch', mapping: 'm', offset: 6 * MiB, length: 0, write: true }, { op: 'exit' }] },
      { name: 'T-punch', process: 'T', ops: [{ op: 'fallocate', file: 'f', offset: 2 * MiB, length: 4 * MiB, punchHole: true, keepSize: true }] },
      { name: 'T-truncate', process: 'T', ops: [{ op: 'ftruncate', file: 'f', size: 8 * MiB }] },
    ],
  };
}

/** Lock map §D (V/W): hugetlb_fault_mutex -> vma_lock -> i_mmap_rwsem -> page lock -> PTL, below mmap_lock. */
export const RANK: Record<string, number> = {
  mmap_lock: 0,
  hugetlb_fault_mutex: 1,
  hugetlb_vma_lock: 2,
  hugetlbfs_i_mmap_rwsem_key: 3,
  page_lock: 4,
  ptlock: 5,
};

/** Blocking acquisitions that go against RANK (trylocks are allowed anywhere, as lockdep allows them). */
export function attachRankChecker(k: Kernel, out: string[]): void {
  k.bus.on('lock:attempt', (e) => {
    if (e.trylock) return;
    const to = RANK[e.lock.cls];
    if (to === undefined) return;
    for (const h of e.held) {
      const from = RANK[h.lock.cls];
      if (from !== undefined && from > to) out.push(`${e.t.name}: ${e.lock.cls} in ${e.fn} while holding ${h.lock.cls} (${h.fn})`);
    }
  });
}
