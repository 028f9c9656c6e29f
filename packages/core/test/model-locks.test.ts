/**
 * Lock primitives pinned against the kernel:
 * kernel/locking/rwsem.c @ v5.6 (rwsem_down_read_slowpath: a reader queues when there are waiters;
 * rwsem_mark_wake: all queued readers are woken together; __down_write_trylock / __down_read_trylock
 * fail while RWSEM_FLAG_WAITERS is set), kernel/locking/mutex.c @ v5.6 (handoff to the first waiter),
 * kernel/sched/core.c ___might_sleep (sleeping in atomic context),
 * kernel/rcu/tree.c synchronize_rcu / call_rcu @ v6.1 (grace periods wait only for pre-existing readers).
 */
import { describe, it, expect } from 'vitest';
import { RwSem, Mutex, SpinLock, lock, unlock, trylock, rcuReadLock, rcuReadUnlock, synchronizeRcu, callRcu, execute, type Kernel, type Lock, type KGen, type Ctx, type HoldMode } from '../src/index.js';
import { kernel, spawn, stepOnce, kinds } from './model-helpers.js';

/** A task that takes l in mode, then (when stepped again) releases it. */
function holder(l: Lock, mode: HoldMode) {
  return function* (c: Ctx): KGen {
    yield* lock(c.k, c.t, l, mode, 'test_take');
    yield* unlock(c.k, c.t, l, mode, 'test_release');
  };
}

function setup(): { k: Kernel; rw: RwSem } {
  return { k: kernel(1), rw: new RwSem('rwsem:test', 'test_rwsem') };
}

describe('rwsem (kernel/locking/rwsem.c @ v5.6)', () => {
  it('a waiting writer blocks a new reader (rwsem_down_read_slowpath queues behind waiters)', () => {
    const { k, rw } = setup();
    const r1 = spawn(k, 'R1', holder(rw, 'read'));
    const w = spawn(k, 'W', holder(rw, 'write'));
    const r2 = spawn(k, 'R2', holder(rw, 'read'));
    stepOnce(k, r1); // R1 holds read
    expect(rw.readers.has(r1)).toBe(true);
    stepOnce(k, w); // W queues
    expect(w.runnable).toBe(false);
    expect(w.waitingOn).toBe(rw);
    stepOnce(k, r2); // R2 must queue behind W although only readers hold the lock
    expect(r2.runnable).toBe(false);
    expect(rw.readers.size).toBe(1);
    expect(rw.waiters.map((x) => x.t.name)).toEqual(['W', 'R2']);
    stepOnce(k, r1); // R1 releases: handoff to W, R2 still waits
    expect(rw.writer).toBe(w);
    expect(w.runnable).toBe(true);
    expect(r2.runnable).toBe(false);
    stepOnce(k, w); // W wakes with the lock
    stepOnce(k, w); // W releases: R2 gets it
    expect(rw.readers.has(r2)).toBe(true);
    expect(r2.runnable).toBe(true);
    stepOnce(k, r2);
    stepOnce(k, r2);
    expect([r1, w, r2].every((t) => t.done)).toBe(true);
    expect(k.violations).toEqual([]);
  });

  it('readers queued behind a writer are all woken together when it releases (rwsem_mark_wake)', () => {
    const { k, rw } = setup();
    const w = spawn(k, 'W', holder(rw, 'write'));
    const rs = ['R1', 'R2', 'R3'].map((n) => spawn(k, n, holder(rw, 'read')));
    stepOnce(k, w);
    for (const r of rs) stepOnce(k, r);
    expect(rs.every((r) => !r.runnable)).toBe(true);
    stepOnce(k, w); // up_write
    expect(rw.readers.size).toBe(3);
    expect(rs.every((r) => r.runnable)).toBe(true);
    expect(rw.waiters).toEqual([]);
  });

  it('down_write_trylock and down_read_trylock fail while waiters are queued; succeed on a free lock', () => {
    const { k, rw } = setup();
    const r1 = spawn(k, 'R1', holder(rw, 'read'));
    const w = spawn(k, 'W', holder(rw, 'write'));
    let wt: boolean | undefined;
    let rt: boolean | undefined;
    const tw = spawn(k, 'TW', function* (c) {
      wt = yield* trylock(c.k, c.t, rw, 'write', 'try_w');
    });
    const tr = spawn(k, 'TR', function* (c) {
      rt = yield* trylock(c.k, c.t, rw, 'read', 'try_r');
    });
    stepOnce(k, r1);
    stepOnce(k, w);
    stepOnce(k, tw);
    stepOnce(k, tr);
    expect(wt).toBe(false);
    expect(rt).toBe(false);
    expect(rw.waiters.length).toBe(1); // a failed trylock does not queue
    expect(tw.done && tr.done).toBe(true);
    // Once everyone is gone the trylock succeeds.
    stepOnce(k, r1);
    stepOnce(k, w);
    stepOnce(k, w);
    let ok: boolean | undefined;
    const t3 = spawn(k, 'T3', function* (c) {
      ok = yield* trylock(c.k, c.t, rw, 'write', 'try_w');
      if (ok) yield* unlock(c.k, c.t, rw, 'write', 'try_w');
    });
    execute(k, { pick: (r) => r[0]! });
    expect(ok).toBe(true);
    expect(t3.done).toBe(true);
    expect(k.violations).toEqual([]);
  });
});

