import type { Kernel } from '../engine/kernel.js';
import type { KGen, CostKey } from '../engine/step.js';
import type { Thread, HoldMode } from '../engine/thread.js';
import { lock, trylock, unlock, type Lock } from '../kernel/locks.js';

/** What every kernel path runs with: the machine and the current task. */
export interface Ctx {
  readonly k: Kernel;
  readonly t: Thread;
}

export const lockIt = (c: Ctx, l: Lock, mode: HoldMode, fn: string): KGen => lock(c.k, c.t, l, mode, fn);
export const trylockIt = (c: Ctx, l: Lock, mode: HoldMode, fn: string): KGen<boolean> => trylock(c.k, c.t, l, mode, fn);
export const unlockIt = (c: Ctx, l: Lock, mode: HoldMode, fn: string): KGen => unlock(c.k, c.t, l, mode, fn);

/** A read of a modelled shared object (a scheduling point). */
export function* rd(c: Ctx, fn: string, obj: string, label: string | (() => string), cost: CostKey = 'step'): KGen {
  yield { fn, obj, access: 'read', label, cost, run: () => c.k.bus.emit('mem:access', c.t, obj, false, fn) };
}
/** A write of a modelled shared object (a scheduling point). */
export function* wr(c: Ctx, fn: string, obj: string, label: string | (() => string), cost: CostKey = 'step', units = 1): KGen {
  yield { fn, obj, access: 'write', label, cost, units, run: () => c.k.bus.emit('mem:access', c.t, obj, true, fn) };
}
/** An atomic update whose result the path does not use (atomic_inc/dec): commutes with others of its kind. */
export function* upd(c: Ctx, fn: string, obj: string, label: string | (() => string), cost: CostKey = 'atomic'): KGen {
  yield { fn, obj, access: 'write', commutes: true, label, cost, run: () => c.k.bus.emit('mem:access', c.t, obj, true, fn) };
}
/** Local work that touches nothing shared (e.g. clear_huge_page): a scheduling point with a cost. */
export function* work(_c: Ctx, fn: string, label: string | (() => string), cost: CostKey, units = 1): KGen {
  yield { fn, obj: '', access: 'none', label, cost, units };
}
