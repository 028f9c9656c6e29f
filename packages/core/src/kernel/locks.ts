/**
 * Simulated kernel locks. Each operation is a generator that yields its scheduling points;
 * owners and waiters are recorded so that checkers (lockdep, deadlock, lock_stat) can read them.
 * Waiters queue FIFO and the releaser hands the lock over, as qspinlock and the rwsem handoff do.
 */
import type { KGen, Step } from '../engine/step.js';
import type { Thread, HoldMode } from '../engine/thread.js';
import type { Kernel } from '../engine/kernel.js';

export type LockKind = 'rwsem' | 'mutex' | 'spinlock' | 'pagelock';

export interface Waiter {
  t: Thread;
  mode: HoldMode;
  granted: boolean;
  since: number;
}

export abstract class Lock {
  readonly waiters: Waiter[] = [];
  /** Step labels of this lock's operations, built on first use (see lockLabel). */
  labels: string[] | null = null;
  constructor(
    readonly id: string,
    /** Lock class (lockdep key): all instances of i_mmap_rwsem share one class. */
    readonly cls: string,
    readonly kind: LockKind,
  ) {}
  get sleeping(): boolean {
    return this.kind !== 'spinlock';
  }
  abstract holders(): Thread[];
  abstract canTake(mode: HoldMode, queued: boolean): boolean;
  abstract take(t: Thread, mode: HoldMode): void;
  abstract drop(t: Thread, mode: HoldMode): boolean;
  /** Hand the lock to waiters after a release (FIFO; rwsem wakes every queued reader). */
  abstract wake(k: Kernel): void;
  isHeldBy(t: Thread): boolean {
    return this.holders().includes(t);
  }
}

/** include/linux/rwsem.h struct rw_semaphore @ v5.6..v6.1: a waiting writer blocks new readers. */
export class RwSem extends Lock {
  readers = new Set<Thread>();
  writer: Thread | null = null;
  constructor(id: string, cls: string) {
    super(id, cls, 'rwsem');
  }
  holders(): Thread[] {
    return this.writer ? [this.writer] : [...this.readers];
  }
  override isHeldBy(t: Thread): boolean {
    return this.writer === t || this.readers.has(t);
  }
  canTake(mode: HoldMode, queued: boolean): boolean {
    if (this.writer) return false;
    // Without being first in line a newcomer must not pass queued waiters (RWSEM_FLAG_WAITERS).
    if (!queued && this.waiters.length > 0) return false;
    return mode === 'read' || this.readers.size === 0;
  }
  take(t: Thread, mode: HoldMode): void {
    if (mode === 'read') this.readers.add(t);
    else this.writer = t;
  }
  drop(t: Thread, mode: HoldMode): boolean {
    if (mode === 'read') return this.readers.delete(t);
    if (this.writer !== t) return false;
    this.writer = null;
    return true;
  }
  wake(k: Kernel): void {
    if (this.waiters.length === 0 || this.writer) return;
    const head = this.waiters[0]!;
    if (head.mode === 'write') {
      if (this.readers.size > 0) return;
      this.waiters.shift();
      this.grant(k, head);
      return;
    }
    // rwsem_mark_wake(): grant the read lock to (up to 256) readers anywhere in the queue.
    let n = 0;
    for (let i = 0; i < this.waiters.length && n < 256; ) {
      const w = this.waiters[i]!;
      if (w.mode === 'read') {
        this.waiters.splice(i, 1);
        this.grant(k, w);
        n++;
      } else i++;
    }
  }
  private grant(k: Kernel, w: Waiter): void {
    this.take(w.t, w.mode);
    w.granted = true;
    k.lockGranted(this, w);
  }
}

/** A lock with one owner: mutex, spinlock (qspinlock is FIFO) or page lock. */
export class ExclusiveLock extends Lock {
  owner: Thread | null = null;
  holders(): Thread[] {
    return this.owner ? [this.owner] : [];
  }
  override isHeldBy(t: Thread): boolean {
    return this.owner === t;
  }
  canTake(_mode: HoldMode, queued: boolean): boolean {
    return this.owner === null && (queued || this.waiters.length === 0);
  }
  take(t: Thread): void {
    this.owner = t;
  }
  drop(t: Thread): boolean {
    if (this.owner !== t) return false;
    this.owner = null;
    return true;
  }
  wake(k: Kernel): void {
    if (this.owner || this.waiters.length === 0) return;
    const w = this.waiters.shift()!;
    this.owner = w.t;
    w.granted = true;
    k.lockGranted(this, w);
  }
}

export class Mutex extends ExclusiveLock {
  constructor(id: string, cls: string) {
    super(id, cls, 'mutex');
  }
}
export class SpinLock extends ExclusiveLock {
  constructor(id: string, cls: string) {
    super(id, cls, 'spinlock');
  }
}
export class PageLock extends ExclusiveLock {
  constructor(
    id: string,
    cls = 'page_lock',
    /** PG_locked lives in page->flags, on the struct page's cache line (the timed simulator's line). */
    readonly line?: string,
  ) {
    super(id, cls, 'pagelock');
  }
}

