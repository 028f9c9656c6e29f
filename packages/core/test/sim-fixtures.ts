/** Small workload specs for the timed simulator's tests (TypeScript equivalents of catalog workloads). */
import type { MappingSpec, Op, WorkloadSpec } from '../src/index.js';

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

function shared(name: string, file: string, length: number, mapAtStart: boolean): MappingSpec {
  return { name, file, offset: 0, length, shared: true, write: true, placement: 'same', mapAtStart };
}

/**
 * Seed 002's program: P processes each mmap the same hugetlbfs file MAP_SHARED at the same
 * PUD-aligned address, write-fault every huge page, munmap; repeat.
 */
export function mapFaultUnmap(processes: number, fileBytes: number, opts: { repeat?: boolean; prefault?: boolean } = {}): WorkloadSpec {
  const repeat = opts.repeat ?? true;
  const ops: Op[] = [
    { op: 'mmap', mapping: 'm', expect: 'ok' },
    { op: 'touch', mapping: 'm', offset: 0, length: fileBytes, write: true, expect: 'ok' },
    { op: 'munmap', mapping: 'm', expect: 'ok' },
  ];
  const procs = Array.from({ length: processes }, (_, i) => `p${i}`);
  return {
    name: 'map-fault-unmap',
    description: 'seed 002: mmap a shared hugetlbfs file, write-fault every page, munmap, repeat',
    tags: ['seed-002'],
    params: { processes, fileBytes },
    pool: { hugePages: fileBytes / (2 * MiB), overcommit: 0 },
    faultMutexes: 256,
    files: [{ name: 'f', size: fileBytes }],
    processes: procs.map((name) => ({ name, mappings: [shared('m', 'f', fileBytes, false)] })),
    // prefault: the file's pages are in the page cache before the timed run (the steady state of a long run).
    setup: opts.prefault ? [{ process: 'p0', op: { op: 'fallocate', file: 'f', offset: 0, length: fileBytes, punchHole: false, keepSize: false, expect: 'ok' } }] : [],
    threads: procs.map((p) => ({ name: `${p}-loop`, process: p, ops })),
    repeat,
  };
}

/** P processes each write-touching the first `pages` huge pages of one small shared file (no PMD sharing: < 1 GiB). */
export function touchSameFile(processes: number, pages: number): WorkloadSpec {
  const procs = Array.from({ length: processes }, (_, i) => `p${i}`);
  return {
    name: 'touch-same-file',
    description: 'processes fault the same pages of one file',
    tags: [],
    params: {},
    pool: { hugePages: pages, overcommit: 0 },
    faultMutexes: 64,
    files: [{ name: 'f', size: pages * 2 * MiB }],
    processes: procs.map((name) => ({ name, mappings: [shared('m', 'f', pages * 2 * MiB, true)] })),
    setup: [],
    threads: procs.map((p) => ({ name: `${p}-touch`, process: p, ops: [{ op: 'touch', mapping: 'm', offset: 0, length: pages * 2 * MiB, write: true, expect: 'ok' }] })),
  };
}
