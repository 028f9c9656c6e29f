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
 * 'none' steps commute with everything else.
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
}

const RCU_OBJ = 'rcu:state';

/** The footprint of a pending step of a thread. */
export function footprintOf(s: Step, daemon = false, rcuObj = RCU_OBJ): Footprint {
  // A daemon step that names its object (an RCU callback freeing a table) is an ordinary write;
  // otherwise its effects are unknown and it conflicts with everything.
  if (daemon) return { obj: s.obj, cls: 'write', global: s.obj === rcuObj || s.obj === '' };
  if (s.cost === 'rcu' && (s.access === 'none' || s.access === 'read')) return { obj: rcuObj, cls: 'reader', global: false };
  if (s.access === 'none' || s.obj === '') return { obj: '', cls: 'read', global: false };
  if (s.commutes) return { obj: s.obj, cls: 'update', global: false };
  return { obj: s.obj, cls: s.access === 'read' ? 'read' : 'write', global: false };
}

/** Do two footprints conflict (must their order be explored both ways)? */
export function dependent(a: Footprint, b: Footprint): boolean {
  if (a.global || b.global) return true;
  if (a.obj === '' || b.obj === '' || a.obj !== b.obj) return false;
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
  /** Vector clock: per thread, the local index of its last event that happens before this one. */
  vc: number[];
}

interface ObjRec {
  lastWrite: number;
  /** Latest event per thread of each commuting class since the last write. */
  read: Map<number, number>;
  reader: Map<number, number>;
  update: Map<number, number>;
}

const SLEEP_BLOCKED = Symbol('dpor: sleep-set blocked');
const NO_IDS: number[] = [];

const hb = (evs: Ev[], x: number, clock: number[]): boolean => (clock[evs[x]!.tid] ?? 0) >= evs[x]!.local;

/** Add id to a small set kept as an array. */
function addId(set: number[], id: number): void {
  if (!set.includes(id)) set.push(id);
}

/** Source-set DPOR with sleep sets over `target`. */
export function dporSearch(target: DporTarget, opts: DporSearchOptions = {}): DporSearchResult {
  const maxSchedules = opts.maxSchedules ?? 100_000;
  const bound = opts.preemptionBound ?? Number.POSITIVE_INFINITY;
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
  let fresh = 0; // first position whose choice is new in this run
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
      const fp = footprintOf(s, t.daemon, rcuObj);
      fpStep[t.id] = s;
      fpVal[t.id] = fp;
      return fp;
    };

    const addBacktrack = (i: number, j: number): void => {
      const ei = evs[i]!;
      const q = evs[j]!.tid;
      const node = nodes[i]!;
      // Initials of v = notdep(e_i, E).e_j: first event of each thread in v with no predecessor in v.
      const firsts: Array<{ r: number; f: number }> = [];
      for (let r = 0; r < threadEvs.length; r++) {
        const list = threadEvs[r];
        if (!list || list.length === 0 || r === ei.tid) continue;
        let lo = 0;
        let hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid]! > i) hi = mid;
          else lo = mid + 1;
        }
        if (lo >= list.length) continue;
        const f = list[lo]!;
        if (f > j || (f === j && r !== q)) continue;
        if (f !== j && hb(evs, i, evs[f]!.vc)) continue; // after e_i: not in v
        firsts.push({ r, f });
      }
      const initials: number[] = [];
      for (const x of firsts) {
        let initial = true;
        for (const y of firsts) if (y.f < x.f && hb(evs, y.f, evs[x.f]!.vc)) initial = false;
        if (initial) initials.push(x.r);
      }
      for (const r of initials) if (node.backtrack.includes(r) || node.sleep.includes(r)) return;
      const runnable = initials.filter((r) => node.enabled.includes(r)).sort((a, b) => a - b);
      if (runnable.length > 0) {
        const r = runnable[0]!;
        if (allowed(i, r)) addId(node.backtrack, r);
        return;
      }
      // Not reversible: the second step was not runnable until the first one ran.
      if (initials.length === 1 && initials[0] === q && (enablerOf(i, j) || !node.enabled.includes(q))) return;
      // Anything else: be conservative and try every thread there.
      for (const r of node.enabled) if (!node.sleep.includes(r) && allowed(i, r)) addId(node.backtrack, r);
    };
    // Did event i change the runnability of the thread of event j (recorded as an enabling edge)?
    const enabledBy = new Map<number, number[]>();
    const enablerOf = (i: number, j: number): boolean => enabledBy.get(j)?.includes(i) ?? false;

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
      // The clock of this thread's previous event (never changed once recorded): read only.
      const clock = mine.length > 0 ? evs[mine[mine.length - 1]!]!.vc : NO_IDS;
      if (cands.length > 0) cands.length = 0;
      if (lastGlobal >= 0) cands.push(lastGlobal);
      const en = enablers[q];
      if (en && en.length > 0) {
        for (const e of en) cands.push(e);
        enabledBy.set(j, en);
        enablers[q] = [];
      }
      let rec: ObjRec | undefined;
      if (fp.global) {
        for (let r = 0; r < threadEvs.length; r++) {
          const l = threadEvs[r];
          if (r !== q && l && l.length > 0) cands.push(l[l.length - 1]!);
        }
      } else if (fp.obj !== '') {
        rec = objs.get(fp.obj);
        if (!rec) objs.set(fp.obj, (rec = { lastWrite: -1, read: new Map(), reader: new Map(), update: new Map() }));
        if (rec.lastWrite >= 0) cands.push(rec.lastWrite);
        if (fp.cls !== 'read') for (const x of rec.read.values()) cands.push(x);
        if (fp.cls !== 'reader') for (const x of rec.reader.values()) cands.push(x);
        if (fp.cls !== 'update') for (const x of rec.update.values()) cands.push(x);
      }
      const vc = clock.slice();
      for (const c of cands) {
        const cv = evs[c]!.vc;
        for (let x = 0; x < cv.length; x++) if ((cv[x] ?? 0) > (vc[x] ?? 0)) vc[x] = cv[x]!;
      }
      for (let x = 0; x < vc.length; x++) if (vc[x] === undefined) vc[x] = 0;
      const local = mine.length + 1;
      vc[q] = local;
      evs.push({ tid: q, fp, local, vc });
      mine.push(j);
      if (fp.global) lastGlobal = j;
      else if (rec) {
        if (fp.cls === 'write') {
          rec.lastWrite = j;
          // (Map.clear() allocates a new table even when empty.)
          if (rec.read.size > 0) rec.read.clear();
          if (rec.reader.size > 0) rec.reader.clear();
          if (rec.update.size > 0) rec.update.clear();
        } else (fp.cls === 'read' ? rec.read : fp.cls === 'reader' ? rec.reader : rec.update).set(q, j);
      }
      if (j < fresh) return;
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
          const flip = (q: number): void => {
            if (q === p) return;
            changed.push(q);
            let l = enablers[q];
            if (!l) enablers[q] = l = [];
            l.push(j - 1);
          };
          for (const q of prev) if (!runnable.some((t) => t.id === q)) flip(q);
          for (const t of runnable) if (!prev.includes(t.id)) flip(t.id);
        }
        let node = nodes[j];
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
        const t = runnable.find((x) => x.id === chosen);
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
    fresh = next;
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