describe('mutex (kernel/locking/mutex.c @ v5.6)', () => {
  it('hands the lock to waiters in FIFO order; a newcomer does not steal it', () => {
    const k = kernel(1);
    const m = new Mutex('mutex:test', 'test_mutex');
    const order: string[] = [];
    k.bus.on('lock:acquired', (t) => order.push(t.name));
    const ts = ['M1', 'M2', 'M3'].map((n) => spawn(k, n, holder(m, 'write')));
    for (const t of ts) stepOnce(k, t);
    expect(m.owner).toBe(ts[0]);
    stepOnce(k, ts[0]!); // unlock: M2 becomes owner at once
    expect(m.owner).toBe(ts[1]);
    const late = spawn(k, 'M4', function* (c) {
      const got = yield* trylock(c.k, c.t, m, 'write', 'try');
      expect(got).toBe(false);
    });
    stepOnce(k, late);
    execute(k, { pick: (r) => r[r.length - 1]! }); // prefer the newest runnable thread: order still FIFO
    expect(order).toEqual(['M1', 'M2', 'M3']);
    expect(k.violations).toEqual([]);
  });
});

describe('atomic context (kernel/sched/core.c ___might_sleep)', () => {
  it('a sleeping lock taken under a spinlock reports sleep-in-atomic', () => {
    const k = kernel(1);
    const s = new SpinLock('spin:test', 'test_spin');
    const m = new Mutex('mutex:test', 'test_mutex');
    const t = spawn(k, 'T', function* (c) {
      yield* lock(c.k, c.t, s, 'write', 'outer');
      yield* lock(c.k, c.t, m, 'write', 'inner');
      yield* unlock(c.k, c.t, m, 'write', 'inner');
      yield* unlock(c.k, c.t, s, 'write', 'outer');
    });
    stepOnce(k, t);
    expect(t.atomic).toBe(1);
    execute(k, { pick: (r) => r[0]! });
    expect(kinds(k.violations)).toEqual(['sleep-in-atomic']);
    expect(k.violations[0]!.message).toMatch(/mutex_lock\(test_mutex\) in inner inside atomic context \(holding test_spin\)/);
    expect(t.atomic).toBe(0);
  });

  it('a spinlock under a spinlock, or a trylock of a sleeping lock, is fine', () => {
    const k = kernel(1);
    const s1 = new SpinLock('spin:a', 'a');
    const s2 = new SpinLock('spin:b', 'b');
    const m = new Mutex('mutex:test', 'test_mutex');
    spawn(k, 'T', function* (c) {
      yield* lock(c.k, c.t, s1, 'write', 'f');
      yield* lock(c.k, c.t, s2, 'write', 'f');
      if (yield* trylock(c.k, c.t, m, 'write', 'f')) yield* unlock(c.k, c.t, m, 'write', 'f');
      yield* unlock(c.k, c.t, s2, 'write', 'f');
      yield* unlock(c.k, c.t, s1, 'write', 'f');
    });
    execute(k, { pick: (r) => r[0]! });
    expect(k.violations).toEqual([]);
  });

  it('sleeping inside an RCU read-side critical section is reported too', () => {
    const k = kernel(1);
    const m = new Mutex('mutex:test', 'test_mutex');
    spawn(k, 'T', function* (c) {
      yield* rcuReadLock(c.k, c.t, 'f');
      yield* lock(c.k, c.t, m, 'write', 'f');
      yield* unlock(c.k, c.t, m, 'write', 'f');
      yield* rcuReadUnlock(c.k, c.t, 'f');
    });
    execute(k, { pick: (r) => r[0]! });
    expect(kinds(k.violations)).toEqual(['sleep-in-atomic']);
    expect(k.violations[0]!.message).toMatch(/RCU read-side critical section/);
  });
});

