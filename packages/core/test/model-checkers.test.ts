/**
 * Lock checkers pinned against the kernel's debugging facilities:
 * kernel/locking/lockdep.c @ v5.6 (print_circular_bug: "possible circular locking dependency detected",
 * check_noncircular on every blocking acquisition, so an inversion is reported without a deadlock;
 * lockdep_sys_exit / debug_check_no_locks_held: a task returning with locks held;
 * print_unlock_imbalance_bug: releasing a lock the task does not hold),
 * and a real deadlock: every live task blocked, with the wait-for cycle.
 */
import { describe, it, expect } from 'vitest';
import { Mutex, lock, unlock, execute, attachLockdep, LockGraph, type Ctx, type KGen, type Thread } from '../src/index.js';
import { kernel, spawn, kinds } from './model-helpers.js';

function ab(a: Mutex, b: Mutex, fn: string) {
  return function* (c: Ctx): KGen {
    yield* lock(c.k, c.t, a, 'write', fn);
    yield* lock(c.k, c.t, b, 'write', fn);
    yield* unlock(c.k, c.t, b, 'write', fn);
    yield* unlock(c.k, c.t, a, 'write', fn);
  };
}

/** A scheduler that follows a script of thread names, then lowest id first. */
function script(names: string[]) {
  let i = 0;
  return {
    pick: (r: readonly Thread[]) => {
      while (i < names.length) {
        const t = r.find((x) => x.name === names[i]);
        i++;
        if (t) return t;
      }
      return r[0]!;
    },
  };
}

describe('lock-imbalance (lockdep debug_check_no_locks_held / print_unlock_imbalance_bug)', () => {
  it('a thread that ends with a lock held is reported, naming the lock and where it was taken', () => {
    const k = kernel(1);
    const m = new Mutex('mutex:x', 'x_mutex');
    spawn(k, 'T', function* (c) {
      yield* lock(c.k, c.t, m, 'write', 'leaky_path');
    });
    execute(k, { pick: (r) => r[0]! });
    expect(kinds(k.violations)).toEqual(['lock-imbalance']);
    expect(k.violations[0]!.message).toBe('T exited with x_mutex held (write, taken in leaky_path)');
  });

  it('an unlock by a thread that is not the owner is reported and leaves the owner in place', () => {
    const k = kernel(1);
    const m = new Mutex('mutex:x', 'x_mutex');
    const owner = spawn(k, 'owner', ab(m, new Mutex('mutex:y', 'y_mutex'), 'f'));
    k.stepThread(owner); // owner holds x
    spawn(k, 'thief', function* (c) {
      yield* unlock(c.k, c.t, m, 'write', 'bad_unlock');
    });
    execute(k, { pick: (r) => r[r.length - 1]! }); // thief first
    const imb = k.violations.filter((v) => v.kind === 'lock-imbalance');
    expect(imb.length).toBe(1);
    expect(imb[0]!.message).toBe('thief releases x_mutex (write) in bad_unlock but does not hold it (held by owner)');
    expect(owner.done).toBe(true);
  });
});

describe('deadlock: wait-for cycle', () => {
  it('two threads, two mutexes taken in opposite orders, interleaved: reported with the cycle', () => {
    const k = kernel(1);
    const a = new Mutex('mutex:A', 'A');
    const b = new Mutex('mutex:B', 'B');
    spawn(k, 'T1', ab(a, b, 'path_one'));
    spawn(k, 'T2', ab(b, a, 'path_two'));
    const r = execute(k, script(['T1', 'T2', 'T1', 'T2']));
    expect(r.completed).toBe(false);
    const d = r.violations.filter((v) => v.kind === 'deadlock');
    expect(d.length).toBe(1);
    expect(d[0]!.message).toMatch(/wait-for cycle (T1 -\[B\]-> T2 -\[A\]-> T1|T2 -\[A\]-> T1 -\[B\]-> T2)/);
    expect(d[0]!.report).toContain('T1 waits for B (mutex:B) in path_one, held by T2');
    expect(d[0]!.report).toContain('T2 waits for A (mutex:A) in path_two, held by T1');
  });

  it('the same threads run one after the other do not deadlock', () => {
    const k = kernel(1);
    const a = new Mutex('mutex:A', 'A');
    const b = new Mutex('mutex:B', 'B');
    spawn(k, 'T1', ab(a, b, 'path_one'));
    spawn(k, 'T2', ab(b, a, 'path_two'));
    const r = execute(k, { pick: (rr) => rr[0]! });
    expect(r.completed).toBe(true);
    expect(r.violations).toEqual([]);
  });
});

