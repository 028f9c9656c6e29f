/**
 * The executor: runs the kernel's threads one step at a time under a scheduler and records the
 * schedule (the sequence of thread ids), which is all a replay needs.
 */
import type { Kernel } from './kernel.js';
import type { Thread } from './thread.js';
import type { Violation } from './events.js';
import { Rng } from './random.js';
import { waitForCycle } from '../check/deadlock.js';

export interface Scheduler {
  /** Choose the next thread among the runnable ones (never empty). Deterministic given its state. */
  pick(runnable: readonly Thread[], k: Kernel, stepNo: number): Thread;
}

export interface ExecOptions {
  /** Steps before the run is declared a livelock. */
  maxSteps?: number;
  /** Stop at the first violation (explorers do). */
  stopOnViolation?: boolean;
}

export interface ExecResult {
  schedule: number[];
  steps: number;
  violations: Violation[];
  /** All non-daemon threads finished. */
  completed: boolean;
}

/** Run until every thread is done, a deadlock, a violation (if asked) or the step bound. */
export function execute(k: Kernel, sched: Scheduler, opts: ExecOptions = {}): ExecResult {
  const maxSteps = opts.maxSteps ?? 200_000;
  const schedule: number[] = [];
  const runnable: Thread[] = [];
  let steps = 0;
  let completed = false;
  for (;;) {
    if (opts.stopOnViolation && k.violations.length > 0) break;
    // Refill in place (shrinking an array's length is a runtime call: only when it changes).
    let n = 0;
    let live = 0;
    for (const t of k.threads) {
      if (t.done) continue;
      if (!t.daemon) live++;
      if (t.runnable) runnable[n++] = t;
    }
    if (runnable.length !== n) runnable.length = n;
    if (live === 0) {
      // Let pending RCU callbacks run (no readers remain, so their grace periods have ended).
      const d = runnable.find((t) => t.daemon);
      if (d && k.rcu.readyCallback()) {
        schedule.push(d.id);
        k.stepThread(d);
        steps++;
        continue;
      }
      completed = true;
      break;
    }
    let stuck = true; // nothing runnable but daemons with no callback ready
    for (let i = 0; i < n && stuck; i++) stuck = runnable[i]!.daemon && !k.rcu.readyCallback();
    if (stuck) {
      const cyc = waitForCycle(k);
      k.report({ kind: 'deadlock', message: cyc.message, report: cyc.report });
      break;
    }
    if (steps >= maxSteps) {
      k.report({ kind: 'livelock', message: `no progress to completion after ${maxSteps} steps (step bound reached)` });
      break;
    }
    const t = sched.pick(runnable, k, steps);
    schedule.push(t.id);
    k.stepThread(t);
    steps++;
  }
  return { schedule, steps, violations: k.violations.slice(), completed };
}

/** Uniformly random choice at every step. */
export class RandomScheduler implements Scheduler {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  pick(runnable: readonly Thread[]): Thread {
    return runnable[this.rng.int(runnable.length)]!;
  }
}

/**
 * PCT (Burckhardt et al., ASPLOS 2010): random distinct thread priorities, d-1 priority change
 * points at random steps in [0, k); always run the highest-priority runnable thread.
 */
export class PctScheduler implements Scheduler {
  private readonly rng: Rng;
  private readonly prio = new Map<number, number>();
  private readonly changes: number[];
  private nextLow: number;
  constructor(seed: number, depth: number, expectedSteps: number) {
    this.rng = new Rng(seed);
    this.changes = [];
    for (let i = 0; i < depth - 1; i++) this.changes.push(this.rng.int(Math.max(1, expectedSteps)));
    this.changes.sort((a, b) => a - b);
    this.nextLow = depth - 1;
  }
  private p(t: Thread): number {
    let v = this.prio.get(t.id);
    if (v === undefined) {
      v = 1000 + this.rng.int(1_000_000);
      this.prio.set(t.id, v);
    }
    return v;
  }
  pick(runnable: readonly Thread[], _k: Kernel, stepNo: number): Thread {
    let best = runnable[0]!;
    for (const t of runnable) if (this.p(t) > this.p(best)) best = t;
    while (this.changes.length > 0 && this.changes[0]! <= stepNo) {
      this.changes.shift();
      this.prio.set(best.id, this.nextLow--);
      best = runnable[0]!;
      for (const t of runnable) if (this.p(t) > this.p(best)) best = t;
    }
    return best;
  }
}

/** Follow a recorded schedule; after its end, the lowest runnable thread id (deterministic). */
export class ReplayScheduler implements Scheduler {
  private i = 0;
  diverged = false;
  constructor(private readonly schedule: readonly number[]) {}
  pick(runnable: readonly Thread[]): Thread {
    while (this.i < this.schedule.length) {
      const want = this.schedule[this.i++]!;
      const t = runnable.find((r) => r.id === want);
      if (t) return t;
      this.diverged = true;
    }
    return runnable[0]!;
  }
}
