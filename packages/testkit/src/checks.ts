/**
 * The checks of the conformance kit as plain functions (no test framework): each runs catalog
 * workloads under a strategy and returns what it saw. strategyConformance() (suite.ts) turns
 * them into named vitest parts. Everything here is deterministic: schedulers are seeded, no
 * wall clock decides a result (elapsed times are reported, never compared).
 */
import {
  LockGraph,
  PctScheduler,
  RandomScheduler,
  explore,
  noneStrategy,
  runOnce,
  stepLabel,
  type ExplorerName,
  type Scheduler,
  type SyncStrategy,
  type Violation,
  type ViolationKind,
  type WorkloadSpec,
} from '@hugesync/core';
import { listWorkloads, loadCatalogWorkload } from '@hugesync/workloads';

/** A finding the strategy expects and documents (e.g. a lock-order report its design accepts). */
export interface AllowedFinding {
  kind: ViolationKind;
  /** Matched against the violation's message (a substring or a RegExp); absent: every finding of the kind. */
  match?: string | RegExp;
  /** Why it is expected (shown in the output). */
  reason: string;
}

/** One problem a check found (a failure of the kit unless allowed). */
export interface Problem {
  workload: string;
  kind: ViolationKind;
  message: string;
  /** How to reproduce: the scheduler and its seed. */
  schedule: string;
}

/** Violation kinds that are always a bug of the strategy's lock handling, never a race it leaves open. */
export const DISCIPLINE_KINDS: readonly ViolationKind[] = ['lock-imbalance', 'sleep-in-atomic', 'strategy-error'];

export function isAllowed(v: { kind: ViolationKind; message: string }, allow: readonly AllowedFinding[] = []): AllowedFinding | undefined {
  return allow.find((a) => a.kind === v.kind && (a.match === undefined || (typeof a.match === 'string' ? v.message.includes(a.match) : a.match.test(v.message))));
}

/** Catalog workloads: the given names, or every catalog workload tagged `tag` (all of them when tag is undefined). */
export function catalogWorkloads(names?: readonly string[], tag?: string): WorkloadSpec[] {
  if (names && names.length) return names.map((n) => loadCatalogWorkload(n));
  return listWorkloads()
    .filter((w) => tag === undefined || w.tags.includes(tag))
    .map((w) => loadCatalogWorkload(w.name));
}

/** The race workloads of the catalog (tag "race"). */
export function raceWorkloadNames(): string[] {
  return listWorkloads()
    .filter((w) => w.tags.includes('race'))
    .map((w) => w.name);
}

/** Schedule i of a check: random and PCT alternate, each seeded from (seed, i). */
function scheduler(seed: number, i: number, expectedSteps: number): { sched: Scheduler; label: string } {
  const s = seed * 1000 + i;
  return i % 2 ? { sched: new RandomScheduler(s), label: `random seed ${s}` } : { sched: new PctScheduler(s, 3, expectedSteps), label: `pct seed ${s} depth 3` };
}

/** Bound for workloads that loop (repeat: true, sized for the simulator): they never complete. */
const REPEAT_STEP_BOUND = 2500;

export interface DisciplineResult {
  runs: number;
  /** Runs per workload. */
  perWorkload: Record<string, number>;
  problems: Problem[];
  /** Discipline violations matched by an `allow` entry. */
  allowed: Problem[];
}

/**
 * Lock discipline: every workload for `schedules` schedules (random and PCT alternating), not
 * stopping at the first violation; any lock-imbalance, sleep-in-atomic or strategy-error report
 * is a problem. Races (use-after-free, reserve counts, ...) are not: the race report lists them.
 */
