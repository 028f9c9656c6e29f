import type { WorkloadSpec, MappingSpec } from '../src/index.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

export function mapping(name: string, length: number, extra: Partial<MappingSpec> = {}): MappingSpec {
  return { name, file: 'f', offset: 0, length, shared: true, write: true, placement: 'same', mapAtStart: true, ...extra };
}

/** Seed 002's diagram: a fault in A racing with an unshare (hole punch) and B's munmap. */
export function pmdUnshareRace(): WorkloadSpec {
  return {
    name: 'pmd-unshare-race',
    description: 'test fixture',
    tags: [],
    params: {},
    pool: { hugePages: 520, overcommit: 0 },
    faultMutexes: 64,
    files: [{ name: 'f', size: GiB }],
    processes: [
      { name: 'A', mappings: [mapping('m', GiB)] },
      { name: 'B', mappings: [mapping('m', GiB)] },
      { name: 'C', mappings: [] },
    ],
    setup: [
      { process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
      { process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
    ],
    threads: [
      { name: 'A-fault', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true }] },
      { name: 'C-punch', process: 'C', ops: [{ op: 'fallocate', file: 'f', offset: 4 * MiB, length: 2 * MiB, punchHole: true, keepSize: true }] },
      { name: 'B-munmap', process: 'B', ops: [{ op: 'munmap', mapping: 'm' }] },
    ],
  };
}

/** Seed 000 problem 2: a fault at index 1 racing with truncation to one huge page. */
export function faultTruncateRace(): WorkloadSpec {
  return {
    name: 'fault-truncate-race',
    description: 'test fixture',
    tags: [],
    params: {},
    pool: { hugePages: 4, overcommit: 0 },
    faultMutexes: 64,
    files: [{ name: 'f', size: 4 * MiB }],
    processes: [
      { name: 'A', mappings: [mapping('m', 4 * MiB)] },
      { name: 'T', mappings: [] },
    ],
    setup: [],
    threads: [
      { name: 'A-fault', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true }] },
      { name: 'T-truncate', process: 'T', ops: [{ op: 'ftruncate', file: 'f', size: 2 * MiB }] },
      { name: 'A-fault0', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true }] },
    ],
  };
}
