/**
 * The timed simulator's cost model: virtual nanoseconds per step cost class, plus the scheduler
 * and cache figures the simulator applies itself. Defaults live in costs.json and are documented
 * (figure, unit, source) in docs/cost-model.md. Every strategy pays the same figures.
 */
import type { CostKey } from '../engine/step.js';
import defaults from './costs.json';

/** Nanoseconds for each step cost class (multiplied by step.units), and the simulator's own figures. */
export type CostModel = Record<CostKey, number> & {
  /** Switching a CPU from a task that went to sleep to another task (or to idle), ns. */
  contextSwitch: number;
  /** From the wake-up (lock handed over, grace period ended) until the woken task runs on an idle CPU, ns. */
  wakeupLatency: number;
  /** Extra cost of an atomic on a cache line another CPU touched last, ns. */
  cacheLineTransfer: number;
  /** TLB shootdown: per other CPU that runs a thread of the same mm, ns per flush. */
  tlbIpiPerCpu: number;
  /** Scheduler time slice before a task is preempted in favour of a runnable one on the same CPU, ns. */
  timeslice: number;
};

export const COST_KEYS: readonly CostKey[] = [
  'step',
  'syscall',
  'ptWalk',
  'pteUpdate',
  'lock',
  'unlock',
  'atomic',
  'clearHugePage',
  'copyHugePage',
  'pageCacheLookup',
  'pageCacheInsert',
  'allocPage',
  'allocTable',
  'tlbFlush',
  'userAccess',
  'rcu',
];

export const SIM_COST_KEYS = ['contextSwitch', 'wakeupLatency', 'cacheLineTransfer', 'tlbIpiPerCpu', 'timeslice'] as const;

/** The default cost model (a fresh copy). */
export function defaultCosts(): CostModel {
  return { ...(defaults as CostModel) };
}

/** Defaults with overrides applied; throws a one-line error naming a bad key or value. */
export function resolveCosts(over: Partial<CostModel> = {}): CostModel {
  const out = defaultCosts();
  const known = new Set<string>([...COST_KEYS, ...SIM_COST_KEYS]);
  for (const [key, v] of Object.entries(over)) {
    if (!known.has(key)) throw new Error(`unknown cost '${key}' (known: ${[...known].join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`cost '${key}' must be a finite number of nanoseconds >= 0, got ${String(v)}`);
    (out as Record<string, number>)[key] = v;
  }
  if (out.timeslice <= 0) throw new Error(`cost 'timeslice' must be > 0 ns, got ${out.timeslice}`);
  return out;
}
