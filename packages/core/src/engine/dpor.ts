/**
 * The exhaustive explorer: stateless dynamic partial-order reduction over the executor.
 *
 * Algorithm: source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, "Optimal Dynamic
 * Partial Order Reduction", POPL 2014, Algorithm 1; "Source Sets", JACM 2017). Every schedule is a
 * fresh machine run (runOnce) that follows a prefix of thread choices and then extends it; races
 * in the run add threads to the backtrack sets of earlier choice points.
 *
 * Dependency between two steps (their footprints, read from Thread.pending before they run):
 * - same non-empty `obj` and not both reads (write/acquire/release conflict with everything);
 * - rcu_read_lock()/rcu_read_unlock() (cost 'rcu', no object) change what a grace period waits
 *   for, so they count as "reader" accesses of the RCU state: they conflict with synchronize_rcu,
 *   call_rcu and the grace-period wait, and commute with each other;
 * - steps marked `commutes` (atomic_inc/dec whose result is unused, read-side rwsem operations)
 *   form the class 'update': they commute with each other and conflict with reads and writes;
 * - a step of a daemon thread (the RCU callback kthread) is a write of the object its callback
 *   acts on (the page table it frees); one that names no object conflicts with every step;
 * - observed enabling: a step after which another thread became runnable or blocked (a release
 *   handing a lock over, the last reader leaving, a thread exiting) is dependent with that
 *   thread's next step, whatever the footprints say. A race whose second step was not runnable
 *   before its first one ran (the woken waiter after the release) cannot be reversed and adds
 *   nothing.
 * - parts and wholes: a step may name the object its object is part of (`Step.parent`: a PTE's
 *   page-table page). Accesses to different parts commute; a write to the whole (allocating or
 *   freeing the table) conflicts with every access to its parts.
 * 'none' steps commute with everything else.
 *
 * Lock-aware reduction (on unless `reduceLocks: false`): a thread's critical section on a lock
 * runs from its acquire attempt to the release that drops it. Two sections of different threads
 * on one lock *commute* when both are closed in the run, neither takes or drops another lock
 * inside (nested sections keep the plain treatment, so lock-order deadlocks are still reached)
 * nor contains a step that conflicts with everything, and no step of one conflicts with a step
 * of the other. Running two commuting sections in either order leaves the same state, so their
 * lock operations are not a race to reverse, and the release -> acquire hand-over between them
 * (a happens-before edge, or the enabling edge of a woken waiter) orders nothing else. This
 * is the idea of LAPOR (Kokologiannakis, Raad, Vafeiadis, "Effective Lock Handling in Stateless
 * Model Checking", OOPSLA 2019) in a source-DPOR setting: without it, one critical section of
 * thread A against n sections of thread B on the same lock (a page-table walk taking the PTL at
 * every entry) multiplies the search by n even when none of them touch what A's touches.
 * Happens-before and races are therefore computed after each run (a section's steps are known
 * only once it closed). A race whose reversal needs a thread that, at the first step of the
 * race, waits for a lock another thread holds is reversed before that thread's section began
 * (liftPast), since no edge between commuting sections raced there. The soundness fuzz in
 * test/dpor.test.ts compares the final states and violations reached against plain enumeration
 * on random programs with several critical sections per thread, nested and not.
 *
 * Soundness holds relative to the footprints the model declares; see the report of the DPOR work
 * for the places where a step's continuation touches state outside its footprint.
 */
import type { Kernel } from './kernel.js';
import type { Step } from './step.js';
import type { Thread } from './thread.js';
import type { ExecResult, Scheduler } from './executor.js';
import type { SyncStrategy } from '../strategy.js';
import type { WorkloadSpec } from '../workload/types.js';
import type { ViolationKind } from './events.js';
import { LockGraph } from '../check/lockdep.js';
import { formatLog10, log10Multinomial, stepsPerThread } from './interleavings.js';
import { findingFrom, runOnce, setDpor, type ExploreOptions, type ExploreResult, type Finding } from './explore.js';
import { MachineTemplate } from '../workload/build.js';

/** How a step's access combines with others on the same object. */
export type DepClass = 'read' | 'reader' | 'update' | 'write';

/** A step's footprint as DPOR sees it. */
export interface Footprint {
  /** '' = touches nothing shared. */
  obj: string;
  cls: DepClass;
  /** Conflicts with every step (daemon callbacks). */
  global: boolean;
  /** The object `obj` is part of ('' = none): a write to it conflicts with this access. */
  parent: string;
}

const RCU_OBJ = 'rcu:state';
const NO_FOOTPRINT: Footprint = { obj: '', cls: 'read', global: false, parent: '' };

/** Footprints of ordinary steps per object, by class (read, write, update): they are never changed, so a search shares them. */
export type FootprintCache = Map<string, Array<Footprint | null>>;
const CLASS_SLOT = { read: 0, write: 1, update: 2 } as const;