const LOCK_OP: Record<LockKind, [string, string, string]> = {
  rwsem: ['down_read', 'down_write', 'up'],
  mutex: ['mutex_lock', 'mutex_lock', 'mutex_unlock'],
  spinlock: ['spin_lock', 'spin_lock', 'spin_unlock'],
  pagelock: ['lock_page', 'lock_page', 'unlock_page'],
};

function opName(l: Lock, mode: HoldMode, release: boolean): string {
  const [r, w, u] = LOCK_OP[l.kind];
  if (release) return l.kind === 'rwsem' ? (mode === 'read' ? 'up_read' : 'up_write') : u;
  return mode === 'read' ? r : w;
}

const LABEL_LOCK = 0;
const LABEL_WOKEN = 2;
const LABEL_TRYLOCK = 4;
const LABEL_UNLOCK = 6;

/** The label of one of l's operations (what + mode), cached on the lock. */
function lockLabel(l: Lock, what: number, mode: HoldMode): string {
  const cache = (l.labels ??= []);
  const i = what + (mode === 'read' ? 0 : 1);
  let s = cache[i];
  if (s === undefined) {
    if (what === LABEL_LOCK) s = `${opName(l, mode, false)}(${l.cls})`;
    else if (what === LABEL_WOKEN) s = `${opName(l, mode, false)}(${l.cls}) [woken]`;
    else if (what === LABEL_TRYLOCK) s = `${l.kind === 'rwsem' ? (mode === 'read' ? 'down_read_trylock' : 'down_write_trylock') : l.kind === 'pagelock' ? 'trylock_page' : `${l.kind}_trylock`}(${l.cls})`;
    else s = `${opName(l, mode, true)}(${l.cls})`;
    cache[i] = s;
  }
  return s;
}

/**
 * Read-side rw_semaphore operations commute with each other: taking or dropping a read hold
 * never changes what another reader's operation does (a queued writer blocks both orders alike,
 * and the last reader out wakes it either way), and readers do not order each other's accesses.
 */
/** The cache line a lock word sits on, when it is not the lock's own object (the page lock). */
function lineOf(l: Lock): string | undefined {
  return l instanceof PageLock ? l.line : undefined;
}

function readSide(l: Lock, mode: HoldMode): boolean {
  return l.kind === 'rwsem' && mode === 'read';
}

/** Acquire (blocking): down_read / down_write / mutex_lock / spin_lock / lock_page. */
export function* lock(k: Kernel, t: Thread, l: Lock, mode: HoldMode, fn: string): KGen {
  let waiter: Waiter | null = null;
  const first: Step = {
    fn,
    obj: l.id,
    access: 'acquire',
    label: lockLabel(l, LABEL_LOCK, mode),
    cost: 'lock',
    lockClass: l.cls,
    commutes: readSide(l, mode),
    line: lineOf(l),
    run: () => {
      k.beforeAcquire(t, l, mode, fn, false);
      if (l.canTake(mode, false)) {
        l.take(t, mode);
        k.acquired(t, l, mode, fn, false, 0);
      } else {
        waiter = { t, mode, granted: false, since: k.now() };
        l.waiters.push(waiter);
        t.waitingOn = l;
        k.contended(t, l, mode, fn);
      }
    },
  };
  yield first;
  if (waiter) {
    const w: Waiter = waiter;
    yield {
      fn,
      obj: l.id,
      access: 'acquire',
      label: lockLabel(l, LABEL_WOKEN, mode),
      cost: 'step',
      lockClass: l.cls,
    commutes: readSide(l, mode),
    line: lineOf(l),
      sleeping: l.sleeping,
      blocked: () => !w.granted,
    };
  }
}

/** Try to acquire without waiting: down_write_trylock / mutex_trylock / trylock_page. */
export function* trylock(k: Kernel, t: Thread, l: Lock, mode: HoldMode, fn: string): KGen<boolean> {
  let ok = false;
  yield {
    fn,
    obj: l.id,
    access: 'acquire',
    label: lockLabel(l, LABEL_TRYLOCK, mode),
    cost: 'lock',
    lockClass: l.cls,
    commutes: readSide(l, mode),
    line: lineOf(l),
    run: () => {
      k.beforeAcquire(t, l, mode, fn, true);
      if (l.canTake(mode, false)) {
        l.take(t, mode);
        ok = true;
        k.acquired(t, l, mode, fn, true, 0);
      }
    },
  };
  return ok;
}

/** Release: up_read / up_write / mutex_unlock / spin_unlock / unlock_page. */
export function* unlock(k: Kernel, t: Thread, l: Lock, mode: HoldMode, fn: string): KGen {
  yield {
    fn,
    obj: l.id,
    access: 'release',
    label: lockLabel(l, LABEL_UNLOCK, mode),
    cost: 'unlock',
    lockClass: l.cls,
    commutes: readSide(l, mode),
    line: lineOf(l),
    run: () => {
      const ok = l.drop(t, mode);
      k.released(t, l, mode, fn, ok);
      l.wake(k);
    },
  };
}
