/**
 * What the model finds on every (catalog workload x built-in strategy) cell, and why.
 * Filled from runs of the suite's plan (src/plan.ts) and checked against the seeds and the lock
 * map (/work/shared/docs/kernel-lock-map.md). `finding` marks a cell where the model disagrees
 * with what a seed claims; `modelBug` marks a cell where the model itself is believed wrong: the
 * verdict recorded is the kernel's, and the test is expected to fail until core is fixed.
 */
import type { ViolationKind } from '@hugesync/core';

export type Verdict = { clean: true; exhaustive: boolean } | { kinds: ViolationKind[] };

export interface RaceExpectation {
  workload: string;
  strategy: string;
  verdict: Verdict;
  /** Seed, kernel commit or discussion this comes from. */
  why: string;
  /** Where the model disagrees with a seed, and why. */
  finding?: string;
  /** The model gives another result, believed wrong; the verdict above is the kernel's. */
  modelBug?: string;
}

export type PerfMetric = 'faultsPerSec' | 'waits' | 'waitTimeMs' | 'maxFaultWaitUs';

export interface PerfExpectation {
  workload: string;
  metric: PerfMetric;
  /** metric(higher) >= metric(lower) at the suite's size (src/plan.ts). */
  higher: string;
  lower: string;
  why: string;
  finding?: string;
}

export const RACE_EXPECTATIONS: RaceExpectation[] = [];

export const PERF_EXPECTATIONS: PerfExpectation[] = [];

export function raceExpectation(workload: string, strategy: string): RaceExpectation | undefined {
  return RACE_EXPECTATIONS.find((e) => e.workload === workload && e.strategy === strategy);
}

/** "clean (exhaustive)", "clean (not exhaustive)" or the kinds, comma separated. */
export function verdictText(v: Verdict): string {
  return 'clean' in v ? `clean (${v.exhaustive ? 'exhaustive' : 'not exhaustive'})` : v.kinds.join(', ');
}
