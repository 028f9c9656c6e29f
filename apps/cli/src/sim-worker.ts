/**
 * `hugesync run` on worker threads: one timed simulation per strategy, each in its own worker
 * (tinypool). Strategies are objects with functions, which cannot cross a thread boundary, so a
 * worker resolves the user's --strategy argument again (same cwd) and picks the strategy by name;
 * the workload spec is plain data and is sent as is. The simulator is deterministic, so a result
 * is the same in a worker as in the main thread (wallMs and setupWallMs aside).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import type { SyncStrategy, WorkloadSpec } from '@hugesync/core';
import { resolveStrategies } from '@hugesync/strategies';
import { simulateOne, type SimOptions, type SimResult } from './engine.js';

export interface SimTask {
  spec: WorkloadSpec;
  /** The --strategy argument as given, and the directory it is resolved from. */
  strategyArg: string;
  cwd: string;
  /** Which of the resolved strategies to run. */
  name: string;
  opts: Omit<SimOptions, 'onProgress'>;
  /** Receives the fraction done (0..1) as numbers. */
  port?: MessagePort;
}

/** Run one task (the worker's entry point; also callable inline). */
export default async function simTask(task: SimTask): Promise<SimResult> {
  const strategies = await resolveStrategies(task.strategyArg, { cwd: task.cwd });
  const s = strategies.find((x) => x.name === task.name);
  if (!s) throw new Error(`strategy "${task.name}" not found again in the worker`);
  const port = task.port;
  let last = -1;
  const r = simulateOne(task.spec, s, {
    ...task.opts,
    ...(port
      ? {
          onProgress: (f: number) => {
            // At most a thousand messages per run.
            const q = Math.floor(f * 1000);
            if (q !== last) port.postMessage((last = q) / 1000);
          },
        }
      : {}),
  });
  port?.close();
  return r;
}

/** The built worker module next to this bundle, or null when running from sources (tests): then the runs stay in-process. */
function workerFile(): string | null {
  const here = import.meta.url;
  if (!here.endsWith('.js')) return null;
  const f = fileURLToPath(new URL('./sim-worker.js', here));
  return existsSync(f) ? f : null;
}

/** Worker threads `hugesync run` uses by default: one per strategy, at most one per core. */
export function defaultSimWorkers(strategies: number): number {
  return Math.max(1, Math.min(strategies, availableParallelism()));
}

export interface RunManyOptions {
  spec: WorkloadSpec;
  strategies: SyncStrategy[];
  strategyArg: string;
  cwd: string;
  opts: Omit<SimOptions, 'onProgress'>;
  workers: number;
  /** Called with the fraction done of each strategy (index into strategies). */
  onProgress?: (i: number, fraction: number) => void;
}

/**
 * Simulate every strategy; results in the order of `strategies`. With workers > 1 (and a built
 * worker module), up to `workers` strategies run at once on worker threads; otherwise one after
 * the other in this thread.
 */
export async function simulateMany(o: RunManyOptions): Promise<SimResult[]> {
  const file = o.workers > 1 && o.strategies.length > 1 ? workerFile() : null;
  if (!file) {
    return o.strategies.map((s, i) => simulateOne(o.spec, s, { ...o.opts, onProgress: (f) => o.onProgress?.(i, f) }));
  }
  const [{ Tinypool }, { MessageChannel }] = await Promise.all([import('tinypool'), import('node:worker_threads')]);
  const n = Math.min(o.workers, o.strategies.length);
  const pool = new Tinypool({ filename: file, minThreads: n, maxThreads: n, isolateWorkers: false });
  try {
    return await Promise.all(
      o.strategies.map(async (s, i) => {
        const { port1, port2 } = new MessageChannel();
        port1.on('message', (f: number) => o.onProgress?.(i, f));
        try {
          const task: SimTask = { spec: o.spec, strategyArg: o.strategyArg, cwd: o.cwd, name: s.name, opts: o.opts, port: port2 };
          return (await pool.run(task, { transferList: [port2] })) as SimResult;
        } finally {
          port1.close();
        }
      }),
    );
  } finally {
    await pool.destroy();
  }
}
