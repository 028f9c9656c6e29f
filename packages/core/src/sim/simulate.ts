/**
 * The timed multi-CPU simulator: runs a workload's threads (the same kernel-path generators the
 * explorers use) on N simulated CPUs in virtual nanoseconds, charging each step the cost model's
 * figure for its cost class, and measures what the seed 002 instrumentation measured.
 *
 * Rules (docs/cost-model.md explains them and the figures):
 * - thread i runs on CPU i mod N (one run queue per CPU, FIFO, a time slice between runnable
 *   tasks of one CPU; a task holding a spinlock is not preempted);
 * - the CPU with the smallest clock runs next (ties: lowest CPU number), so step start times are
 *   non-decreasing; a step's effect happens at its start time, then the CPU is busy for its cost;
 * - atomics on one object (cost lock / unlock / atomic) are serialised through that object's cache
 *   line: an atomic waits until the line is free and pays a transfer when another CPU used it last;
 * - a waiter on a sleeping lock (rwsem, mutex, page lock, synchronize_rcu) leaves its CPU (context
 *   switch) and runs again wakeupLatency after it was granted; a spinning waiter keeps its CPU
 *   busy until the lock is handed over;
 * - a TLB flush costs tlbFlush plus tlbIpiPerCpu for every other CPU running a thread of the same process.
 * Nothing here looks at the strategy.
 */
import type { Kernel } from '../engine/kernel.js';
import type { Thread, HoldMode } from '../engine/thread.js';
import type { Violation } from '../engine/events.js';
import type { Lock } from '../kernel/locks.js';
import type { Mm } from '../model/mm.js';
import type { SyncStrategy } from '../strategy.js';
import type { WorkloadSpec } from '../workload/types.js';
import { buildKernel } from '../workload/build.js';
import { waitForCycle } from '../check/deadlock.js';
import { resolveCosts, type CostModel } from './costs.js';

export interface SimOptions {
  cpus: number;
  /** Simulated seconds to run (repeating workloads); a finite workload may end earlier. */
  durationSec: number;
  /** Seeds address placement (placement: random). */
  seed?: number;
  costs?: Partial<CostModel>;
  /** Length of the per-interval buckets, simulated seconds (default 1). */
  intervalSec?: number;
  /** Called every 65536 steps and at the end. */
  onProgress?: (simulatedNs: number, totalNs: number) => void;
  /** Stop early when the run has taken this much wall time (the result says so in stoppedBy). */
  maxWallMs?: number;
  /** Called once the kernel is built and its virtual clock installed (attach tracers here). */
  onBuilt?: (k: Kernel) => void;
}

export interface SimLockStat {
  /** Lock class, as /proc/lock_stat names it. */
  name: string;
  acquisitions: number;
  /** Acquisitions that had to wait. */
  contended: number;
  waitTimeMs: number;
  maxWaitUs: number;
}

export interface SimInterval {
  /** Interval start, simulated seconds. */
  t: number;
  faults: number;
  waits: number;
  waitTimeMs: number;
}

export interface SimResult {
  strategy: string;
  workload: string;
  cpus: number;
  simulatedSeconds: number;
  /** Wall time of the whole call, setup included (outside the model; with setupWallMs the only figures that differ between identical runs). */
  wallMs: number;
  /** Wall time of building the kernel and running the untimed setup. */
  setupWallMs: number;
  faultsPerSec: number;
  faults: number;
  /** Wait_debug: contended acquisitions of sleeping locks inside a fault. */
  waits: number;
  /** Wait_debug: total time of those waits. */
  waitTimeMs: number;
  /** Wait_debug: the longest single such wait. */
  maxFaultWaitUs: number;
  faultLatencyUs: { p50: number; p99: number; max: number };
  locks: SimLockStat[];
  /** Completed workload ops by op name. */
  ops: Record<string, number>;
  intervals: SimInterval[];
  steps: number;
  violations: Violation[];
  /** Why the run stopped: the duration ran out, every thread finished, deadlock, or maxWallMs. */
  stoppedBy: 'duration' | 'completed' | 'deadlock' | 'wall-limit';
}

interface LockStatAcc {
  name: string;
  acquisitions: number;
  contended: number;
  waitNs: number;
  maxWaitNs: number;
}

interface Line {
  freeAt: number;
  lastCpu: number;
}