/** The footprint of a pending step of a thread (shared through `cache` when one is given). */
export function footprintOf(s: Step, daemon = false, rcuObj = RCU_OBJ, cache?: FootprintCache): Footprint {
  // A daemon step that names its object (an RCU callback freeing a table) is an ordinary write;
  // otherwise its effects are unknown and it conflicts with everything.
  if (daemon) return { obj: s.obj, cls: 'write', global: s.obj === rcuObj || s.obj === '', parent: '' };
  if (s.cost === 'rcu' && (s.access === 'none' || s.access === 'read')) return { obj: rcuObj, cls: 'reader', global: false, parent: '' };
  if (s.access === 'none' || s.obj === '') return NO_FOOTPRINT;
  const parent = s.parent ?? '';
  const cls = s.commutes ? 'update' : s.access === 'read' ? 'read' : 'write';
  if (!cache) return { obj: s.obj, cls, global: false, parent };
  let byCls = cache.get(s.obj);
  if (!byCls) cache.set(s.obj, (byCls = [null, null, null]));
  const slot = CLASS_SLOT[cls];
  let fp = byCls[slot];
  if (!fp || fp.parent !== parent) byCls[slot] = fp = { obj: s.obj, cls, global: false, parent };
  return fp;
}

/** Do two footprints conflict (must their order be explored both ways)? */
export function dependent(a: Footprint, b: Footprint): boolean {
  if (a.global || b.global) return true;
  if (a.obj === '' || b.obj === '') return false;
  if (a.obj !== b.obj) {
    // A part and a write to the whole it belongs to (an entry and its table's allocation or free).
    return (a.parent === b.obj && b.cls === 'write') || (b.parent === a.obj && a.cls === 'write');
  }
  return !(a.cls === b.cls && a.cls !== 'write');
}

/** Something DPOR can run again and again: a fresh machine per run, deterministic given the schedule. */
export interface DporTarget {
  /** Run once under `sched`; call `attach(k)` with the machine before its first step. */
  run(sched: Scheduler, attach: (k: Kernel) => void): ExecResult;
}

export interface DporSearchOptions {
  /** Upper bound on runs (default 100000). */
  maxSchedules?: number;
  /** Wall-clock budget in ms; the only non-deterministic knob. */
  timeLimitMs?: number;
  /** After every run that was not cut short by the sleep sets; return true to end the search. */
  onRun?: (exec: ExecResult, k: Kernel) => boolean | void;
  onProgress?: (runs: number) => void;
  /**
   * Leave out backtrack choices whose schedule prefix would have more than this many preemptions
   * (switches away from a thread that could have run on). A bounded search is a quick bug hunt,
   * not a proof: it is exhaustive only if it never had to leave anything out.
   */
  preemptionBound?: number;
  /**
   * Lock-aware reduction (default true): two critical sections of one lock whose steps do not
   * conflict are not ordered (see sectionsCommute in dporSearch). false = every pair of
   * operations on one lock is a race, as in plain source-set DPOR.
   */
  reduceLocks?: boolean;
}

export interface DporSearchResult {
  /** Runs performed (complete ones plus those cut short as redundant by the sleep sets). */
  schedules: number;
  /** Runs that went to the end (completion, deadlock, violation or the step bound). */
  complete: number;
  /** Runs abandoned because every runnable thread was asleep (an equivalent run was explored). */
  sleepBlocked: number;
  /** Every class of equivalent schedules was explored. */
  exhaustive: boolean;
  timedOut: boolean;
  /** onRun asked to stop. */
  stopped: boolean;
  /** The preemption bound left some choice out. */
  pruned: boolean;
}

/*
 * Small sets of thread ids (a node's sleep, backtrack and done sets, enabling edges) are plain
 * arrays without duplicates: a run records one node per step, and thread counts are small, so
 * arrays with includes() cost far less than Sets and Maps. Nothing below depends on the order of
 * a set's elements (the next choice is the lowest id left), only on membership.
 */

interface Node {
  /** Runnable thread ids at this point, ascending. */
  enabled: number[];
  /** Footprint of each runnable thread's pending step, parallel to `enabled`. */
  fps: Footprint[];
  /** Sleep set on entry. */
  sleep: number[];
  backtrack: number[];
  /** Threads already chosen here (the current one included); always a subset of `backtrack`. */
  done: number[];
  chosen: number;
  /** Preemptions in the schedule before this point. */
  pre: number;
}

interface Ev {
  tid: number;
  fp: Footprint;
  /** 1-based index of the event in its thread. */
  local: number;
  /** Vector clock: per thread, the local index of its last event that happens before this one (set by analyze). */
  vc: number[];
  /** A lock operation (acquire attempt, woken acquire, trylock or release) on fp.obj. */
  lockOp: boolean;
  /** The critical section this lock operation belongs to (index into the run's sections), -1 = none (a failed trylock). */
  cs: number;
  /** Spare array analyze() writes this event's clock into (events and their arrays are reused from run to run). */
  vcBuf: number[];
}

/**
 * A critical section of one thread on one lock in a run: from the acquire attempt (which may
 * queue) to the release that drops the lock. `fps` are the footprints of the thread's other
 * steps in between. It may commute with another thread's section on the same lock (see
 * sectionsCommute) only if it is `plain`: closed within the run, no other lock operation and no
 * step that conflicts with everything inside it.
 */
interface Section {
  tid: number;
  lock: string;
  /** Its first event (the acquire attempt) and its release (-1 while open). */
  start: number;
  end: number;
  plain: boolean;
  closed: boolean;
  fps: Footprint[];
}

interface ObjRec {
  lastWrite: number;
  /**
   * Latest event per thread of each commuting class since the last write, as flat pairs
   * [tid, event, tid, event, ...] in the order the threads first appeared (what a Map keyed by
   * tid iterates; a run has a handful of threads, so a scan beats hashing and allocates nothing).
   */
  read: number[];
  reader: number[];
  update: number[];
  /** The whole whose list of parts it was first added to in this run ('' = none yet). */
  listedIn: string;
}

