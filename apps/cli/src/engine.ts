/** The CLI's use of core: exploration with strategy errors contained, and the timed simulator. */
import * as core from '@hugesync/core';
import type { ExploreOptions, ExploreResult, ExplorerName, SyncStrategy, WorkloadSpec } from '@hugesync/core';
import { firstLine } from './errors.js';

export interface ViolationJson {
  kind: string;
  message: string;
  report?: string;
  replay: string;
  steps: number;
  preemptions?: number;
}

export interface ExploreJson {
  strategy: string;
  workload: string;
  explorer: ExplorerName;
  schedules: number;
  exhaustive: boolean;
  elapsedMs: number;
  /** Wall ms until the first violation was seen (before minimisation and the interleaving count). */
  firstViolationMs?: number;
  interleavings?: string;
  timedOut?: boolean;
  violations: ViolationJson[];
}

const DPOR_MISSING = 'the dpor explorer is not available';

/** True once a dpor run has said it is not registered. */
let dporMissing = false;

export function dporKnownMissing(): boolean {
  return dporMissing;
}

function toJson(r: ExploreResult): ExploreJson {
  return {
    strategy: r.strategy,
    workload: r.workload,
    explorer: r.explorer,
    schedules: r.schedules,
    exhaustive: r.exhaustive,
    elapsedMs: r.elapsedMs,
    ...(r.firstViolationMs !== undefined ? { firstViolationMs: r.firstViolationMs } : {}),
    ...(r.interleavings !== undefined ? { interleavings: r.interleavings } : {}),
    ...(r.timedOut ? { timedOut: true } : {}),
    violations: r.violations.map((v) => ({
      kind: v.kind,
      message: v.message,
      ...(v.report ? { report: v.report } : {}),
      replay: v.replay,
      steps: v.steps,
      preemptions: v.preemptions,
    })),
  };
}

/**
 * Explore one strategy. A strategy that throws (a bug in its hooks) becomes one `strategy-error`
 * finding naming it; the caller goes on with the other strategies. Returns null when dpor was
 * asked for and is not available in this build.
 */
export function exploreOne(spec: WorkloadSpec, strategy: SyncStrategy, opts: ExploreOptions): ExploreJson | null {
  const explorer = opts.explorer ?? 'random';
  const t0 = Date.now();
  try {
    return toJson(core.explore(spec, strategy, opts));
  } catch (e) {
    if (explorer === 'dpor' && firstLine(e) === DPOR_MISSING) {
      dporMissing = true;
      return null;
    }
    return {
      strategy: strategy.name,
      workload: spec.name,
      explorer,
      schedules: 0,
      exhaustive: false,
      elapsedMs: Date.now() - t0,
      violations: [{ kind: 'strategy-error', message: `strategy "${strategy.name}" threw: ${firstLine(e)}`, replay: '', steps: 0 }],
    };
  }
}

// ---- the timed simulator (core `simulate`) ----

/** core's SimResult; `error` is set by the CLI when the strategy threw. */
export type SimResult = core.SimResult & { error?: string };

export interface SimOptions {
  cpus: number;
  durationSec: number;
  seed: number;
  /** Stop early after this much wall time (the result's stoppedBy says so). */
  maxWallMs?: number;
  /** Fraction of the simulated duration done, 0..1. */
  onProgress?: (fraction: number) => void;
}

/** Run the timed simulator; a strategy that throws gives a result with `error` set. */
export function simulateOne(spec: WorkloadSpec, strategy: SyncStrategy, opts: SimOptions): SimResult {
  const t0 = Date.now();
  try {
    const { onProgress, ...rest } = opts;
    return core.simulate(spec, strategy, { ...rest, ...(onProgress ? { onProgress: (ns: number, total: number) => onProgress(total > 0 ? ns / total : 1) } : {}) });
  } catch (e) {
    return {
      strategy: strategy.name,
      workload: spec.name,
      cpus: opts.cpus,
      simulatedSeconds: 0,
      wallMs: Date.now() - t0,
      setupWallMs: 0,
      faultsPerSec: 0,
      faults: 0,
      waits: 0,
      waitTimeMs: 0,
      maxFaultWaitUs: 0,
      faultLatencyUs: { p50: 0, p99: 0, max: 0 },
      locks: [],
      ops: {},
      intervals: [],
      steps: 0,
      stoppedBy: 'completed',
      violations: [{ kind: 'strategy-error', message: `strategy "${strategy.name}" threw: ${firstLine(e)}`, seq: 0 }],
      error: `strategy "${strategy.name}" threw: ${firstLine(e)}`,
    };
  }
}

/** CPUs for a workload when not given: one per process that runs threads. */
export function defaultCpus(spec: WorkloadSpec): number {
  return Math.max(1, new Set(spec.threads.map((t) => t.process)).size);
}
