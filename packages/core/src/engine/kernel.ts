import { EventEmitter } from 'eventemitter3';
import type { KernelEvents, Violation, ViolationKind } from './events.js';
import type { KGen, Step } from './step.js';
import { Thread, type HoldMode } from './thread.js';
import { Mutex, type Lock, type Waiter } from '../kernel/locks.js';
import { Rcu, rcuCallbackThread } from '../kernel/rcu.js';
import { Hstate } from '../model/page.js';
import { Inode } from '../model/inode.js';
import { Mm } from '../model/mm.js';
import { TablePool } from '../model/pgtable.js';
import type { SyncStrategy } from '../strategy.js';

export interface KernelConfig {
  /** Huge pages in the pool (nr_hugepages). */
  hugePages: number;
  /** nr_overcommit_hugepages. */
  overcommit?: number;
  /** Entries in hugetlb_fault_mutex_table (a power of two). */
  faultMutexes?: number;
}

/** jhash2-like mixing of (mapping, idx), deterministic. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The Kernel fields that hold model state: a copy of a machine (workload/build.ts
 * MachineTemplate, with engine/snapshot.ts) copies these and makes every other field afresh. A
 * field added to Kernel must be listed here or in KERNEL_FRESH_FIELDS, or machines are not copied.
 */
export const KERNEL_MODEL_FIELDS: readonly string[] = ['hstate', 'inodes', 'mms', 'tables', 'faultTable', 'rcu', 'violations', 'seq', 'nextId'];
/** Kernel fields a copied machine gets new (its own bus, tasks, clock) or shares (strategy, config). */
export const KERNEL_FRESH_FIELDS: readonly string[] = ['bus', 'threads', 'clock', 'rcuThread', 'stepListeners', 'strategy', 'config'];

/**
 * The simulated machine: the hugetlb mm model (pool, inodes, mms, page-table pages), the tasks
 * running kernel paths, the strategy in force, and the event bus checkers listen on.
 */
export class Kernel {
  readonly bus = new EventEmitter<KernelEvents>();
  readonly hstate: Hstate;
  readonly inodes = new Map<string, Inode>();
  readonly mms = new Map<string, Mm>();
  readonly tables = new TablePool();
  /** hugetlb_fault_mutex_table, each mutex made on first use (see faultMutexes). */
  private readonly faultTable: Array<Mutex | undefined>;
  readonly rcu = new Rcu();
  readonly threads: Thread[] = [];
  readonly violations: Violation[] = [];
  seq = 0;
  /** Virtual time source (the timed simulator installs one); defaults to the step count. */
  clock: () => number = () => this.seq;
  private nextId = 1;
  private rcuThread: Thread | null = null;
  /** Set by anything that wants every step (traces); cheap check in the hot loop. */
  stepListeners = false;

  constructor(
    readonly strategy: SyncStrategy,
    readonly config: KernelConfig,
  ) {
    this.hstate = new Hstate(config.hugePages, config.overcommit ?? 0);
    const n = config.faultMutexes ?? 64;
    if (n < 1 || (n & (n - 1)) !== 0) throw new Error(`faultMutexes must be a power of two, got ${n}`);
    const table: Array<Mutex | undefined> = [];
    for (let i = 0; i < n; i++) table.push(undefined);
    this.faultTable = table;
  }

  /** Every mutex of hugetlb_fault_mutex_table (all made now; the kernel paths use faultMutex()). */
  get faultMutexes(): readonly Mutex[] {
    for (let i = 0; i < this.faultTable.length; i++) this.faultMutexAt(i);
    return this.faultTable as Mutex[];
  }

  private faultMutexAt(i: number): Mutex {
    return (this.faultTable[i] ??= new Mutex(`mutex:fault#${i}`, 'hugetlb_fault_mutex'));
  }

  id(): number {
    return this.nextId++;
  }
  now(): number {
    return this.clock();
  }

  addInode(name: string, size: number): Inode {
    const ino = new Inode(this.id(), name, size);
    this.inodes.set(name, ino);
    this.strategy.initInode?.(this, ino);
    return ino;
  }
  addMm(name: string): Mm {
    const mm = new Mm(this.id(), name);
    this.mms.set(name, mm);
    return mm;
  }

  /** mm/hugetlb.c hugetlb_fault_mutex_hash() @ v5.6: jhash2 of {mapping, idx} masked to the table size. */
  faultMutex(inode: Inode, idx: number): Mutex {
    return this.faultMutexAt(mix(inode.id, idx) & (this.faultTable.length - 1));
  }

  /** Start a task running the generator that `body` makes for it. */
  spawn(name: string, proc: string, body: (t: Thread) => KGen<unknown>, daemon = false): Thread {
    const t = new Thread(this.threads.length, name, null as unknown as KGen<unknown>, proc);
    t.daemon = daemon;
    this.threads.push(t);
    const gen = body(t);
    t.gen = gen;
    const first = gen.next();
    if (first.done) {
      t.done = true;
      t.result = first.value;
    } else t.pending = first.value;
    return t;
  }

