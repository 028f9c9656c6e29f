/** Explorers: run a workload under many schedules and collect what the checkers find. */
import type { SyncStrategy } from '../strategy.js';
import type { WorkloadSpec } from '../workload/types.js';
import { buildKernel, MachineTemplate, type Built } from '../workload/build.js';
import { execute, RandomScheduler, PctScheduler, ReplayScheduler, type Scheduler, type ExecResult } from './executor.js';
import { attachPteChecker } from '../check/pte.js';
import { attachTlbChecker } from '../check/tlb.js';
import { attachLockdep, LockGraph } from '../check/lockdep.js';
import { checkQuiescence } from '../check/invariants.js';
import { attachDataRaceChecker } from '../check/datarace.js';
import type { Violation, ViolationKind } from './events.js';
import { encodeToken } from './token.js';
import { Rng } from './random.js';

export type ExplorerName = 'random' | 'pct' | 'dpor';

export interface ExploreOptions {
  explorer?: ExplorerName;
  /** Schedules to run (random, pct); an upper bound for dpor. */
  schedules?: number;
  seed?: number;
  /** Wall-clock budget in ms (the only non-deterministic knob: a run cut short says so). */
  timeLimitMs?: number;
  /** Step bound per schedule before reporting livelock. */
  maxSteps?: number;
  /** PCT depth d. */
  pctDepth?: number;
  /** Keep exploring after the first violation of each kind (default: stop at the first violation). */
  all?: boolean;
  /**
   * DPOR only: lock-aware reduction (default true): critical sections of one lock whose steps do
   * not conflict are not ordered against each other (engine/dpor.ts). false = plain source-set DPOR.
   */
  reduceLocks?: boolean;
  /** Shrink counterexamples before reporting (default true). */
  minimize?: boolean;
  /** Progress callback: schedules done so far. */
  onProgress?: (done: number) => void;
}

export interface Finding {
  kind: ViolationKind;
  message: string;
  report?: string;
  thread?: string;
  /** The kernel function it was detected in; absent for an invariant checked at quiescence (refcount, page-leak...). */
  fn?: string;
  /** Replay token reproducing it. */
  replay: string;
  /** Steps in the (minimised) schedule. */
  steps: number;
  /** Context switches away from a thread that could have continued. */
  preemptions: number;
  schedule: number[];
}

export interface ExploreResult {
  strategy: string;
  workload: string;
  explorer: ExplorerName;
  schedules: number;
  exhaustive: boolean;
  elapsedMs: number;
  violations: Finding[];
  /** For dpor: how many plain interleavings the same workload has (or an estimate, as a string). */
  interleavings?: string;
  /** The run stopped on the time limit. */
  timedOut?: boolean;
  /** Wall ms from the start until the first violation was seen (before minimisation and, for dpor, the interleaving count). */
  firstViolationMs?: number;
}

/**
 * One schedule from a fresh machine: checkers attached, run, quiescence checked. With `template`
 * (a MachineTemplate of the same spec, strategy and seed) the machine is a copy of the one the
 * template built, setup already run, instead of a new build: the same machine, made faster.
 */
export function runOnce(spec: WorkloadSpec, strategy: SyncStrategy, sched: Scheduler, opts: { seed: number; maxSteps?: number; graph?: LockGraph; stopOnViolation?: boolean; onBuilt?: (b: Built) => void; template?: MachineTemplate }): { exec: ExecResult; built: Built } {
  const built = buildKernel(spec, strategy, { seed: opts.seed, template: opts.template });
  const k = built.kernel;
  attachPteChecker(k);
  attachTlbChecker(k);
  attachLockdep(k, opts.graph ?? new LockGraph());
  attachDataRaceChecker(k);
  opts.onBuilt?.(built);
  const exec = execute(k, sched, { maxSteps: opts.maxSteps, stopOnViolation: opts.stopOnViolation ?? true });
  if (exec.completed && (k.violations.length === 0 || opts.stopOnViolation === false)) checkQuiescence(k);
  exec.violations = k.violations.slice();
  return { exec, built };
}

export function countPreemptions(schedule: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < schedule.length; i++) if (schedule[i] !== schedule[i - 1]) n++;
  return n;
}

/**
 * Replay a schedule (as a token does) and return what it finds. The run goes on past the first
 * violation, so that damage found downstream of it (as `--all` explorations report) reproduces too.
 */
