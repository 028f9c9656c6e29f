import type { KGen, Step } from './step.js';
import type { Lock } from '../kernel/locks.js';

export type HoldMode = 'read' | 'write';

export interface HeldLock {
  lock: Lock;
  mode: HoldMode;
  /** Kernel function that acquired it. */
  fn: string;
  trylock: boolean;
}

/** A simulated task: a generator plus the per-task state the kernel keeps (held locks, preempt/RCU depth). */
export class Thread {
  pending: Step | null = null;
  done = false;
  result: unknown = undefined;
  /** Service threads (RCU callbacks) are not counted for deadlock or completion. */
  daemon = false;
  held: HeldLock[] = [];
  /** Spinlocks held / interrupts disabled: sleeping here is a bug. */
  atomic = 0;
  rcuDepth = 0;
  /** Count of outermost rcu_read_unlock()s: a grace period waits for this to advance. */
  rcuExits = 0;
  /** The lock this thread is queued on, for the wait-for graph. */
  waitingOn: Lock | null = null;
  /** Workload op currently running (for reports). */
  op = '';
  opIndex = -1;
  steps = 0;
  /**
   * The task's CPU keeps the translations its MMU walks find (model/tlb.ts). Only a cached
   * access (sysAccess) of the same task reads them, so workload/build.ts turns this off for a task
   * whose ops have none: what it would cache is never read (the TLB fill is most of a full-scale
   * walk's cost otherwise).
   */
  cachesTranslations = true;

  constructor(
    public id: number,
    readonly name: string,
    public gen: KGen<unknown>,
    /** Process name (mm) the thread belongs to, '' for kernel threads. */
    readonly proc: string,
  ) {}

  get runnable(): boolean {
    if (this.done || !this.pending) return false;
    const b = this.pending.blocked;
    return !b || !b();
  }
}
