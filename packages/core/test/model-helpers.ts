/** Helpers for the model-rule tests: small kernels built by hand and run one task at a time. */
import { Kernel, execute, noneStrategy, stepLabel, type Ctx, type KGen, type Thread, type SyncStrategy, type Violation } from '../src/index.js';

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
/** A PUD-aligned user address (1 GiB aligned), like the workload builder's base. */
export const BASE = 0x7f00_0000_0000;

export function kernel(hugePages = 16, strategy: SyncStrategy = noneStrategy, overcommit = 0): Kernel {
  return new Kernel(strategy, { hugePages, overcommit });
}

/** Lowest-id-first: a thread runs to completion before the next one starts. */
export const sequential = { pick: (r: readonly Thread[]) => r[0]! };

/** Spawn one task running `body` and run it (and anything else runnable) to completion; return its result. */
export function run<T>(k: Kernel, name: string, proc: string, body: (c: Ctx) => KGen<T>): T {
  const t = k.spawn(name, proc, (self) => body({ k, t: self }));
  const r = execute(k, sequential);
  if (!t.done) throw new Error(`${name} did not finish: ${r.violations.map((v) => v.message).join('; ')}`);
  return t.result as T;
}

/** Spawn a task without running it. */
export function spawn<T>(k: Kernel, name: string, body: (c: Ctx) => KGen<T>, proc = ''): Thread {
  return k.spawn(name, proc, (self) => body({ k, t: self }));
}

/** Step a thread by hand; fails if it is not runnable. */
export function stepOnce(k: Kernel, t: Thread): void {
  if (!t.runnable) throw new Error(`${t.name} is not runnable (pending: ${t.pending ? stepLabel(t.pending) : 'done'})`);
  k.stepThread(t);
}

/** Step t until its pending step's label matches (or it finishes). */
export function stepUntil(k: Kernel, t: Thread, label: RegExp, max = 1000): void {
  for (let i = 0; i < max && !t.done && !label.test(stepLabel(t.pending!)); i++) stepOnce(k, t);
  if (t.done) throw new Error(`${t.name} finished before a step matching ${label}`);
}

export const kinds = (vs: readonly Violation[]): string[] => vs.map((v) => v.kind);