export function replaySchedule(spec: WorkloadSpec, strategy: SyncStrategy, schedule: readonly number[], seed: number, maxSteps?: number): ExecResult {
  return runOnce(spec, strategy, new ReplayScheduler(schedule), { seed, maxSteps, stopOnViolation: false }).exec;
}

export function makeScheduler(explorer: ExplorerName, seed: number, i: number, depth: number, expectedSteps: number): Scheduler {
  const s = new Rng(seed).fork(i + 1).int(2 ** 31);
  return explorer === 'pct' ? new PctScheduler(s, depth, expectedSteps) : new RandomScheduler(s);
}

export type Minimizer = (spec: WorkloadSpec, strategy: SyncStrategy, schedule: number[], kind: ViolationKind, seed: number, maxSteps?: number) => number[];
let minimizer: Minimizer | null = null;
/** The minimiser lives in its own module; it registers itself here. */
export function setMinimizer(m: Minimizer): void {
  minimizer = m;
}
export type DporRunner = (spec: WorkloadSpec, strategy: SyncStrategy, opts: ExploreOptions) => ExploreResult;
let dpor: DporRunner | null = null;
export function setDpor(d: DporRunner): void {
  dpor = d;
}

export function findingFrom(spec: WorkloadSpec, strategy: SyncStrategy, explorer: ExplorerName, seed: number, v: Violation, schedule: number[], maxSteps: number | undefined, doMin: boolean): Finding {
  let sch = schedule;
  if (doMin && minimizer) sch = minimizer(spec, strategy, schedule, v.kind, seed, maxSteps);
  // Re-run the final schedule to get the message of the violation as it shows there.
  let shown = v;
  if (sch !== schedule) {
    const r = replaySchedule(spec, strategy, sch, seed, maxSteps);
    shown = r.violations.find((x) => x.kind === v.kind) ?? v;
  }
  const steps = sch.length;
  return {
    kind: shown.kind,
    message: shown.message,
    report: shown.report,
    thread: shown.thread,
    ...(shown.fn ? { fn: shown.fn } : {}),
    replay: encodeToken({ workload: spec.name, params: spec.params, strategy: strategy.name, explorer, seed, schedule: sch, specHash: specHash(spec) }),
    steps,
    preemptions: countPreemptions(sch),
    schedule: sch,
  };
}

export function specHash(spec: WorkloadSpec): string {
  // Stable hash of the loaded workload (params included).
  let h = 0x811c9dc5;
  const s = JSON.stringify(spec);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Explore a workload under one strategy. */
export function explore(spec: WorkloadSpec, strategy: SyncStrategy, opts: ExploreOptions = {}): ExploreResult {
  const explorer = opts.explorer ?? 'random';
  if (explorer === 'dpor') {
    if (!dpor) throw new Error('the dpor explorer is not available');
    return dpor(spec, strategy, opts);
  }
  const seed = opts.seed ?? 1;
  const n = opts.schedules ?? 1000;
  const t0 = Date.now();
  const found = new Map<string, Finding>();
  const graph = new LockGraph();
  let expected = 200;
  let done = 0;
  let timedOut = false;
  let firstViolationMs: number | undefined;
  const template = new MachineTemplate(spec, strategy, seed);
  for (let i = 0; i < n; i++) {
    if (opts.timeLimitMs !== undefined && Date.now() - t0 > opts.timeLimitMs) {
      timedOut = true;
      break;
    }
    const sched = makeScheduler(explorer, seed, i, opts.pctDepth ?? 3, expected);
    const { exec } = runOnce(spec, strategy, sched, { seed, maxSteps: opts.maxSteps, graph, template });
    done++;
    expected = Math.max(expected, exec.steps);
    opts.onProgress?.(done);
    if (firstViolationMs === undefined && exec.violations.length > 0) firstViolationMs = Date.now() - t0;
    for (const v of exec.violations) {
      if (found.has(v.kind)) continue;
      found.set(v.kind, findingFrom(spec, strategy, explorer, seed, v, exec.schedule, opts.maxSteps, opts.minimize !== false));
    }
    if (found.size > 0 && !opts.all) break;
  }
  return {
    strategy: strategy.name,
    workload: spec.name,
    explorer,
    schedules: done,
    exhaustive: false,
    elapsedMs: Date.now() - t0,
    violations: [...found.values()],
    ...(timedOut ? { timedOut } : {}),
    ...(firstViolationMs !== undefined ? { firstViolationMs } : {}),
  };
}