describe('RCU (kernel/rcu/tree.c @ v6.1)', () => {
  const reader = function* (c: Ctx): KGen {
    yield* rcuReadLock(c.k, c.t, 'reader');
    yield* rcuReadUnlock(c.k, c.t, 'reader');
  };

  it('synchronize_rcu waits for a reader that started before it, not for one that started after', () => {
    const k = kernel(1);
    const early = spawn(k, 'early', reader);
    const sync = spawn(k, 'sync', function* (c) {
      yield* synchronizeRcu(c.k, c.t, 'updater');
    });
    const late = spawn(k, 'late', reader);
    stepOnce(k, early); // rcu_read_lock
    stepOnce(k, sync); // grace period starts
    stepOnce(k, late); // rcu_read_lock after the GP started
    expect(sync.runnable).toBe(false); // waits for `early`
    stepOnce(k, early); // rcu_read_unlock
    expect(sync.runnable).toBe(true); // `late` is still inside its section, but is not waited for
    expect(late.rcuDepth).toBe(1);
    stepOnce(k, sync);
    expect(sync.done).toBe(true);
    stepOnce(k, late);
    expect(k.violations).toEqual([]);
  });

  it('call_rcu callbacks run only after the grace period', () => {
    const k = kernel(1);
    let ran = 0;
    const rdr = spawn(k, 'reader', reader);
    const upd = spawn(k, 'updater', function* (c) {
      yield* callRcu(c.k, c.t, 'updater', 'free_it', () => ran++);
    });
    stepOnce(k, rdr);
    stepOnce(k, upd);
    const cb = k.threads.find((t) => t.daemon)!;
    expect(cb).toBeDefined();
    expect(cb.runnable).toBe(false);
    expect(ran).toBe(0);
    stepOnce(k, rdr); // the reader leaves: the grace period ends
    expect(cb.runnable).toBe(true);
    stepOnce(k, cb);
    expect(ran).toBe(1);
    expect(cb.runnable).toBe(false);
  });
});

describe('isHeldBy (recursive-locking check in beforeAcquire)', () => {
  it('agrees with holders() for readers, a writer, an owner and a non-holder', () => {
    const { k, rw } = setup();
    const m = new Mutex('mutex:test', 'test_mutex');
    const r1 = spawn(k, 'R1', holder(rw, 'read'));
    const r2 = spawn(k, 'R2', holder(rw, 'read'));
    const w = spawn(k, 'W', holder(rw, 'write'));
    const mo = spawn(k, 'M', holder(m, 'write'));
    const agree = () => {
      for (const t of [r1, r2, w, mo]) {
        expect(rw.isHeldBy(t)).toBe(rw.holders().includes(t));
        expect(m.isHeldBy(t)).toBe(m.holders().includes(t));
      }
    };
    agree();
    stepOnce(k, r1);
    stepOnce(k, r2);
    stepOnce(k, mo);
    expect(rw.isHeldBy(r1) && rw.isHeldBy(r2) && !rw.isHeldBy(w)).toBe(true);
    expect(m.isHeldBy(mo)).toBe(true);
    agree();
    stepOnce(k, w); // queues: a waiter does not hold the lock
    expect(rw.isHeldBy(w)).toBe(false);
    stepOnce(k, r1);
    stepOnce(k, r2); // handoff to W
    expect(rw.isHeldBy(w) && !rw.isHeldBy(r1)).toBe(true);
    stepOnce(k, mo);
    expect(m.isHeldBy(mo)).toBe(false);
    agree();
  });
});
