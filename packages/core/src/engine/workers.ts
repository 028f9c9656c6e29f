/**
 * Parallel exploration (random and PCT) on worker threads (tinypool).
 *
 * The schedules are cut into chunks of CHUNK consecutive indices. A chunk always runs the same
 * way, whichever worker gets it: schedule i uses the seed-derived scheduler i (makeScheduler),
 * and the state explore() carries from one schedule to the next (the lockdep graph, PCT's
 * estimate of the run length) starts afresh at each chunk. Findings are merged by lowest
 * schedule index, so the result is the same for any worker count (the time limit aside).
 * Strategies are functions, which cannot cross a thread boundary: a worker imports the strategy
 * from `ref` (package name + export name) instead.
 */
import { fileURLToPath } from 'node:url';
import type { SyncStrategy } from '../strategy.js';
import type { WorkloadSpec } from '../workload/types.js';
import type { Violation } from './events.js';
import { LockGraph } from '../check/lockdep.js';
import { findingFrom, makeScheduler, runOnce, type ExploreOptions, type ExploreResult, type Finding } from './explore.js';
import { MachineTemplate } from '../workload/build.js';

/** Where a worker finds the strategy: `(await import(module))[export]`. */
export interface StrategyRef {
  module: string;
  export: string;
}

export interface ParallelExploreOptions extends ExploreOptions {
  /** Worker threads (default 1). */
  workers?: number;
}

/** Schedules per chunk: the unit of work, and how often explore()'s cross-schedule state restarts. */
export const PARALLEL_CHUNK = 64;

interface ChunkTask {
  spec: WorkloadSpec;
  ref: StrategyRef;
  explorer: 'random' | 'pct';
  seed: number;
  pctDepth: number;
  maxSteps?: number;
  start: number;
  end: number;
  /** Keep going after a violation (explore's `all`). */
  all: boolean;
}

interface ChunkHit {
  i: number;
  schedule: number[];
  violations: Violation[];
}

interface ChunkResult {
  start: number;
  /** Schedules run (less than end - start when it stopped at a violation). */
  done: number;
  steps: number;
  hits: ChunkHit[];
}

async function loadStrategy(ref: StrategyRef): Promise<SyncStrategy> {
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const s = mod[ref.export] as SyncStrategy | undefined;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string') throw new Error(`no strategy "${ref.export}" exported by ${ref.module}`);
  return s;
}

const strategies = new Map<string, Promise<SyncStrategy>>();
function strategyOf(ref: StrategyRef): Promise<SyncStrategy> {
  const key = `${ref.module}#${ref.export}`;
  let p = strategies.get(key);
  if (!p) strategies.set(key, (p = loadStrategy(ref)));
  return p;
}

/** Run one chunk (in a worker, or inline for workers: 1). Exported for tinypool; not an API. */
export async function exploreChunk(task: ChunkTask): Promise<ChunkResult> {
  const strategy = await strategyOf(task.ref);
  const graph = new LockGraph();
  const template = new MachineTemplate(task.spec, strategy, task.seed);
  let expected = 200;
  let steps = 0;
  const hits: ChunkHit[] = [];
  let done = 0;
  for (let i = task.start; i < task.end; i++) {
    const sched = makeScheduler(task.explorer, task.seed, i, task.pctDepth, expected);
    const { exec } = runOnce(task.spec, strategy, sched, { seed: task.seed, maxSteps: task.maxSteps, graph, template });
    done++;
    steps += exec.steps;
    expected = Math.max(expected, exec.steps);
    if (exec.violations.length > 0) {
      hits.push({ i, schedule: exec.schedule, violations: exec.violations });
      if (!task.all) break;
    }
  }
  return { start: task.start, done, steps, hits };
}

/** This module's file (the bundle it is built into): what the workers load. */
function moduleFile(): string {
  if (typeof __filename === 'string') return __filename;
  return fileURLToPath(import.meta.url);
}

/** explore() for random and PCT, on `opts.workers` threads. See the module comment for how it differs. */
export async function exploreParallel(spec: WorkloadSpec, ref: StrategyRef, opts: ParallelExploreOptions = {}): Promise<ExploreResult> {
  const explorer = opts.explorer ?? 'random';
  if (explorer !== 'random' && explorer !== 'pct') throw new Error(`exploreParallel runs the random and pct explorers, not ${explorer}`);
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer, got ${workers}`);
  const strategy = await strategyOf(ref);
  const seed = opts.seed ?? 1;
  const n = opts.schedules ?? 1000;
  const all = opts.all === true;
  const t0 = Date.now();
  const tasks: ChunkTask[] = [];
  for (let start = 0; start < n; start += PARALLEL_CHUNK) {
    tasks.push({ spec, ref, explorer, seed, pctDepth: opts.pctDepth ?? 3, maxSteps: opts.maxSteps, start, end: Math.min(n, start + PARALLEL_CHUNK), all });
  }
  const results: Array<ChunkResult | undefined> = new Array(tasks.length);
  let timedOut = false;
  /** Lowest chunk index with a violation (when not `all`, later chunks are not needed). */
  let firstHit = Infinity;
  let next = 0;
  let doneCount = 0;
  const take = (): number | null => {
    if (next >= tasks.length || next > firstHit) return null;
    if (opts.timeLimitMs !== undefined && Date.now() - t0 > opts.timeLimitMs) {
      timedOut = true;
      return null;
    }
    return next++;
  };
  const record = (ci: number, r: ChunkResult): void => {
    results[ci] = r;
    doneCount += r.done;
    opts.onProgress?.(doneCount);
    if (!all && r.hits.length > 0) firstHit = Math.min(firstHit, ci);
  };
  if (workers === 1) {
    for (let ci = take(); ci !== null; ci = take()) record(ci, await exploreChunk(tasks[ci]!));
  } else {
    const { Tinypool } = await import('tinypool');
    const pool = new Tinypool({ filename: moduleFile(), minThreads: workers, maxThreads: workers, isolateWorkers: false });
    try {
      const lane = async (): Promise<void> => {
        for (let ci = take(); ci !== null; ci = take()) record(ci, (await pool.run(tasks[ci]!, { name: 'exploreChunk' })) as ChunkResult);
      };
      await Promise.all(Array.from({ length: workers }, lane));
    } finally {
      await pool.destroy();
    }
  }
  // Merge in schedule order: the first finding of each kind comes from the lowest schedule index.
  const found = new Map<string, Finding>();
  let schedules = 0;
  for (let ci = 0; ci < results.length; ci++) {
    const r = results[ci];
    if (!r) break;
    schedules += r.done;
    for (const h of r.hits) {
      for (const v of h.violations) {
        if (found.has(v.kind)) continue;
        found.set(v.kind, findingFrom(spec, strategy, explorer, seed, v, h.schedule, opts.maxSteps, opts.minimize !== false));
      }
    }
    if (!all && r.hits.length > 0) break;
  }
  return {
    strategy: strategy.name,
    workload: spec.name,
    explorer,
    schedules,
    exhaustive: false,
    elapsedMs: Date.now() - t0,
    violations: [...found.values()],
    ...(timedOut ? { timedOut } : {}),
  };
}