  ensureRcuThread(): void {
    if (!this.rcuThread) this.rcuThread = this.spawn('rcu_cb', '', () => rcuCallbackThread(this), true);
  }

  /** Execute thread t's pending step and advance it to the next one. */
  stepThread(t: Thread): Step {
    const s = t.pending!;
    this.seq++;
    t.steps++;
    s.run?.();
    if (this.stepListeners) this.bus.emit('step', t, s, this.seq);
    const r = t.gen.next();
    if (r.done) {
      t.done = true;
      t.pending = null;
      t.result = r.value;
      this.threadEnded(t);
    } else t.pending = r.value;
    return s;
  }

  private threadEnded(t: Thread): void {
    for (const h of t.held) {
      this.report({
        kind: 'lock-imbalance',
        message: `${t.name} exited with ${h.lock.cls} held (${h.mode}, taken in ${h.fn})`,
        thread: t.name,
        fn: h.fn,
      });
    }
    if (t.rcuDepth > 0) {
      this.report({ kind: 'lock-imbalance', message: `${t.name} exited inside an RCU read-side critical section`, thread: t.name });
    }
    this.bus.emit('thread:end', t);
  }

  report(v: Omit<Violation, 'seq'> & { seq?: number }): void {
    const full: Violation = { ...v, seq: v.seq ?? this.seq };
    this.violations.push(full);
    this.bus.emit('violation', full);
  }

  hasViolation(kind?: ViolationKind): boolean {
    return kind ? this.violations.some((v) => v.kind === kind) : this.violations.length > 0;
  }

  // ---- lock bookkeeping, called by kernel/locks.ts ----

  checkMaySleep(t: Thread, what: string, fn: string): void {
    if (t.atomic > 0 || t.rcuDepth > 0) {
      const ctx = t.rcuDepth > 0 && t.atomic === 0 ? 'an RCU read-side critical section' : 'atomic context';
      const held = t.held.filter((h) => !h.lock.sleeping).map((h) => h.lock.cls);
      this.report({
        kind: 'sleep-in-atomic',
        message: `BUG: sleeping function called from invalid context: ${what} in ${fn} inside ${ctx}${held.length ? ` (holding ${held.join(', ')})` : ''}`,
        thread: t.name,
        fn,
      });
    }
  }

  beforeAcquire(t: Thread, l: Lock, mode: HoldMode, fn: string, trylock: boolean): void {
    // The description is built only for a report (this runs at every sleeping-lock acquisition).
    if (l.sleeping && !trylock && (t.atomic > 0 || t.rcuDepth > 0)) this.checkMaySleep(t, `${l.kind === 'rwsem' ? (mode === 'read' ? 'down_read' : 'down_write') : l.kind === 'pagelock' ? 'lock_page' : 'mutex_lock'}(${l.cls})`, fn);
    if (l.isHeldBy(t) && !trylock) {
      this.report({
        kind: 'deadlock',
        message: `${t.name} acquires ${l.cls} (${l.id}) in ${fn} while already holding it: recursive locking`,
        thread: t.name,
        fn,
      });
    }
    // The event carries a copy of the held locks: build it only for a listener (lockdep).
    if (this.bus.listenerCount('lock:attempt') > 0) this.bus.emit('lock:attempt', { t, lock: l, mode, fn, trylock, held: t.held.slice() });
  }

  acquired(t: Thread, l: Lock, mode: HoldMode, fn: string, trylock: boolean, waited: number): void {
    t.held.push({ lock: l, mode, fn, trylock });
    if (!l.sleeping) t.atomic++;
    this.bus.emit('lock:acquired', t, l, mode, fn, waited);
  }

  contended(t: Thread, l: Lock, mode: HoldMode, fn: string): void {
    this.bus.emit('lock:contended', t, l, mode, fn);
  }

  lockGranted(l: Lock, w: Waiter): void {
    w.t.waitingOn = null;
    w.t.held.push({ lock: l, mode: w.mode, fn: w.t.pending?.fn ?? '', trylock: false });
    if (!l.sleeping) w.t.atomic++;
    this.bus.emit('lock:acquired', w.t, l, w.mode, w.t.pending?.fn ?? '', this.now() - w.since);
  }

  released(t: Thread, l: Lock, mode: HoldMode, fn: string, ok: boolean): void {
    if (!ok) {
      const owners = l.holders().map((h) => h.name);
      this.report({
        kind: 'lock-imbalance',
        message: `${t.name} releases ${l.cls} (${mode}) in ${fn} but does not hold it${owners.length ? ` (held by ${owners.join(', ')})` : ''}`,
        thread: t.name,
        fn,
      });
    } else {
      const i = t.held.findIndex((h) => h.lock === l && h.mode === mode);
      if (i >= 0) t.held.splice(i, 1);
      if (!l.sleeping) t.atomic--;
    }
    this.bus.emit('lock:released', t, l, mode, fn, ok);
  }

  emitRcu(t: Thread, what: 'lock' | 'unlock'): void {
    this.bus.emit('rcu', t, what);
  }
}
