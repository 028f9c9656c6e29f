/**
 * RCU: read-side sections per task, synchronize_rcu() waiting for a grace period, and call_rcu()
 * callbacks run by a service thread (the RCU callback kthread) once their grace period ended.
 * A grace period started at time G ends once every task that was inside a read-side section at G
 * has left it (its count of outermost rcu_read_unlock()s advanced).
 */
import type { KGen } from '../engine/step.js';
import type { Thread } from '../engine/thread.js';
import type { Kernel } from '../engine/kernel.js';

interface Snapshot {
  readers: Array<[Thread, number]>;
}

interface Callback {
  snap: Snapshot;
  fn: () => void;
  label: string;
  /** The object the callback acts on (its footprint), or the RCU state when unknown. */
  obj: string;
}

export class Rcu {
  readonly callbacks: Callback[] = [];
  readonly obj = 'rcu:state';

  snapshot(k: Kernel): Snapshot {
    const readers: Array<[Thread, number]> = [];
    for (const t of k.threads) if (t.rcuDepth > 0) readers.push([t, t.rcuExits]);
    return { readers };
  }
  static elapsed(s: Snapshot): boolean {
    for (const [t, exits] of s.readers) if (t.rcuExits === exits && !t.done) return false;
    return true;
  }
  /**
   * The callback to run next: the oldest, once its grace period has elapsed. Grace periods end in
   * the order they start (a reader that holds up a later callback's grace period was inside, or
   * entered, no earlier than the readers of an earlier one), so callbacks run in queue order.
   */
  readyCallback(): Callback | null {
    const c = this.callbacks[0];
    return c && Rcu.elapsed(c.snap) ? c : null;
  }
}

/** include/linux/rcupdate.h rcu_read_lock() @ v6.1 */
export function* rcuReadLock(k: Kernel, t: Thread, fn: string): KGen {
  yield {
    fn,
    obj: '',
    access: 'none',
    label: 'rcu_read_lock()',
    cost: 'rcu',
    run: () => {
      t.rcuDepth++;
      k.emitRcu(t, 'lock');
    },
  };
}

/** include/linux/rcupdate.h rcu_read_unlock() @ v6.1 */
export function* rcuReadUnlock(k: Kernel, t: Thread, fn: string): KGen {
  yield {
    fn,
    obj: '',
    access: 'none',
    label: 'rcu_read_unlock()',
    cost: 'rcu',
    run: () => {
      t.rcuDepth--;
      if (t.rcuDepth === 0) t.rcuExits++;
      k.emitRcu(t, 'unlock');
    },
  };
}

/** kernel/rcu/tree.c synchronize_rcu() @ v6.1: sleep until a full grace period has elapsed. */
export function* synchronizeRcu(k: Kernel, t: Thread, fn: string): KGen {
  let snap: Snapshot | null = null;
  yield {
    fn,
    obj: k.rcu.obj,
    access: 'write',
    label: 'synchronize_rcu()',
    cost: 'rcu',
    run: () => {
      k.checkMaySleep(t, 'synchronize_rcu', fn);
      snap = k.rcu.snapshot(k);
    },
  };
  const s = snap!;
  yield {
    fn,
    obj: k.rcu.obj,
    access: 'read',
    label: 'synchronize_rcu() [grace period ended]',
    sleeping: true,
    blocked: () => !Rcu.elapsed(s),
  };
}

/** kernel/rcu/tree.c call_rcu() @ v6.1: queue fn to run after a grace period. */
export function* callRcu(k: Kernel, _t: Thread, fn: string, label: string, cb: () => void, obj: string = k.rcu.obj): KGen {
  yield {
    fn,
    obj: k.rcu.obj,
    access: 'write',
    label: `call_rcu(${label})`,
    cost: 'rcu',
    run: () => {
      k.rcu.callbacks.push({ snap: k.rcu.snapshot(k), fn: cb, label, obj });
      k.ensureRcuThread();
    },
  };
}

/** kernel/rcu/tree.c rcu_do_batch() @ v6.1: the callback kthread, one callback per step. */
export function* rcuCallbackThread(k: Kernel): KGen {
  for (;;) {
    let ran: string | null = null;
    yield {
      fn: 'rcu_do_batch',
      // The footprint is the next callback's object: it stays the head of the queue until this
      // runs, and is kept once it ran (the step's record is read after its effect).
      get obj() {
        return ran ?? k.rcu.callbacks[0]?.obj ?? k.rcu.obj;
      },
      access: 'write',
      label: 'rcu callback',
      sleeping: true,
      blocked: () => k.rcu.readyCallback() === null,
      run: () => {
        const c = k.rcu.readyCallback();
        if (!c) return;
        ran = c.obj;
        k.rcu.callbacks.shift();
        c.fn();
      },
    };
  }
}
