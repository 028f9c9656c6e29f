/**
 * A workload after loading: parameters substituted, sizes in bytes, repeated processes and
 * threads expanded. The file format (YAML or JSON) is documented in docs/workloads.md.
 */

/** Pool counters a step may assert, as /proc/meminfo shows them. */
export interface PoolAssert {
  total?: number;
  free?: number;
  reserved?: number;
  surplus?: number;
}

export type Op =
  | { op: 'mmap'; mapping: string; expect?: string }
  | { op: 'munmap'; mapping: string; offset?: number; length?: number; expect?: string }
  | { op: 'touch'; mapping: string; offset: number; length: number; write: boolean; expect?: string }
  | { op: 'ftruncate'; file: string; size: number; expect?: string }
  | { op: 'fallocate'; file: string; offset: number; length: number; punchHole: boolean; keepSize: boolean; expect?: string }
  | { op: 'mprotect'; mapping: string; write: boolean; offset?: number; length?: number; expect?: string }
  | { op: 'madvise'; mapping: string; advice: 'dontneed'; expect?: string }
  /** exit: false (absent = true): the child does not exit after its ops (a sleeping task that keeps its mappings). */
  | { op: 'fork'; child: string; ops: Op[]; exit?: false; expect?: string }
  | { op: 'exit'; expect?: string }
  | { op: 'loop'; count: number; ops: Op[] }
  | { op: 'assert'; pool: PoolAssert }
  | { op: 'access'; mapping: string; offset: number; write: boolean; expect?: string }
  | { op: 'gup'; mapping: string; offset: number; length: number; write: boolean; nowait: boolean; fast: boolean; expect?: string }
  | { op: 'pagewalk'; mapping: string; walker: 'mincore' | 'smaps'; offset: number; length: number; expect?: string }
  | { op: 'mremap'; mapping: string; to: string; expect?: string }
  | { op: 'shmat'; mapping: string; expect?: string }
  | { op: 'shmdt'; mapping: string; expect?: string }
  | { op: 'shmctl'; file: string; cmd: 'rmid'; expect?: string }
  /** stat: move_pages() with nodes == NULL (do_pages_stat()): only follow_page(), no migration. */
  | { op: 'migrate'; mapping: string; offset: number; stat?: true; expect?: string }
  | { op: 'hwpoison'; mapping: string; offset: number; expect?: string };

export type Placement = 'same' | 'fixed' | 'random';

export interface MappingSpec {
  name: string;
  file: string;
  /** File offset in bytes (huge-page aligned). */
  offset: number;
  length: number;
  shared: boolean;
  write: boolean;
  /** same: one PUD-aligned address in every process; fixed: `address`; random: ASLR-like, 2 MiB aligned. */
  placement: Placement;
  address?: number;
  /** Mapped during setup (default) or only by an explicit mmap op. */
  mapAtStart: boolean;
  /** Registered with userfaultfd (MISSING mode) when mapped. */
  userfaultfd?: boolean;
}

export interface ProcessSpec {
  name: string;
  mappings: MappingSpec[];
}

export interface ThreadSpec {
  name: string;
  process: string;
  ops: Op[];
}

export interface WorkloadSpec {
  name: string;
  description: string;
  tags: string[];
  /** Parameter values in force (defaults merged with --set overrides). */
  params: Record<string, number | string>;
  pool: { hugePages: number; overcommit: number };
  /** Size of hugetlb_fault_mutex_table (power of two). */
  faultMutexes: number;
  files: Array<{ name: string; size: number; shm?: boolean }>;
  processes: ProcessSpec[];
  /** Ops run one after another before the threads start (not explored): mappings, prefaults. */
  setup: Array<{ process: string; op: Op }>;
  threads: ThreadSpec[];
  /** Timed runs: ops of each thread repeat until the simulated duration ends. */
  repeat?: boolean;
}