export function checkLockDiscipline(strategy: SyncStrategy, specs: readonly WorkloadSpec[], opts: { schedules: number; seed: number; allow?: readonly AllowedFinding[] }): DisciplineResult {
  const res: DisciplineResult = { runs: 0, perWorkload: {}, problems: [], allowed: [] };
  for (const spec of specs) {
    let expected = 300;
    for (let i = 0; i < opts.schedules; i++) {
      const { sched, label } = scheduler(opts.seed, i, expected);
      const { exec } = runOnce(spec, strategy, sched, { seed: opts.seed, stopOnViolation: false, maxSteps: spec.repeat ? REPEAT_STEP_BOUND : undefined });
      expected = Math.max(expected, exec.steps);
      res.runs++;
      res.perWorkload[spec.name] = (res.perWorkload[spec.name] ?? 0) + 1;
      for (const v of exec.violations) {
        if (!DISCIPLINE_KINDS.includes(v.kind)) continue;
        const p = { workload: spec.name, kind: v.kind, message: v.message, schedule: label };
        (isAllowed(v, opts.allow) ? res.allowed : res.problems).push(p);
      }
    }
  }
  return res;
}

export interface LockdepResult {
  runs: number;
  /** Lock-class dependency edges seen ("from -> to"), sorted. */
  edges: string[];
  problems: Problem[];
  allowed: Problem[];
}

/**
 * Lockdep: one lock-class graph shared by every schedule of every workload (as lockdep keeps
 * its graph across a boot); each "possible circular locking dependency" is a problem unless allowed.
 * Looping workloads run to a step bound.
 */
export function checkLockdep(strategy: SyncStrategy, specs: readonly WorkloadSpec[], opts: { schedules: number; seed: number; allow?: readonly AllowedFinding[] }): LockdepResult {
  const graph = new LockGraph();
  const res: LockdepResult = { runs: 0, edges: [], problems: [], allowed: [] };
  for (const spec of specs) {
    const n = spec.repeat ? Math.min(opts.schedules, 2) : opts.schedules;
    let expected = 300;
    for (let i = 0; i < n; i++) {
      const { sched, label } = scheduler(opts.seed + 7, i, expected);
      const { exec } = runOnce(spec, strategy, sched, { seed: opts.seed, graph, stopOnViolation: false, maxSteps: spec.repeat ? REPEAT_STEP_BOUND : undefined });
      expected = Math.max(expected, exec.steps);
      res.runs++;
      for (const v of exec.violations) {
        if (v.kind !== 'lock-order') continue;
        const p = { workload: spec.name, kind: v.kind, message: v.message, schedule: label };
        (isAllowed(v, opts.allow) ? res.allowed : res.problems).push(p);
      }
    }
  }
  for (const [from, m] of graph.edges) for (const to of m.keys()) res.edges.push(`${from} -> ${to}`);
  res.edges.sort();
  return res;
}

/** FNV-1a, 32 bit, as 8 hex digits. */
export function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface TraceRun {
  workload: string;
  schedule: number[];
  violations: string[];
  /** Hash of every executed step as "thread fn label". */
  traceHash: string;
  steps: number;
}

/** One schedule with a trace hash over the labels of the steps executed. */
export function tracedRun(spec: WorkloadSpec, strategy: SyncStrategy, explorer: ExplorerName, seed: number): TraceRun {
  let h = 0x811c9dc5;
  const sched = explorer === 'pct' ? new PctScheduler(seed, 3, 2000) : new RandomScheduler(seed);
  const { exec } = runOnce(spec, strategy, sched, {
    seed,
    stopOnViolation: false,
    maxSteps: spec.repeat ? REPEAT_STEP_BOUND : undefined,
    onBuilt: (b) => {
      b.kernel.stepListeners = true;
      b.kernel.bus.on('step', (t, s) => {
        h = fnv1a(`${t.name}\u0000${s.fn}\u0000${stepLabel(s)}\n`, h);
      });
    },
  });
  return {
    workload: spec.name,
    schedule: exec.schedule,
    violations: exec.violations.map((v: Violation) => `${v.kind}: ${v.message}`),
    traceHash: h.toString(16).padStart(8, '0'),
    steps: exec.steps,
  };
}

export interface DeterminismResult {
  pairs: Array<{ workload: string; explorer: ExplorerName; seed: number; first: TraceRun; second: TraceRun; same: boolean }>;
}

