/**
 * The step protocol: every kernel path is a generator that yields a Step at each point where
 * another CPU could interleave. The executor decides which thread's pending step runs next.
 */

/** What a step does to the object it names (the footprint DPOR and the checkers use). */
export type Access = 'read' | 'write' | 'acquire' | 'release' | 'none';

/** Cost classes of the timed simulator (see sim/costs.ts). Every strategy pays the same. */
export type CostKey =
  | 'step'
  | 'syscall'
  | 'ptWalk'
  | 'pteUpdate'
  | 'lock'
  | 'unlock'
  | 'atomic'
  | 'clearHugePage'
  | 'copyHugePage'
  | 'pageCacheLookup'
  | 'pageCacheInsert'
  | 'allocPage'
  | 'allocTable'
  | 'tlbFlush'
  | 'userAccess'
  | 'rcu';

export interface Step {
  /** The kernel function this step belongs to (e.g. "hugetlb_no_page"). */
  fn: string;
  /** The object touched ('' for none). Objects are named "kind:id", e.g. "pmd:3", "rwsem:i_mmap#1". */
  obj: string;
  access: Access;
  /**
   * Human-readable text for traces and replays, e.g. "down_read(i_mmap_rwsem)". Hot steps give
   * a function that builds it from values fixed when the step was made, so the text costs
   * nothing unless read: always read it through stepLabel(step).
   */
  label: string | (() => string);
  /** When present and true the thread is not runnable (waiting). */
  blocked?: () => boolean;
  /** A waiter that is descheduled (sleeping lock) rather than spinning. */
  sleeping?: boolean;
  /** The step's effect, run atomically when the scheduler picks it. */
  run?: () => void;
  cost?: CostKey;
  /** Multiplier for cost (e.g. number of CPUs an IPI reaches). */
  units?: number;
  /**
   * The step commutes with every other commuting step on the same object (DPOR does not order
   * them): an atomic update whose result the path does not use (atomic_inc/dec of a page's
   * refcount or mapcount), or a read-side rw_semaphore operation.
   */
  commutes?: boolean;
  /**
   * The object `obj` is part of (a PTE's page-table page): a write to the parent (allocating or
   * freeing the table) conflicts with every access to its parts; parts commute with each other
   * unless they are the same object (engine/dpor.ts).
   */
  parent?: string;
  /** The cache line the step's atomic or lock word is on, when not `obj` (the timed simulator's cache-line model). */
  line?: string;
  /** A lock-class name for lock steps (lock_stat, lockdep). */
  lockClass?: string;
}

/** A step's label as text (labels of hot steps are built only when read). */
export function stepLabel(s: Step): string {
  const l = s.label;
  return typeof l === 'string' ? l : l();
}

export type KGen<T = void> = Generator<Step, T, void>;

/** Build a plain step. */
export function step(fn: string, obj: string, access: Access, label: string | (() => string), cost: CostKey = 'step'): Step {
  return { fn, obj, access, label, cost };
}
