/**
 * The suite's fixed plan: which explorer, budget and seed each race cell gets, and the size of the
 * timed runs. Everything here is deterministic except the wall-clock guards (timeLimitMs), which
 * only stop a runaway; a cell cut short by one fails its test instead of reporting a weaker result.
 */
import type { ExplorerName } from '@hugesync/core';

export interface RacePlan {
  /** DPOR first: exhaustive when it finishes within `schedules`. */
  dpor: { schedules: number; timeLimitMs: number };
  /** When DPOR is not exhaustive: a second pass with a fixed budget and seed. */
  fallback: { explorer: Exclude<ExplorerName, 'dpor'>; schedules: number; seed: number; pctDepth: number; timeLimitMs: number };
  /** Explorer seed (also address placement). */
  seed: number;
  /**
   * A larger DPOR budget for scripts/findings.mjs (docs/findings.md and the strategy READMEs),
   * where DPOR finishes with more schedules than the suite can afford in CI.
   */
  campaign?: { schedules: number; timeLimitMs: number };
}

export interface PerfPlan {
  /** Parameter overrides (`--set`). */
  set: Record<string, string>;
  cpus: number;
  durationSec: number;
  seed: number;
  /** Wall-clock guard; a run stopped by it fails its test. */
  maxWallMs: number;
}

const DPOR_TIME_LIMIT_MS = 150_000;
const FALLBACK_TIME_LIMIT_MS = 60_000;

/** Issue #5 migration workloads: DPOR capped (not exhaustive at any affordable budget), then a fixed random pass. */
const MIGRATION_PLAN: RacePlan = {
  seed: 1,
  dpor: { schedules: 200, timeLimitMs: DPOR_TIME_LIMIT_MS },
  fallback: { explorer: 'random', schedules: 100, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
};

/**
 * Race workloads. `--all` semantics: every explorer keeps going after the first violation, so a
 * cell's verdict is the set of every kind its budget reaches, not just the first one.
 * pmd-unshare-race is ~3,100 steps per schedule (B's munmap walks the whole 1 GiB PUD range): the
 * most expensive cells of the suite (~15 s of CPU each).
 */
export const RACE_PLANS: Record<string, RacePlan> = {
  'pmd-unshare-race': {
    seed: 1,
    dpor: { schedules: 3000, timeLimitMs: DPOR_TIME_LIMIT_MS },
    // Exhaustive for every strategy within 2,000 with the lock-aware reduction (docs/findings.md).
    campaign: { schedules: 30_000, timeLimitMs: 1_200_000 },
    // random finds seed 002's stale pointer here within 1,000 schedules; PCT (depth 3) did not in 300.
    fallback: { explorer: 'random', schedules: 1000, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
  },
  'fault-truncate-race': {
    seed: 1,
    dpor: { schedules: 3000, timeLimitMs: DPOR_TIME_LIMIT_MS },
    fallback: { explorer: 'pct', schedules: 1000, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
  },
  'fault-punch-hole-race': {
    seed: 1,
    dpor: { schedules: 3000, timeLimitMs: DPOR_TIME_LIMIT_MS },
    fallback: { explorer: 'pct', schedules: 1000, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
  },
  // Issue 5 walkers (GUP, uffd, pagewalk, TLB). The 1 GiB munmap of the last sharer makes every
  // schedule ~3,000 steps, and the RCU callback kthread conflicts with every step: a small DPOR
  // budget (its preemption-bounded rounds find the short counterexamples first), then random.
  ...Object.fromEntries(
    ['access-vs-unshare-tlb', 'gup-fast-vs-unshare', 'gup-nowait-vs-unshare', 'walk-vs-unshare', 'uffd-vs-unshare', 'follow-page-vs-unshare'].map((w): [string, RacePlan] => [
      w,
      {
        seed: 1,
        // follow-page-vs-unshare: exhaustive for every design within 310 schedules.
        dpor: { schedules: w === 'follow-page-vs-unshare' ? 400 : 300, timeLimitMs: DPOR_TIME_LIMIT_MS },
        // With the lock-aware reduction DPOR finishes these for every design within a few
        // thousand schedules (docs/findings.md), uffd-vs-unshare excepted (41,580 under rcu:
        // its own, larger campaign below).
        campaign: w === 'uffd-vs-unshare' ? { schedules: 50_000, timeLimitMs: 900_000 } : { schedules: 20_000, timeLimitMs: 600_000 },
        fallback: { explorer: 'random', schedules: 100, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
      },
    ]),
  ),
  // Issue #5 paths. fork-with-shared-pmd is ~3,000 steps per schedule (the 5.6 fork walks all 512
  // entries of a table the other threads write, and B's munmap walks them again): DPOR needs
  // 7,000-9,000 schedules (the campaign), too many for CI, so a short DPOR pass and a random pass
  // (which finds the 5.6 use-after-free within 300).
  // The other issue #5 workloads are small (exhaustive DPOR in under ~150 schedules); a short
  // second pass suffices when DPOR found something.
  ...Object.fromEntries(
    ['split-vs-fault', 'mremap-vs-fault', 'shm-detach-vs-fault', 'madvise-private-vs-fault'].map((w) => [
      w,
      { seed: 1, dpor: { schedules: 3000, timeLimitMs: DPOR_TIME_LIMIT_MS }, fallback: { explorer: 'pct', schedules: 200, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS } } satisfies RacePlan,
    ]),
  ),
  'fork-with-shared-pmd': {
    seed: 1,
    dpor: { schedules: 60, timeLimitMs: DPOR_TIME_LIMIT_MS },
    // With the lock-aware reduction DPOR finishes it: 7,000-9,000 schedules per clean design.
    campaign: { schedules: 20_000, timeLimitMs: 600_000 },
    fallback: { explorer: 'random', schedules: 300, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
  },
  // Issue #5. The migration workloads do not finish exhaustively at any affordable budget (up to
  // 10 migrate_pages() passes, each interleaving with the fault's retry loop): a few seconds of CPU per cell.
  'migrate-vs-fault-file': MIGRATION_PLAN,
  'migrate-vs-fault-anon': MIGRATION_PLAN,
  'migrate-vs-unshare': MIGRATION_PLAN,
  // 2,300-3,100 schedules exhaust it (10-20 s per strategy).
  'hwpoison-vs-fault': {
    seed: 1,
    dpor: { schedules: 4000, timeLimitMs: DPOR_TIME_LIMIT_MS },
    fallback: { explorer: 'random', schedules: 300, seed: 1, pctDepth: 3, timeLimitMs: FALLBACK_TIME_LIMIT_MS },
  },
};

/** Timed runs: a small size of each perf workload (seed 002's experiment is 48 CPUs, 250 GiB). */
export const PERF_PLANS: Record<string, PerfPlan> = {
  'map-fault-unmap': { set: { processes: '4', fileSize: '2GiB', placement: 'same' }, cpus: 4, durationSec: 0.02, seed: 1, maxWallMs: 60_000 },
  'fork-and-fault': { set: { faulters: '2', fileSize: '2GiB', childPages: '4MiB' }, cpus: 4, durationSec: 0.02, seed: 1, maxWallMs: 60_000 },
};

/** The plan of a race workload (catalog workloads without an entry get the two-page defaults). */
export function racePlan(workload: string): RacePlan {
  return RACE_PLANS[workload] ?? RACE_PLANS['fault-truncate-race']!;
}

export function perfPlan(workload: string): PerfPlan {
  return PERF_PLANS[workload] ?? { set: {}, cpus: 4, durationSec: 0.01, seed: 1, maxWallMs: 60_000 };
}