/** The same seed twice must give the same schedule, violations and trace hash. */
export function checkDeterminism(strategy: SyncStrategy, specs: readonly WorkloadSpec[], opts: { seed: number }): DeterminismResult {
  const pairs: DeterminismResult['pairs'] = [];
  for (const spec of specs) {
    for (const explorer of ['random', 'pct'] as const) {
      const first = tracedRun(spec, strategy, explorer, opts.seed);
      const second = tracedRun(spec, strategy, explorer, opts.seed);
      const same = first.traceHash === second.traceHash && JSON.stringify(first.schedule) === JSON.stringify(second.schedule) && JSON.stringify(first.violations) === JSON.stringify(second.violations);
      pairs.push({ workload: spec.name, explorer, seed: opts.seed, first, second, same });
    }
  }
  return { pairs };
}

export interface RaceRow {
  workload: string;
  /** Violation kinds found under the strategy: races it leaves open (findings, not failures). */
  open: Array<{ kind: ViolationKind; message: string; replay: string }>;
  /** Kinds the 5.6 baseline (noneStrategy) shows within the same budget and the strategy does not. */
  closed: ViolationKind[];
  /** Kinds the baseline shows, for reference. */
  baseline: ViolationKind[];
  schedules: number;
}

export interface RaceReport {
  strategy: string;
  package: string;
  /** Schedules per explorer (random and PCT) per workload. */
  schedules: number;
  seed: number;
  rows: RaceRow[];
  /** What "closed" means: bounded exploration, not a proof. */
  note: string;
}

const baselineCache = new Map<string, Map<ViolationKind, string>>();

function kindsFound(spec: WorkloadSpec, strategy: SyncStrategy, schedules: number, seed: number): Map<ViolationKind, { message: string; replay: string }> {
  const out = new Map<ViolationKind, { message: string; replay: string }>();
  for (const explorer of ['random', 'pct'] as const) {
    const r = explore(spec, strategy, { explorer, schedules, seed, all: true, minimize: false });
    for (const v of r.violations) if (!out.has(v.kind)) out.set(v.kind, { message: v.message, replay: v.replay });
  }
  return out;
}

/**
 * The race report: explore each race workload under the strategy and under the 5.6 baseline
 * with the same explorers, seeds and budget. Kinds the strategy shows are open; kinds only
 * the baseline shows are closed (within this budget).
 */
export function raceReport(strategy: SyncStrategy, specs: readonly WorkloadSpec[], opts: { schedules: number; seed: number }): RaceReport {
  const rows: RaceRow[] = [];
  for (const spec of specs) {
    const found = kindsFound(spec, strategy, opts.schedules, opts.seed);
    const key = `${spec.name}|${JSON.stringify(spec.params)}|${opts.schedules}|${opts.seed}`;
    let base = baselineCache.get(key);
    if (!base) {
      base = new Map([...(strategy === noneStrategy ? found : kindsFound(spec, noneStrategy, opts.schedules, opts.seed))].map(([k, v]) => [k, v.message]));
      baselineCache.set(key, base);
    }
    rows.push({
      workload: spec.name,
      open: [...found].map(([kind, v]) => ({ kind, message: v.message, replay: v.replay })),
      closed: [...base.keys()].filter((k) => !found.has(k)),
      baseline: [...base.keys()],
      schedules: 2 * opts.schedules,
    });
  }
  return {
    strategy: strategy.name,
    package: strategy.package,
    schedules: opts.schedules,
    seed: opts.seed,
    rows,
    note: `random and PCT explorers, ${opts.schedules} schedules each, seed ${opts.seed}; "closed" = found under the baseline (none, v5.6) and not under this strategy within that budget`,
  };
}

/** The race report as a plain-text table. */
export function formatRaceReport(r: RaceReport): string {
  const head = ['workload', 'closed (vs none)', 'open'];
  const body = r.rows.map((x) => [x.workload, x.closed.join(', ') || '-', x.open.map((o) => o.kind).join(', ') || '-']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(w[i]!)).join('  ').trimEnd();
  return [`race report: ${r.strategy} (${r.package})`, line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line), `(${r.note})`].join('\n');
}
