/** The data of one `hugesync compare` run, as the HTML report draws it. Plain JSON (no classes). */
export interface CompareReport {
  /** When the report was made (ISO 8601). Leave it out for byte-identical reports of identical runs. */
  generatedAt?: string;
  /** The command line that produced the data, shown verbatim. */
  command: string;
  strategies: ReportStrategy[];
  workloads: ReportWorkload[];
  /** Race exploration results, one per (strategy, workload, explorer). */
  explore: ReportExplore[];
  /** Timed-simulator results, one per (strategy, perf workload). */
  run: ReportRun[];
}

export interface ReportStrategy {
  name: string;
  description: string;
  seed: number;
  /** npm package the strategy came from. */
  package: string;
}

export interface ReportWorkload {
  name: string;
  tags: string[];
  description: string;
}

export interface ReportViolation {
  kind: string;
  message: string;
  /** Replay token (`hugesync replay <token>`). */
  replay: string;
  /** Steps in the (minimised) schedule. */
  steps: number;
}

export interface ReportExplore {
  strategy: string;
  workload: string;
  explorer: string;
  schedules: number;
  /** Every interleaving (up to equivalence) was covered. */
  exhaustive: boolean;
  elapsedMs: number;
  /** Plain interleavings the workload has (dpor), or an estimate. */
  interleavings?: string;
  violations: ReportViolation[];
  /** The exploration stopped on its time limit. */
  timedOut?: boolean;
}

export interface ReportLockStat {
  /** Lock class, as /proc/lock_stat names it. */
  name: string;
  acquisitions: number;
  contended: number;
  waitTimeMs: number;
  maxWaitUs: number;
}

export interface ReportRun {
  strategy: string;
  workload: string;
  cpus: number;
  simulatedSeconds: number;
  wallMs: number;
  faultsPerSec: number;
  waits: number;
  waitTimeMs: number;
  maxFaultWaitUs: number;
  faultLatencyUs: { p50: number; p99: number; max: number };
  locks: ReportLockStat[];
  /** The run failed; the message says why (its numbers are not drawn). */
  error?: string;
}