describe('lock-order (lockdep check_noncircular)', () => {
  it('opposite orders taken sequentially, with no deadlock, are reported in lockdep\'s layout', () => {
    const k = kernel(1);
    attachLockdep(k, new LockGraph());
    const a = new Mutex('mutex:A', 'lock_A');
    const b = new Mutex('mutex:B', 'lock_B');
    spawn(k, 'T1', ab(a, b, 'path_one'));
    spawn(k, 'T2', ab(b, a, 'path_two'));
    const r = execute(k, { pick: (rr) => rr[0]! });
    expect(r.completed).toBe(true);
    expect(kinds(r.violations)).toEqual(['lock-order']);
    const v = r.violations[0]!;
    expect(v.thread).toBe('T2');
    expect(v.message).toMatch(/T2 acquires lock_A in path_two while holding lock_B/);
    const rep = v.report!;
    const lines = rep.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(at('WARNING: possible circular locking dependency detected')).toBeGreaterThanOrEqual(0);
    expect(rep).toContain('T2 is trying to acquire lock:');
    expect(rep).toContain('(lock_A)');
    expect(rep).toContain('but task is already holding lock:');
    expect(rep).toContain('which lock already depends on the new lock.');
    expect(rep).toContain('the existing dependency chain (in reverse order) is:');
    // Sections in lockdep's order.
    expect(at('WARNING: possible')).toBeLessThan(at('is trying to acquire lock'));
    expect(at('is trying to acquire lock')).toBeLessThan(at('but task is already holding lock'));
    expect(at('existing dependency chain')).toBeLessThan(at('Possible unsafe locking scenario'));
    expect(at('Possible unsafe locking scenario')).toBeLessThan(at('*** DEADLOCK ***'));
    // The scenario: CPU0 lock(lock_B); CPU1 lock(lock_A); CPU1 lock(lock_B); CPU0 lock(lock_A).
    const sc = lines.slice(at('Possible unsafe locking scenario'), at('*** DEADLOCK ***'));
    expect(sc.some((l) => /CPU0\s+CPU1/.test(l))).toBe(true);
    const locks = sc.map((l) => l.match(/lock\((lock_[AB])\)/)?.[1]).filter(Boolean);
    expect(locks).toEqual(['lock_B', 'lock_A', 'lock_B', 'lock_A']);
    expect(rep).toMatch(/1 lock held by T2:\n #0: \(lock_B\)/);
    // print_circular_bug: "-> #1" is the held lock with the stack that recorded lock_A -> lock_B (T1),
    // "-> #0" is the lock being acquired with the current stack (T2).
    const e1 = at('-> #1 (lock_B)');
    const e0 = at('-> #0 (lock_A)');
    expect(e1).toBeGreaterThan(at('existing dependency chain'));
    expect(e0).toBeGreaterThan(e1);
    expect(lines.slice(e1, e0).join('\n')).toContain('path_one');
    expect(lines.slice(e1, e0).join('\n')).not.toContain('path_two');
    expect(lines.slice(e0, at('Possible unsafe')).join('\n')).toContain('path_two');
    expect(rep).not.toMatch(/-> #2/);
    // "other info that might help us debug this:" always precedes the scenario; no "Chain exists of" for a direct inversion.
    expect(at('other info that might help us debug this:')).toBeGreaterThan(e0);
    expect(at('other info that might help us debug this:')).toBeLessThan(at('Possible unsafe'));
    expect(rep).not.toContain('Chain exists of');
  });

  it('a three-lock chain prints every link, "Chain exists of: A --> C --> B" and the scenario with the parent class', () => {
    const k = kernel(1);
    attachLockdep(k, new LockGraph());
    const a = new Mutex('mutex:A', 'lock_A');
    const b = new Mutex('mutex:B', 'lock_B');
    const cm = new Mutex('mutex:C', 'lock_C');
    spawn(k, 'T1', ab(a, cm, 'take_a_then_c'));
    spawn(k, 'T2', ab(cm, b, 'take_c_then_b'));
    spawn(k, 'T3', ab(b, a, 'take_b_then_a'));
    const r = execute(k, { pick: (rr) => rr[0]! });
    expect(kinds(r.violations)).toEqual(['lock-order']);
    const rep = r.violations[0]!.report!;
    const lines = rep.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    const e2 = at('-> #2 (lock_B)');
    const e1 = at('-> #1 (lock_C)');
    const e0 = at('-> #0 (lock_A)');
    expect(e2).toBeGreaterThan(0);
    expect(e1).toBeGreaterThan(e2);
    expect(e0).toBeGreaterThan(e1);
    expect(lines.slice(e2, e1).join('\n')).toContain('take_c_then_b');
    expect(lines.slice(e1, e0).join('\n')).toContain('take_a_then_c');
    expect(lines.slice(e0, at('other info')).join('\n')).toContain('take_b_then_a');
    expect(rep).toContain('Chain exists of:\n  lock_A --> lock_C --> lock_B');
    const sc = lines.slice(at('Possible unsafe locking scenario'), at('*** DEADLOCK ***'));
    expect(sc.map((l) => l.match(/lock\((lock_[ABC])\)/)?.[1]).filter(Boolean)).toEqual(['lock_B', 'lock_C', 'lock_B', 'lock_A']);
  });

  it('the same order in both threads is not reported', () => {
    const k = kernel(1);
    attachLockdep(k, new LockGraph());
    const a = new Mutex('mutex:A', 'lock_A');
    const b = new Mutex('mutex:B', 'lock_B');
    spawn(k, 'T1', ab(a, b, 'path_one'));
    spawn(k, 'T2', ab(a, b, 'path_two'));
    expect(execute(k, { pick: (rr) => rr[0]! }).violations).toEqual([]);
  });
});
