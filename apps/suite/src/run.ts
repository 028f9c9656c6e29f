/**
 * Running one cell of the matrix: a race workload under one strategy (DPOR, then a fixed
 * random/PCT pass when DPOR is not exhaustive), or a perf workload under every strategy (the timed
 * simulator). Used by the tests (against the TypeScript sources) and by scripts/findings.mjs
 * (against the built dist), so both see the same plan.
 */
import {
  decodeToken,
  explore,
  replaySchedule,
  simulate,
  type ExploreResult,
  type Finding,
  type SimResult,
  type SyncStrategy,
  type ViolationKind,
} from '@hugesync/core';
import { loadCatalogWorkload } from '@hugesync/workloads';
import { builtinStrategies } from '@hugesync/strategies';
import { perfPlan, racePlan } from './plan.js';

export interface CellFinding extends Finding {
  /** The explorer that found it (dpor, or the fallback's). */
  explorer: string;
}

export interface RaceCell {
  workload: string;
  strategy: string;
  dpor: ExploreResult;
  /**
   * Present exactly when DPOR was not exhaustive or found something: a run stops at its first
   * violation, so an "exhaustive" DPOR search that found one may still hide other kinds behind it
   * (docs/findings.md, "DPOR and the first violation").
   */
  fallback?: ExploreResult;
  /** Every kind found by either pass, sorted. */
  kinds: ViolationKind[];
  /** DPOR explored every equivalence class within its budget. */
  exhaustive: boolean;
  /** A wall-clock guard cut a pass short: the result is not the deterministic one. */
  timedOut: boolean;
  /** One finding per kind (DPOR's when both passes found it). */
  findings: CellFinding[];
}

export function strategyByName(name: string): SyncStrategy {
  const s = builtinStrategies().find((x) => x.name === name);
  if (!s) throw new Error(`unknown built-in strategy "${name}"`);
  return s;
}

/**
 * Where a finding was detected, for the docs: "in `fn`" (the kernel function of the step), "in
 * task T" when only the task is known, or "at quiescence" for an invariant checked once every
 * task has finished (refcount, page-leak, reserve-count, migration-entry-leak...), which has neither.
 */
export function findingWhere(f: { fn?: string; thread?: string }): string {
  if (f.fn) return `in \`${f.fn}\``;
  if (f.thread) return `in task ${f.thread}`;
  return 'at quiescence';
}

/** Whether a DPOR result gets the second (random/PCT) pass. */
export function needsFallback(dpor: ExploreResult): boolean {
  return !dpor.exhaustive || dpor.violations.length > 0;
}

/** Explore a catalog race workload under one strategy with the suite's plan. */
export function runRaceCell(workload: string, strategy: SyncStrategy | string, opts: { campaign?: boolean } = {}): RaceCell {
  const strat = typeof strategy === 'string' ? strategyByName(strategy) : strategy;
  const plan = racePlan(workload);
  const spec = loadCatalogWorkload(workload);
  // The campaign budget (scripts/findings.mjs), where the plan has one: larger than CI affords.
  const budget = (opts.campaign && plan.campaign) || plan.dpor;
  const dpor = explore(spec, strat, { explorer: 'dpor', schedules: budget.schedules, seed: plan.seed, timeLimitMs: budget.timeLimitMs, all: true });
  const fb = plan.fallback;
  const fallback = !needsFallback(dpor)
    ? undefined
    : explore(spec, strat, { explorer: fb.explorer, schedules: fb.schedules, seed: fb.seed, pctDepth: fb.pctDepth, timeLimitMs: fb.timeLimitMs, all: true });
  const byKind = new Map<ViolationKind, CellFinding>();
  for (const r of [dpor, fallback]) {
    if (!r) continue;
    for (const f of r.violations) if (!byKind.has(f.kind)) byKind.set(f.kind, { ...f, explorer: r.explorer });
  }
  const kinds = [...byKind.keys()].sort();
  return {
    workload,
    strategy: strat.name,
    dpor,
    ...(fallback ? { fallback } : {}),
    kinds,
    exhaustive: dpor.exhaustive,
    timedOut: Boolean(dpor.timedOut || fallback?.timedOut),
    findings: kinds.map((k) => byKind.get(k)!),
  };
}

/** Replay a token from the catalog (as `hugesync replay` does) and return the kinds it reproduces. */
export function replayToken(token: string): { kinds: ViolationKind[]; completed: boolean } {
  const d = decodeToken(token);
  const set = Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, String(v)]));
  const spec = loadCatalogWorkload(d.workload, Object.keys(set).length ? set : undefined);
  const r = replaySchedule(spec, strategyByName(d.strategy), d.schedule, d.seed);
  return { kinds: [...new Set(r.violations.map((v) => v.kind))].sort(), completed: r.completed };
}

/** Simulate a perf workload at the suite's size under one strategy. */
export function runPerfCell(workload: string, strategy: SyncStrategy | string): SimResult {
  const strat = typeof strategy === 'string' ? strategyByName(strategy) : strategy;
  const plan = perfPlan(workload);
  const spec = loadCatalogWorkload(workload, plan.set);
  return simulate(spec, strat, { cpus: plan.cpus, durationSec: plan.durationSec, seed: plan.seed, maxWallMs: plan.maxWallMs });
}