/** Thread states. */
const READY = 0;
const RUNNING = 1;
const SLEEPING = 2;
const DONE = 3;

/** Growable Float64Array of samples. */
class Samples {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Nearest-rank percentiles (p in (0, 1]) and the maximum. */
  summary(): { p50: number; p99: number; max: number } {
    if (this.n === 0) return { p50: 0, p99: 0, max: 0 };
    const s = this.a.slice(0, this.n).sort();
    const rank = (p: number) => s[Math.min(this.n - 1, Math.max(0, Math.ceil(p * this.n) - 1))]!;
    return { p50: rank(0.5), p99: rank(0.99), max: s[this.n - 1]! };
  }
}

const round = (v: number, digits = 3): number => {
  const m = 10 ** digits;
  return Math.round(v * m) / m;
};

/** Run spec under strategy on opts.cpus simulated CPUs for opts.durationSec simulated seconds. */
export function simulate(spec: WorkloadSpec, strategy: SyncStrategy, opts: SimOptions): SimResult {
  const ncpu = opts.cpus;
  if (!Number.isInteger(ncpu) || ncpu < 1 || ncpu > 4096) throw new Error(`cpus must be an integer in 1..4096, got ${ncpu}`);
  if (!(opts.durationSec > 0) || !Number.isFinite(opts.durationSec)) throw new Error(`durationSec must be a positive number of seconds, got ${opts.durationSec}`);
  const intervalSec = opts.intervalSec ?? 1;
  if (!(intervalSec > 0) || !Number.isFinite(intervalSec)) throw new Error(`intervalSec must be a positive number of seconds, got ${intervalSec}`);
  const costs = resolveCosts(opts.costs);
  const wallStart = Date.now();

  const { kernel: k } = buildKernel(spec, strategy, { seed: opts.seed ?? 1 });
  const setupWallMs = Date.now() - wallStart;
  const deadlineNs = opts.durationSec * 1e9;
  const intervalNs = intervalSec * 1e9;

  // ---- virtual time ----
  let now = 0;
  k.clock = () => now;
  opts.onBuilt?.(k);

  // ---- CPUs ----
  const clock = new Float64Array(ncpu);
  /** Scheduling key: the clock, or +Infinity for an idle or spinning CPU. */
  const key = new Float64Array(ncpu).fill(Infinity);
  const cur = new Int32Array(ncpu).fill(-1);
  const sliceEnd = new Float64Array(ncpu);
  const queues: number[][] = Array.from({ length: ncpu }, () => []);
  // An indexed binary min-heap of CPUs by (key, cpu number): the next CPU to run is heap[0].
  const heap = new Int32Array(ncpu);
  const pos = new Int32Array(ncpu);
  for (let i = 0; i < ncpu; i++) heap[i] = pos[i] = i;
  const before = (a: number, b: number): boolean => key[a]! < key[b]! || (key[a] === key[b] && a < b);
  function setKey(c: number, v: number): void {
    const old = key[c]!;
    key[c] = v;
    let i = pos[c]!;
    if (v < old) {
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const p = heap[parent]!;
        if (!before(c, p)) break;
        heap[i] = p;
        pos[p] = i;
        i = parent;
      }
    } else {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= ncpu) break;
        const r = l + 1;
        let m = heap[l]!;
        let mi = l;
        if (r < ncpu && before(heap[r]!, m)) {
          m = heap[r]!;
          mi = r;
        }
        if (!before(m, c)) break;
        heap[i] = m;
        pos[m] = i;
        i = mi;
      }
    }
    heap[i] = c;
    pos[c] = i;
  }

  // ---- per-thread state (indexed by thread id == index in k.threads) ----
  let cap = 0;
  let cpuOf = new Int32Array(0);
  let state = new Uint8Array(0);
  let spinning = new Uint8Array(0);
  let readyAt = new Float64Array(0);
  let ipiTargets = new Int32Array(0);
  let faultStart = new Float64Array(0);
  let inFault = new Uint8Array(0);
  let waitPending = new Uint8Array(0);
  let waitInFault = new Uint8Array(0);
  let waitSince = new Float64Array(0);
  let waitSleeping = new Uint8Array(0);
  let waitStat: Array<LockStatAcc | null> = [];
  const threads = k.threads;
  let known = 0;
  let live = 0;
  const poll: number[] = [];

  function grow(n: number): void {
    if (n <= cap) return;
    const c2 = Math.max(n, cap * 2, 16);
    const g8 = (a: Uint8Array) => {
      const b = new Uint8Array(c2);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(c2);
      b.set(a);
      return b;
    };
    const g64 = (a: Float64Array) => {
      const b = new Float64Array(c2);
      b.set(a);
      return b;
    };
    cpuOf = g32(cpuOf);
    state = g8(state);
    spinning = g8(spinning);
    readyAt = g64(readyAt);
    ipiTargets = g32(ipiTargets);
    faultStart = g64(faultStart);
    inFault = g8(inFault);
    waitPending = g8(waitPending);
    waitInFault = g8(waitInFault);
    waitSince = g64(waitSince);
    waitSleeping = g8(waitSleeping);
    while (waitStat.length < c2) waitStat.push(null);
    cap = c2;
  }

  /** Give the CPU to the next task of its run queue, or idle it. */
  function switchNext(c: number): void {
    const q = queues[c]!;
    if (q.length === 0) {
      cur[c] = -1;
      setKey(c, Infinity);
      return;
    }
    const tid = q.shift()!;
    cur[c] = tid;
    state[tid] = RUNNING;
    if (readyAt[tid]! > clock[c]!) clock[c] = readyAt[tid]!;
    setKey(c, clock[c]!);
    sliceEnd[c] = clock[c]! + costs.timeslice;
  }

  /** Make tid runnable at time `at` on its CPU. */
  function makeReady(tid: number, at: number): void {
    const c = cpuOf[tid]!;
    state[tid] = READY;
    readyAt[tid] = at;
    queues[c]!.push(tid);
    if (cur[c] === -1) switchNext(c);
  }

  /** The wait of tid ended at `at` (lock handed over, condition true). */
  function wake(tid: number, at: number): void {
    if (spinning[tid]) {
      spinning[tid] = 0;
      const c = cpuOf[tid]!;
      if (at > clock[c]!) clock[c] = at;
      setKey(c, clock[c]!);
    } else if (state[tid] === SLEEPING) {
      makeReady(tid, at + costs.wakeupLatency);
    }
  }

  /** After tid ran a step (or was adopted): is it blocked? Returns true when it left or stalls its CPU. */
  function classifyBlocked(tid: number, t: Thread, onCpu: boolean): boolean {
    const p = t.pending!;
    if (p.blocked === undefined || !p.blocked()) return false;
    if (t.waitingOn === null) poll.push(tid);
    if (p.sleeping) {
      state[tid] = SLEEPING;
      if (onCpu) {
        const c = cpuOf[tid]!;
        clock[c] = clock[c]! + costs.contextSwitch;
        switchNext(c);
      }
    } else {
      // A spinner keeps its CPU: the CPU is taken out of scheduling until the handover.
      spinning[tid] = 1;
      const c = cpuOf[tid]!;
      if (!onCpu) {
        // Adopted already spinning (not expected): make it the CPU's task if the CPU is free.
        if (cur[c] === -1) {
          cur[c] = tid;
          state[tid] = RUNNING;
        } else queues[c]!.push(tid);
      }
      if (cur[c] === tid) setKey(c, Infinity);
    }
    return true;
  }

  function computeIpiTargets(): void {
    const cpusOfProc = new Map<string, Set<number>>();
    for (let i = 0; i < known; i++) {
      const t = threads[i]!;
      if (!t.proc) continue;
      let s = cpusOfProc.get(t.proc);
      if (!s) cpusOfProc.set(t.proc, (s = new Set()));
      s.add(cpuOf[i]!);
    }
    for (let i = 0; i < known; i++) {
      const t = threads[i]!;
      const s = t.proc ? cpusOfProc.get(t.proc) : undefined;
      ipiTargets[i] = s ? s.size - 1 : 0;
    }
  }

  /** Take on threads created since the last look (workload threads, forked children, the RCU callback thread). */
  function adopt(at: number): void {
    const from = known;
    grow(threads.length);
    for (let i = from; i < threads.length; i++) {
      const t = threads[i]!;
      if (t.id !== i) throw new Error(`simulate: thread ${t.name} has id ${t.id} at index ${i}`);
      cpuOf[i] = i % ncpu;
      known = i + 1;
      if (t.done) {
        state[i] = DONE;
        continue;
      }
      if (!t.daemon) live++;
      if (!classifyBlocked(i, t, false)) makeReady(i, at);
    }
    computeIpiTargets();
  }

  // ---- metrics ----
  let faults = 0;
  let waits = 0;
  let waitNs = 0;
  let maxFaultWaitNs = 0;
  const latency = new Samples();
  const lockStats = new Map<string, LockStatAcc>();
  const ops = new Map<string, number>();
  const ivFaults: number[] = [];
  const ivWaits: number[] = [];
  const ivWaitNs: number[] = [];
  const bucket = (t: number): number => {
    const b = Math.floor(t / intervalNs);
    while (ivFaults.length <= b) {
      ivFaults.push(0);
      ivWaits.push(0);
      ivWaitNs.push(0);
    }
    return b;
  };
  const statOf = (l: Lock): LockStatAcc => {
    let s = lockStats.get(l.cls);
    if (!s) lockStats.set(l.cls, (s = { name: l.cls, acquisitions: 0, contended: 0, waitNs: 0, maxWaitNs: 0 }));
    return s;
  };

  k.bus.on('fault:begin', (t: Thread) => {
    faultStart[t.id] = now;
    inFault[t.id] = 1;
  });
  k.bus.on('fault:end', (t: Thread, _mm: Mm) => {
    faults++;
    ivFaults[bucket(now)]!++;
    latency.push(now - faultStart[t.id]!);
    inFault[t.id] = 0;
  });
  k.bus.on('lock:contended', (t: Thread, l: Lock) => {
    const s = statOf(l);
    s.contended++;
    const tid = t.id;
    waitPending[tid] = 1;
    waitSince[tid] = now;
    waitInFault[tid] = inFault[tid]!;
    waitSleeping[tid] = l.sleeping ? 1 : 0;
    waitStat[tid] = s;
  });
  k.bus.on('lock:acquired', (t: Thread, l: Lock, _mode: HoldMode) => {
    statOf(l).acquisitions++;
    const tid = t.id;
    if (tid < known && (spinning[tid] || state[tid] === SLEEPING)) wake(tid, now);
  });
  k.bus.on('op:end', (_t: Thread, op: string) => {
    ops.set(op, (ops.get(op) ?? 0) + 1);
  });

  /** The waiter resumes at `at`: its wait, as the waiting task measures it (lock_contended -> lock_acquired). */
  function endWait(tid: number, at: number): void {
    waitPending[tid] = 0;
    const w = at - waitSince[tid]!;
    const s = waitStat[tid]!;
    s.waitNs += w;
    if (w > s.maxWaitNs) s.maxWaitNs = w;
    if (waitSleeping[tid] && waitInFault[tid]) {
      waits++;
      waitNs += w;
      if (w > maxFaultWaitNs) maxFaultWaitNs = w;
      const b = bucket(at);
      ivWaits[b]!++;
      ivWaitNs[b]! += w;
    }
  }

  // ---- run ----
  adopt(0);
  // Cost per class in a Map (step objects come in many shapes; a keyed load on the cost object is megamorphic).
  const costOf = new Map<string, number>(Object.entries(costs));
  // The classes of the MMU walk's two steps (two thirds of a full-scale run's steps) and plain
  // steps, without the Map lookup.
  const walkCost = costs.ptWalk;
  const accessCost = costs.userAccess;
  const stepCost = costs.step;
  const transfer = costs.cacheLineTransfer;
  const ipiCost = costs.tlbIpiPerCpu;
  const ctxSwitch = costs.contextSwitch;
  const lines = new Map<string, Line>();
  let steps = 0;
  let lastEnd = 0;
  let stoppedBy: SimResult['stoppedBy'] = 'duration';
  let simulatedNs = deadlineNs;
  const maxWall = opts.maxWallMs ?? Infinity;

  for (;;) {
    const c = heap[0]!;
    const best = key[c]!;
    if (best === Infinity) {
      if (live === 0) {
        stoppedBy = 'completed';
        simulatedNs = lastEnd;
      } else {
        now = lastEnd;
        const cyc = waitForCycle(k);
        k.report({ kind: 'deadlock', message: cyc.message, report: cyc.report });
        stoppedBy = 'deadlock';
        simulatedNs = lastEnd;
      }
      break;
    }
    if (best >= deadlineNs) break;
    const tid = cur[c]!;
    const t = threads[tid]!;
    const s = t.pending!;
    const ck = s.cost ?? 'step';
    const units = s.units;
    const perUnit = ck === 'userAccess' ? accessCost : ck === 'ptWalk' ? walkCost : ck === 'step' ? stepCost : costOf.get(ck)!;
    let cost = units === undefined ? perUnit : perUnit * units;
    const start = best;
    if ((ck === 'lock' || ck === 'unlock' || ck === 'atomic') && s.obj !== '') {
      const lineId = s.line ?? s.obj;
      let line = lines.get(lineId);
      if (line === undefined) {
        line = { freeAt: 0, lastCpu: -1 };
        lines.set(lineId, line);
      }
      if (line.freeAt > start) {
        // The line is busy: this CPU stalls until it is free, then competes again.
        clock[c] = line.freeAt;
        setKey(c, line.freeAt);
        continue;
      }
      if (line.lastCpu !== c && line.lastCpu >= 0) cost += transfer;
      line.freeAt = start + cost;
      line.lastCpu = c;
    } else if (ck === 'tlbFlush') cost += ipiCost * ipiTargets[tid]!;
    if (waitPending[tid]) endWait(tid, start);
    now = start;
    k.stepThread(t);
    steps++;
    const end = start + cost;
    clock[c] = end;
    setKey(c, end);
    if (end > lastEnd) lastEnd = end;
    if (threads.length > known) adopt(start);
    if (t.done) {
      state[tid] = DONE;
      if (!t.daemon) live--;
      switchNext(c);
    } else if (!classifyBlocked(tid, t, true)) {
      if (end >= sliceEnd[c]! && t.atomic === 0) {
        const q = queues[c]!;
        if (q.length > 0 && readyAt[q[0]!]! <= end) {
          // Time slice used up and another task is runnable here: preempt (never with a spinlock held).
          state[tid] = READY;
          readyAt[tid] = end;
          q.push(tid);
          clock[c] = end + ctxSwitch;
          switchNext(c);
        } else sliceEnd[c] = end + costs.timeslice;
      }
    }
    if (poll.length > 0) {
      for (let i = 0; i < poll.length; ) {
        const w = poll[i]!;
        const wt = threads[w]!;
        const p = wt.pending;
        if (wt.done || !p || !p.blocked || !p.blocked()) {
          poll.splice(i, 1);
          if (!wt.done) wake(w, start);
        } else i++;
      }
    }
    if ((steps & 0xffff) === 0) {
      opts.onProgress?.(start, deadlineNs);
      if (maxWall !== Infinity && Date.now() - wallStart > maxWall) {
        stoppedBy = 'wall-limit';
        simulatedNs = start;
        break;
      }
    }
  }
  opts.onProgress?.(simulatedNs, deadlineNs);

  const simulatedSeconds = simulatedNs / 1e9;
  const lat = latency.summary();
  const nIntervals = Math.max(1, Math.ceil(simulatedNs / intervalNs));
  const intervals: SimInterval[] = [];
  for (let i = 0; i < nIntervals; i++) {
    intervals.push({ t: round(i * intervalSec, 9), faults: ivFaults[i] ?? 0, waits: ivWaits[i] ?? 0, waitTimeMs: round((ivWaitNs[i] ?? 0) / 1e6, 6) });
  }
  const locks: SimLockStat[] = [...lockStats.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((l) => ({ name: l.name, acquisitions: l.acquisitions, contended: l.contended, waitTimeMs: round(l.waitNs / 1e6, 6), maxWaitUs: round(l.maxWaitNs / 1e3) }));
  const opsOut: Record<string, number> = {};
  for (const [name, n] of [...ops.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) opsOut[name] = n;
  return {
    strategy: strategy.name,
    workload: spec.name,
    cpus: ncpu,
    simulatedSeconds: round(simulatedSeconds, 9),
    wallMs: Date.now() - wallStart,
    setupWallMs,
    faultsPerSec: simulatedSeconds > 0 ? round(faults / simulatedSeconds, 3) : 0,
    faults,
    waits,
    waitTimeMs: round(waitNs / 1e6, 6),
    maxFaultWaitUs: round(maxFaultWaitNs / 1e3),
    faultLatencyUs: { p50: round(lat.p50 / 1e3), p99: round(lat.p99 / 1e3), max: round(lat.max / 1e3) },
    locks,
    ops: opsOut,
    intervals,
    steps,
    violations: k.violations.slice(),
    stoppedBy,
  };
}