const newRec = (): ObjRec => ({ lastWrite: -1, read: [], reader: [], update: [], listedIn: '' });

/** Forget the latest reads of every class (a write supersedes them). */
function clearLatest(r: ObjRec): void {
  if (r.read.length > 0) r.read.length = 0;
  if (r.reader.length > 0) r.reader.length = 0;
  if (r.update.length > 0) r.update.length = 0;
}

/** Push the events of a flat pair list, in order. */
function pushEvents(into: number[], pairs: readonly number[]): void {
  for (let x = 1; x < pairs.length; x += 2) into.push(pairs[x]!);
}

/** Set the latest event of thread q in a flat pair list (keeps q's place if it is there). */
function setLatest(pairs: number[], q: number, j: number): void {
  for (let x = 0; x < pairs.length; x += 2) {
    if (pairs[x] === q) {
      pairs[x + 1] = j;
      return;
    }
  }
  pairs.push(q, j);
}

const SLEEP_BLOCKED = Symbol('dpor: sleep-set blocked');
const NO_IDS: number[] = [];

const hb = (evs: Ev[], x: number, clock: number[]): boolean => (clock[evs[x]!.tid] ?? 0) >= evs[x]!.local;

/** Index in the ascending list l of its last element below i, or -1. */
function lastBefore(l: readonly number[], i: number): number {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (l[mid]! < i) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Add id to a small set kept as an array. */
function addId(set: number[], id: number): void {
  if (!set.includes(id)) set.push(id);
}

/** Source-set DPOR with sleep sets over `target`. */
export function dporSearch(target: DporTarget, opts: DporSearchOptions = {}): DporSearchResult {
  const maxSchedules = opts.maxSchedules ?? 100_000;
  const bound = opts.preemptionBound ?? Number.POSITIVE_INFINITY;
  const reduceLocks = opts.reduceLocks ?? true;
  let pruned = false;
  /** Preemptions a choice of r at node j adds. */
  const preempts = (j: number, r: number): number => {
    if (j === 0) return 0;
    const prev = nodes[j - 1]!.chosen;
    return r !== prev && nodes[j]!.enabled.includes(prev) ? 1 : 0;
  };
  const allowed = (j: number, r: number): boolean => {
    if (nodes[j]!.pre + preempts(j, r) <= bound) return true;
    pruned = true;
    return false;
  };
  const t0 = Date.now();
  const nodes: Node[] = [];
  let schedules = 0;
  let complete = 0;
  let sleepBlocked = 0;
  let timedOut = false;
  let stopped = false;
  let exhaustive = false;
  // Scratch arrays reused at every step.
  const cands: number[] = [];
  const uniq: number[] = [];
  const changed: number[] = [];
  // Objects reused from run to run (a run's records are dropped when the next one starts).
  const evPool: Ev[] = [];
  const fpIntern: FootprintCache = new Map();
  const recPool: ObjRec[] = [];

  for (;;) {
    if (schedules >= maxSchedules) break;
    if (opts.timeLimitMs !== undefined && Date.now() - t0 > opts.timeLimitMs) {
      timedOut = true;
      break;
    }
    // ---- per-run recording state ----
    const evs: Ev[] = [];
    const threadEvs: number[][] = [];
    const objs = new Map<string, ObjRec>();
    let recsUsed = 0;
    const takeRec = (): ObjRec => {
      let r = recPool[recsUsed];
      if (r) {
        r.lastWrite = -1;
        clearLatest(r);
        r.listedIn = '';
      } else recPool[recsUsed] = r = newRec();
      recsUsed++;
      return r;
    };
    /** Per whole object (a page table): the records of its parts (entries) seen in this run. */
    const parts = new Map<string, ObjRec[]>();
    let lastGlobal = -1;
    /** Per thread: events that changed its runnability since its last step. */
    const enablers: number[][] = [];
    const box: { k: Kernel | null } = { k: null };
    let rcuObj = RCU_OBJ;
    /**
     * Per thread: the pending step whose footprint was last computed, and that footprint. A
     * thread's pending step stays the same object while other threads run, so its footprint is
     * computed once (a step's fields do not change when it runs).
     */
    const fpStep: Array<Step | null> = [];
    const fpVal: Footprint[] = [];
    const footprint = (t: Thread, s: Step): Footprint => {
      if (fpStep[t.id] === s) return fpVal[t.id]!;
      const fp = footprintOf(s, t.daemon, rcuObj, fpIntern);
      fpStep[t.id] = s;
      fpVal[t.id] = fp;
      return fp;
    };

    const addBacktrack = (i: number, j: number): void => {
      const ei = evs[i]!;
      const q = evs[j]!.tid;
      const node = nodes[i]!;
      // Initials of v = notdep(e_i, E).e_j: first event of each thread in v with no predecessor in v.
      const firsts: Array<{ r: number; f: number; excl: boolean }> = [];
      for (let r = 0; r < threadEvs.length; r++) {
        const list = threadEvs[r];
        if (!list || list.length === 0 || r === ei.tid) continue;
        const lo = lastBefore(list, i + 1) + 1; // its first event after e_i (event indices are integers)
        if (lo >= list.length) continue;
        const f = list[lo]!;
        if (f > j || (f === j && r !== q)) continue;
        if (f !== j && hb(evs, i, evs[f]!.vc)) continue; // after e_i: not in v
        // A lock operation that came after another thread's section on the same lock began
        // after e_i: run before e_i it would take the lock ahead of that section and change who
        // waits for whom, so it is not an initial (without the reduction the lock edge says so).
        // Such a thread still orders the steps of v that happen after its own.
        firsts.push({ r, f, excl: f !== j && reduceLocks && evs[f]!.lockOp && lockedBehind(i, f) });
      }
      if (reduceLocks) {
        // v must be able to run from node i: a step of v that begins a section on a lock another
        // thread holds at i, with the release not in v (e_i's thread's, or a later one), can only
        // run before that thread's section began: the race is reversed from there too (in
        // addition to the choice below, which may reach it by other races).
        const n = blockedFrom(i, j);
        if (n >= 0) addBacktrack(n, j);
      }
      const initials: number[] = [];
      for (const x of firsts) {
        if (x.excl) continue;
        let initial = true;
        for (const y of firsts) if (y.f < x.f && hb(evs, y.f, evs[x.f]!.vc)) initial = false;
        if (initial) initials.push(x.r);
      }
      if (initials.length === 0) {
        // Every thread of v waits behind a section on a lock: if one of those locks is held at
        // i by another thread, v can only run from before that thread's section began.
        for (const x of firsts) {
          if (!x.excl) continue;
          const n = heldSince(i, evs[x.f]!.fp.obj, x.r, evs[x.f]!.fp);
          if (n >= 0) {
            addBacktrack(n, j);
            return;
          }
        }
      }
      for (const r of initials) if (node.backtrack.includes(r) || node.sleep.includes(r)) return;
      const runnable = initials.filter((r) => node.enabled.includes(r)).sort((a, b) => a - b);
      if (runnable.length > 0) {
        const r = runnable[0]!;
        if (allowed(i, r)) addId(node.backtrack, r);
        return;
      }
      if (reduceLocks && !enablerOf(i, j)) {
        // An initial that waits at i for a lock another thread holds: the reversal has to start
        // before that thread's critical section (commuting sections leave no edge that would
        // have raced there).
        for (const r of initials) {
          const n = liftPast(i, r);
          if (n < 0) continue;
          // The race as seen from there: the initials of notdep(e_n).e_j (other threads' steps
          // between n and i come into it), lifted again if need be.
          addBacktrack(n, j);
          return;
        }
      }
      // Not reversible: the second step was not runnable until the first one ran.
      if (initials.length === 1 && initials[0] === q && (enablerOf(i, j) || !node.enabled.includes(q))) return;
      // Anything else: be conservative and try every thread there.
      for (const r of node.enabled) if (!node.sleep.includes(r) && allowed(i, r)) addId(node.backtrack, r);
    };
    /**
     * For the race (e_i, e_j): the start of a section, open at node i and not released within v,
     * on a lock that a step of v (another thread's section start after i, not after e_i) takes;
     * -1 if there is none (the earliest such start when several).
     */
    const blockedFrom = (i: number, j: number): number => {
      const ti = evs[i]!.tid;
      let found = -1;
      for (const per of lockEvs.values()) {
        for (let h = 0; h < per.length; h++) {
          const pl = per[h];
          if (!pl) continue;
          const x0 = lastBefore(pl, i);
          if (x0 < 0) continue;
          const c = evs[pl[x0]!]!.cs;
          if (c < 0) continue;
          const held = sections[c]!;
          if (held.end >= 0 && held.end < i) continue; // released before i
          if (!(h === ti || held.end < 0 || held.end > j || hb(evs, i, evs[held.end]!.vc))) continue; // released within v
          if (found >= 0 && held.start >= found) continue;
          for (let r = 0; r < per.length; r++) {
            const rl = per[r];
            if (r === h || r === ti || !rl) continue;
            let hit = false;
            for (let y = lastBefore(rl, i) + 1; y < rl.length; y++) {
              const x = rl[y]!;
              if (x > j) break;
              const cx = evs[x]!.cs;
              if (cx < 0 || sections[cx]!.start !== x) continue;
              if (x !== j && hb(evs, i, evs[x]!.vc)) break; // after e_i: the rest of r is too
              if (!dependent(evs[x]!.fp, evs[held.start]!.fp)) continue; // two readers share it
              hit = true;
              break;
            }
            if (hit) {
              found = held.start;
              break;
            }
          }
        }
      }
      return found;
    };
    /** The start of the latest section on `lock` of a thread other than r that is open at node i, or -1. */
    const heldSince = (i: number, lock: string, r: number, taker?: Footprint): number => {
      const per = lockEvs.get(lock);
      if (!per) return -1;
      let best = -1;
      for (let h = 0; h < per.length; h++) {
        const pl = per[h];
        if (h === r || !pl) continue;
        const x = lastBefore(pl, i);
        const c = x >= 0 ? evs[pl[x]!]!.cs : -1;
        if (c < 0) continue;
        const sec = sections[c]!;
        if ((sec.end < 0 || sec.end >= i) && sec.start > best && (!taker || dependent(taker, evs[sec.start]!.fp))) best = sec.start;
      }
      return best;
    };
    /**
     * Event f begins a section (or is a failed trylock): did another thread begin a section on
     * the same lock between e_i (after it) and f?
     */
    const lockedBehind = (i: number, f: number): boolean => {
      const cf = evs[f]!.cs;
      if (cf >= 0 && sections[cf]!.start !== f) return false; // a woken waiter already queued
      const per = lockEvs.get(evs[f]!.fp.obj);
      if (!per) return false;
      const r = evs[f]!.tid;
      for (let h = 0; h < per.length; h++) {
        const pl = per[h];
        if (h === r || !pl) continue;
        for (const x of pl) {
          if (x <= i) continue;
          if (x >= f) break;
          const c = evs[x]!.cs;
          if (c >= 0 && sections[c]!.start === x && (evs[x]!.tid === evs[i]!.tid || hb(evs, i, evs[x]!.vc))) return true;
        }
      }
      return false;
    };
    /**
     * Thread r is not runnable at node n: if it waits there for a lock another thread holds, the
     * node where that thread's critical section began (before n); else -1.
     */
    const liftPast = (n: number, r: number): number => {
      const l = threadEvs[r];
      if (!l) return -1;
      const x = lastBefore(l, n);
      if (x < 0) return -1;
      const last = evs[l[x]!]!;
      if (!last.lockOp || last.cs < 0) return -1;
      const mine = sections[last.cs]!;
      if (mine.closed && mine.end < n) return -1; // not waiting for it
      // The latest section of another thread on that lock that began before n and was open at n.
      const best = heldSince(n, mine.lock, r);
      return best < n ? best : -1;
    };
    // Did event i change the runnability of the thread of event j (recorded as an enabling edge)?
    const enabledBy = new Map<number, number[]>();
    const enablerOf = (i: number, j: number): boolean => enabledBy.get(j)?.includes(i) ?? false;

    // ---- critical sections (lock-aware reduction) ----
    const sections: Section[] = [];
    /** Per thread: its open sections (indices into `sections`). */
    const openCs: number[][] = [];
    /** Per lock object: per thread, its lock operations on it (event indices, ascending). */
    const lockEvs = new Map<string, number[][]>();
    /** Memo of sectionsCommute per pair (key a * 65536 + b, a < b). */
    const commuteMemo = new Map<number, boolean>();
    /**
     * Do two sections of different threads on one lock commute? Both plain, and no step of one
     * conflicts with a step of the other: then running them in either order (each one whole)
     * leaves the same state, so the order of the two sections is not a race to reverse, and the
     * release -> acquire hand-over between them orders nothing else (lock-aware reduction, in
     * the spirit of LAPOR: Kokologiannakis, Raad, Vafeiadis, OOPSLA 2019).
     */
    const sectionsCommute = (a: number, b: number): boolean => {
      if (a < 0 || b < 0) return false;
      const sa = sections[a]!;
      const sb = sections[b]!;
      if (!reduceLocks || !sa.plain || !sb.plain || !sa.closed || !sb.closed) return false;
      const key = a < b ? a * 65536 + b : b * 65536 + a;
      let v = commuteMemo.get(key);
      if (v === undefined) {
        v = true;
        for (const x of sa.fps) {
          for (const y of sb.fps) {
            if (dependent(x, y)) {
              v = false;
              break;
            }
          }
          if (!v) break;
        }
        commuteMemo.set(key, v);
      }
      return v;
    };

    /** Record the step thread t just ran (its effects are done; the thread has not advanced yet). */
    const record = (t: Thread, s: Step): void => {
      const j = evs.length;
      const q = t.id;
      const fp = footprint(t, s);
      if (j >= nodes.length) {
        // A step the executor took without asking (RCU callbacks after every task finished).
        const pre = j === 0 ? 0 : nodes[j - 1]!.pre + preempts(j - 1, nodes[j - 1]!.chosen);
        nodes.push({ enabled: [q], fps: [fp], sleep: [], backtrack: [q], done: [q], chosen: q, pre });
      }
      let mine = threadEvs[q];
      if (!mine) threadEvs[q] = mine = [];
      const en = enablers[q];
      if (en && en.length > 0) {
        enabledBy.set(j, en);
        enablers[q] = [];
      }
      let open = openCs[q];
      if (!open) openCs[q] = open = [];
      const lockOp = s.access === 'acquire' || s.access === 'release';
      let cs = -1;
      if (lockOp) {
        const id = s.obj;
        // After the step: does t hold the lock, or wait for it in its queue?
        let holds = t.waitingOn !== null && t.waitingOn.id === id;
        for (let h = 0; !holds && h < t.held.length; h++) holds = t.held[h]!.lock.id === id;
        let at = -1;
        for (let x = 0; x < open.length; x++) {
          const c = sections[open[x]!]!;
          if (c.lock === id) at = x;
          else c.plain = false; // another lock taken or dropped inside it
        }
        if (at >= 0) {
          cs = open[at]!;
          if (s.access === 'acquire' && !s.blocked) sections[cs]!.plain = false; // recursive acquire (a woken waiter's step is the one with blocked())
          if (!holds) {
            sections[cs]!.closed = true;
            sections[cs]!.end = j;
            open.splice(at, 1);
          }
        } else if (holds) {
          cs = sections.length;
          sections.push({ tid: q, lock: id, start: j, end: -1, plain: true, closed: false, fps: [] });
          open.push(cs);
        }
        let per = lockEvs.get(id);
        if (!per) lockEvs.set(id, (per = []));
        (per[q] ??= []).push(j);
      } else if (open.length > 0 && (fp.obj !== '' || fp.global)) {
        for (const c of open) {
          const sec = sections[c]!;
          if (fp.global) sec.plain = false;
          else sec.fps.push(fp);
        }
      }
      let ev = evPool[j];
      if (ev) {
        ev.tid = q;
        ev.fp = fp;
        ev.local = mine.length + 1;
        ev.vc = NO_IDS;
        ev.lockOp = lockOp;
        ev.cs = cs;
      } else evPool[j] = ev = { tid: q, fp, local: mine.length + 1, vc: NO_IDS, lockOp, cs, vcBuf: [] };
      evs.push(ev);
      mine.push(j);
    };

    /**
     * After a run: happens-before (vector clocks) and races over its events, in order. Events of
     * earlier runs' prefix are analysed again: whether two critical sections commute depends on
     * steps that may lie beyond the prefix.
     */
    const analyze = (): void => {
      for (let j = 0; j < evs.length; j++) {
        const ej = evs[j]!;
        const q = ej.tid;
        const fp = ej.fp;
        const mine = threadEvs[q]!;
        // The clock of this thread's previous event (never changed once computed): read only.
        const clock = ej.local > 1 ? evs[mine[ej.local - 2]!]!.vc : NO_IDS;
        if (cands.length > 0) cands.length = 0;
        if (lastGlobal >= 0) cands.push(lastGlobal);
        const en = enabledBy.get(j);
        if (en) {
          for (const e of en) {
            // A hand-over between two commuting sections orders nothing (see sectionsCommute).
            if (ej.lockOp && evs[e]!.lockOp && evs[e]!.fp.obj === fp.obj && sectionsCommute(evs[e]!.cs, ej.cs)) continue;
            cands.push(e);
          }
        }
        let rec: ObjRec | undefined;
        if (fp.global) {
          for (let r = 0; r < threadEvs.length; r++) {
            const l = threadEvs[r];
            if (r !== q && l && l.length > 0) {
              // This thread's latest event before j.
              const x = lastBefore(l, j);
              if (x >= 0) cands.push(l[x]!);
            }
          }
        } else if (ej.lockOp) {
          // Per other thread: its latest operation on this lock that this one does not commute with.
          const per = lockEvs.get(fp.obj)!;
          for (let r = 0; r < per.length; r++) {
            const l = per[r];
            if (r === q || !l) continue;
            let x = l.length - 1;
            while (x >= 0 && l[x]! > j) x--;
            for (; x >= 0; x--) {
              const e = evs[l[x]!]!;
              if (!dependent(e.fp, fp) || sectionsCommute(e.cs, ej.cs)) continue;
              cands.push(l[x]!);
              break;
            }
          }
        } else if (fp.obj !== '') {
          rec = objs.get(fp.obj);
          if (!rec) objs.set(fp.obj, (rec = takeRec()));
          if (rec.lastWrite >= 0) cands.push(rec.lastWrite);
          if (fp.cls !== 'read') pushEvents(cands, rec.read);
          if (fp.cls !== 'reader') pushEvents(cands, rec.reader);
          if (fp.cls !== 'update') pushEvents(cands, rec.update);
          if (fp.parent !== '') {
            // The last write to the whole (a table allocated or freed) orders every access to its parts.
            const whole = objs.get(fp.parent);
            if (whole && whole.lastWrite >= 0) cands.push(whole.lastWrite);
            let ps = parts.get(fp.parent);
            if (!ps) parts.set(fp.parent, (ps = []));
            // (A part names the same whole at every access; the scan is for any other.)
            if (rec.listedIn === '') {
              rec.listedIn = fp.parent;
              ps.push(rec);
            } else if (rec.listedIn !== fp.parent && !ps.includes(rec)) ps.push(rec);
          } else if (fp.cls === 'write') {
            // A write to a whole conflicts with every access to its parts.
            const ps = parts.get(fp.obj);
            if (ps) {
              for (const pr of ps) {
                if (pr.lastWrite >= 0) cands.push(pr.lastWrite);
                pushEvents(cands, pr.read);
                pushEvents(cands, pr.reader);
                pushEvents(cands, pr.update);
              }
            }
          }
        }
        // This event's clock, in its reused array: a copy of the thread's previous clock, then joined.
        const vc = ej.vcBuf;
        if (vc.length !== clock.length) vc.length = clock.length;
        for (let x = 0; x < clock.length; x++) vc[x] = clock[x]!;
        for (const c of cands) {
          const cv = evs[c]!.vc;
          for (let x = 0; x < cv.length; x++) if ((cv[x] ?? 0) > (vc[x] ?? 0)) vc[x] = cv[x]!;
        }
        for (let x = 0; x < vc.length; x++) if (vc[x] === undefined) vc[x] = 0;
        vc[q] = ej.local;
        ej.vc = vc;
        if (fp.global) lastGlobal = j;
        else if (rec) {
          if (fp.cls === 'write') {
            rec.lastWrite = j;
            clearLatest(rec);
          } else setLatest(fp.cls === 'read' ? rec.read : fp.cls === 'reader' ? rec.reader : rec.update, q, j);
        }
        // Races: dependent earlier events of other threads not ordered before e_j otherwise
        // (candidates deduplicated in order of first appearance).
        if (uniq.length > 0) uniq.length = 0;
        for (const c of cands) if (!uniq.includes(c) && evs[c]!.tid !== q && !hb(evs, c, clock)) uniq.push(c);
        // (addBacktrack does not touch the scratch arrays.)
        for (const x of uniq) {
          let maximal = true;
          for (const y of uniq) if (y !== x && hb(evs, x, evs[y]!.vc)) maximal = false;
          if (maximal) addBacktrack(x, j);
        }
      }
    };

    /** Thread q's runnability changed with step j - 1 (run by thread p). */
    const flip = (q: number, p: number, j: number): void => {
      if (q === p) return;
      changed.push(q);
      let l = enablers[q];
      if (!l) enablers[q] = l = [];
      l.push(j - 1);
    };
    const sched: Scheduler = {
      pick(runnable: readonly Thread[], _k: Kernel, stepNo: number): Thread {
        const j = stepNo;
        const n = runnable.length;
        if (changed.length > 0) changed.length = 0;
        if (j > 0) {
          // Threads other than the one that ran whose runnability changed with its step.
          const prev = nodes[j - 1]!.enabled;
          const p = evs[j - 1]!.tid;
          for (const q of prev) {
            let still = false;
            for (let x = 0; x < n && !still; x++) still = runnable[x]!.id === q;
            if (!still) flip(q, p, j);
          }
          for (let x = 0; x < n; x++) {
            const id = runnable[x]!.id;
            if (!prev.includes(id)) flip(id, p, j);
          }
        }
        let node = j < nodes.length ? nodes[j] : undefined; // (an out-of-bounds read takes a slow path)
        if (node) {
          const en = node.enabled;
          let same = en.length === n;
          for (let i = 0; same && i < n; i++) same = en[i] === runnable[i]!.id;
          if (!same) {
            const ids = runnable.map((t) => t.id);
            throw new Error(`dpor: the run diverged from its prefix at step ${j} (runnable ${ids.join(',')} vs ${en.join(',')}); the workload is not deterministic`);
          }
        } else {
          const ids: number[] = new Array<number>(n);
          const fps: Footprint[] = new Array<Footprint>(n);
          for (let i = 0; i < n; i++) {
            const t = runnable[i]!;
            ids[i] = t.id;
            fps[i] = footprint(t, t.pending!);
          }
          let sleep = NO_IDS;
          if (j > 0) {
            const prev = nodes[j - 1]!;
            const ran = prev.fps[prev.enabled.indexOf(prev.chosen)]!;
            const consider = (r: number): void => {
              if (r === prev.chosen || !ids.includes(r) || changed.includes(r) || sleep.includes(r)) return;
              if (!dependent(prev.fps[prev.enabled.indexOf(r)]!, ran)) {
                if (sleep === NO_IDS) sleep = [];
                sleep.push(r);
              }
            };
            for (const r of prev.sleep) consider(r);
            for (const r of prev.done) consider(r);
          }
          // Extend without preempting: the thread that ran last goes on if it can, else the lowest id.
          const last = j > 0 ? nodes[j - 1]!.chosen : -1;
          const choice = ids.includes(last) && !sleep.includes(last) ? last : ids.find((x) => !sleep.includes(x));
          if (choice === undefined) throw SLEEP_BLOCKED;
          const pre = j === 0 ? 0 : nodes[j - 1]!.pre + preempts(j - 1, nodes[j - 1]!.chosen);
          node = { enabled: ids, fps, sleep, backtrack: [choice], done: [choice], chosen: choice, pre };
          nodes.push(node);
        }
        const chosen = node.chosen;
        let t: Thread | undefined;
        for (let x = 0; x < n && !t; x++) if (runnable[x]!.id === chosen) t = runnable[x];
        if (!t) throw new Error(`dpor: thread ${chosen} is not runnable at step ${j}`);
        return t;
      },
    };

    schedules++;
    let exec: ExecResult | null = null;
    try {
      exec = target.run(sched, (k) => {
        box.k = k;
        rcuObj = k.rcu.obj;
        k.stepListeners = true;
        k.bus.on('step', record);
      });
    } catch (e) {
      if (e !== SLEEP_BLOCKED) throw e;
      sleepBlocked++;
    }
    analyze();
    // Later positions belong to this run only.
    nodes.length = Math.min(nodes.length, evs.length);
    opts.onProgress?.(schedules);
    if (exec) {
      complete++;
      if (opts.onRun?.(exec, box.k!)) {
        stopped = true;
        break;
      }
    }
    // Deepest point with a thread left to try: the lowest id in backtrack \ done \ sleep.
    let next = -1;
    for (let j = nodes.length - 1; j >= 0 && next < 0; j--) {
      const n = nodes[j]!;
      if (n.backtrack.length === n.done.length) continue; // done is a subset of backtrack
      let best = -1;
      for (const b of n.backtrack) if ((best < 0 || b < best) && !n.done.includes(b) && !n.sleep.includes(b)) best = b;
      if (best >= 0) {
        nodes.length = j + 1;
        n.chosen = best;
        n.done.push(best);
        next = j;
      }
    }
    if (next < 0) {
      exhaustive = true;
      break;
    }
  }
  return { schedules, complete, sleepBlocked, exhaustive: exhaustive && !pruned, timedOut, stopped, pruned };
}

/**
 * Count the plain interleavings (distinct schedules, no reduction) by a DFS over the runnable
 * choices, one run per schedule, up to `budgetSteps` executed steps. Exact when the DFS finished.
 */
export function countInterleavings(target: DporTarget, budgetSteps = 400_000): { count: number; exact: boolean } {
  const stack: Array<{ n: number; i: number }> = [];
  let count = 0;
  let steps = 0;
  for (;;) {
    let pos = 0;
    const sched: Scheduler = {
      pick(runnable) {
        const p = pos++;
        if (p < stack.length) return runnable[stack[p]!.i]!;
        stack.push({ n: runnable.length, i: 0 });
        return runnable[0]!;
      },
    };
    const exec = target.run(sched, () => {});
    count++;
    steps += exec.steps;
    stack.length = Math.min(stack.length, pos);
    while (stack.length > 0 && stack[stack.length - 1]!.i + 1 >= stack[stack.length - 1]!.n) stack.pop();
    if (stack.length === 0) return { count, exact: true };
    stack[stack.length - 1]!.i++;
    if (steps >= budgetSteps) return { count, exact: false };
  }
}

/** Format a count from countInterleavings for ExploreResult.interleavings. */
export function formatCount(c: { count: number; exact: boolean }): string {
  return c.exact ? String(c.count) : `>= ${c.count}`;
}

/**
 * Preemption bounds of the rounds runDpor makes: bounded rounds find shallow bugs quickly; the
 * last round is the full search (the only one that can prove a workload clean, unless a bounded
 * round never had to leave a choice out).
 */
export const PREEMPTION_ROUNDS: readonly number[] = [0, 1, 2, Number.POSITIVE_INFINITY];

/**
 * Step budget of the plain-interleaving count (a fraction of a second): small workloads are
 * counted exactly; for the others runDpor reports the multinomial estimate (engine/interleavings.ts).
 */
export const INTERLEAVING_BUDGET_STEPS = 100_000;

/** explore(spec, strategy, {explorer: 'dpor'}): exhaustive search up to opts.schedules runs. */
export function runDpor(spec: WorkloadSpec, strategy: SyncStrategy, opts: ExploreOptions = {}): ExploreResult {
  const seed = opts.seed ?? 1;
  const t0 = Date.now();
  const graph = new LockGraph();
  const template = new MachineTemplate(spec, strategy, seed);
  const target: DporTarget = {
    // With `all`, runs go on past a violation: a run cut short would hide what lies behind it
    // (e.g. a table freed after the stale-owner access), and the search would not be exhaustive.
    run: (sched, attach) => runOnce(spec, strategy, sched, { seed, maxSteps: opts.maxSteps, graph, stopOnViolation: !opts.all, onBuilt: (b) => attach(b.kernel), template }).exec,
  };
  const found = new Map<ViolationKind, Finding>();
  const budget = opts.schedules ?? 100_000;
  let schedules = 0;
  let exhaustive = false;
  let timedOut = false;
  let firstViolationMs: number | undefined;
  /** Largest log10 multinomial of a run's per-thread step counts (the plain-interleaving estimate). */
  let log10Plain = 0;
  // Preemption-bounded rounds first (small counterexamples, found early), then the full search.
  for (const bound of PREEMPTION_ROUNDS) {
    const left = budget - schedules;
    const timeLeft = opts.timeLimitMs === undefined ? undefined : Math.max(0, opts.timeLimitMs - (Date.now() - t0));
    if (left <= 0 || timeLeft === 0) {
      timedOut = timeLeft === 0;
      break;
    }
    const res = dporSearch(target, {
      maxSchedules: left,
      timeLimitMs: timeLeft,
      preemptionBound: bound,
      reduceLocks: opts.reduceLocks,
      onProgress: opts.onProgress ? (n) => opts.onProgress!(schedules + n) : undefined,
      onRun: (exec) => {
        log10Plain = Math.max(log10Plain, log10Multinomial(stepsPerThread(exec.schedule)));
        if (firstViolationMs === undefined && exec.violations.length > 0) firstViolationMs = Date.now() - t0;
        for (const v of exec.violations) {
          if (found.has(v.kind)) continue;
          found.set(v.kind, findingFrom(spec, strategy, 'dpor', seed, v, exec.schedule, opts.maxSteps, opts.minimize !== false));
        }
        return found.size > 0 && !opts.all;
      },
    });
    schedules += res.schedules;
    timedOut = res.timedOut;
    if (res.exhaustive) exhaustive = true;
    if (res.stopped || res.timedOut || res.exhaustive) break;
  }
  // The plain count runs each schedule with its own lock graph (no history between runs).
  const plain: DporTarget = { run: (sched) => runOnce(spec, strategy, sched, { seed, maxSteps: opts.maxSteps, template }).exec };
  const counted = countInterleavings(plain, INTERLEAVING_BUDGET_STEPS);
  // Counted one by one when that finished; else the multinomial estimate (when it says more).
  const interleavings = counted.exact || log10Plain <= Math.log10(counted.count) ? formatCount(counted) : formatLog10(log10Plain);
  return {
    strategy: strategy.name,
    workload: spec.name,
    explorer: 'dpor',
    schedules,
    exhaustive,
    elapsedMs: Date.now() - t0,
    violations: [...found.values()],
    interleavings,
    ...(timedOut ? { timedOut: true } : {}),
    ...(firstViolationMs !== undefined ? { firstViolationMs } : {}),
  };
}

setDpor(runDpor);
