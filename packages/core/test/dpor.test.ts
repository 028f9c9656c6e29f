import { describe, it, expect } from 'vitest';
import {
  Kernel,
  Mutex,
  PmdTable,
  RwSem,
  Rng,
  execute,
  explore,
  lock,
  unlock,
  rcuReadLock,
  rcuReadUnlock,
  synchronizeRcu,
  noneStrategy,
  footprintOf,
  dependent,
  dporSearch,
  countInterleavings,
  runDpor,
  replaySchedule,
  type DporTarget,
  type KGen,
  type Step,
  type Thread,
  type WorkloadSpec,
} from '../src/index.js';
import { faultTruncateRace, mapping, pmdUnshareRace } from './fixtures.js';

const MiB = 2 ** 20;

describe('dpor: dependency relation', () => {
  const s = (obj: string, access: Step['access'], extra: Partial<Step> = {}): Step => ({ fn: 'f', obj, access, label: 'x', ...extra });
  it('two reads commute, a write conflicts, different objects and none commute', () => {
    const r = footprintOf(s('o', 'read'));
    const w = footprintOf(s('o', 'write'));
    expect(dependent(r, footprintOf(s('o', 'read')))).toBe(false);
    expect(dependent(r, w)).toBe(true);
    expect(dependent(w, footprintOf(s('p', 'write')))).toBe(false);
    expect(dependent(w, footprintOf(s('', 'none')))).toBe(false);
    expect(dependent(w, footprintOf(s('o', 'none')))).toBe(false);
  });
  it('lock steps on one lock conflict; rcu readers conflict with grace periods, not with each other', () => {
    expect(dependent(footprintOf(s('mutex:a', 'acquire')), footprintOf(s('mutex:a', 'release')))).toBe(true);
    expect(dependent(footprintOf(s('mutex:a', 'acquire')), footprintOf(s('mutex:b', 'acquire')))).toBe(false);
    const reader = footprintOf(s('', 'none', { cost: 'rcu' }));
    expect(dependent(reader, footprintOf(s('', 'none', { cost: 'rcu' })))).toBe(false);
    expect(dependent(reader, footprintOf(s('rcu:state', 'read')))).toBe(true);
    expect(dependent(reader, footprintOf(s('rcu:state', 'write', { cost: 'rcu' })))).toBe(true);
    // A daemon's step (an RCU callback) conflicts with everything.
    expect(dependent(footprintOf(s('rcu:state', 'write'), true), footprintOf(s('pmd:1', 'read')))).toBe(true);
  });
  it('commuting updates (atomic_inc/dec, read-side rwsem ops) commute with each other only', () => {
    const inc = footprintOf(s('page:1', 'write', { commutes: true }));
    expect(inc.cls).toBe('update');
    expect(dependent(inc, footprintOf(s('page:1', 'write', { commutes: true })))).toBe(false);
    expect(dependent(inc, footprintOf(s('page:1', 'read')))).toBe(true);
    expect(dependent(inc, footprintOf(s('page:1', 'write')))).toBe(true);
    expect(dependent(inc, footprintOf(s('page:2', 'write')))).toBe(false);
  });
  it('an RCU callback that names the table it frees conflicts only with that table', () => {
    const cb = footprintOf(s('pmd:7', 'write'), true);
    expect(cb.global).toBe(false);
    expect(dependent(cb, footprintOf(s('pmd:7', 'read')))).toBe(true);
    expect(dependent(cb, footprintOf(s('pmd:8', 'read')))).toBe(false);
    expect(dependent(cb, footprintOf(s('page:1', 'write')))).toBe(false);
    // ...and with every entry of it (the entries name the table as their parent).
    expect(dependent(cb, footprintOf(s('pmd:7[3]', 'read', { parent: 'pmd:7' })))).toBe(true);
  });
  it('PTEs: different entries of one table commute; freeing or allocating the table conflicts with each entry; reading the table page does not', () => {
    const e3r = footprintOf(s('pmd:7[3]', 'read', { parent: 'pmd:7' }));
    const e3w = footprintOf(s('pmd:7[3]', 'write', { parent: 'pmd:7' }));
    const e4w = footprintOf(s('pmd:7[4]', 'write', { parent: 'pmd:7' }));
    expect(dependent(e3r, e3w)).toBe(true);
    expect(dependent(e3w, e4w)).toBe(false);
    expect(dependent(e4w, footprintOf(s('pmd:7', 'write')))).toBe(true);
    expect(dependent(footprintOf(s('pmd:7', 'write')), e3r)).toBe(true);
    expect(dependent(e4w, footprintOf(s('pmd:7', 'read')))).toBe(false);
    expect(dependent(e4w, footprintOf(s('pmd:8', 'write')))).toBe(false);
    // The model's PTE steps name their entry and table; the refcount of the table page is its own object.
    const t = new PmdTable(7);
    expect(t.slotObj(3)).toBe('pmd:7[3]');
    expect(t.slotObj(3)).toBe(t.slotObj(3));
    expect(t.refObj).not.toBe(t.objId);
  });
  it('read-side rwsem steps are marked commuting, write-side and mutex steps are not', () => {
    const k = new Kernel(noneStrategy, { hugePages: 1 });
    const sem = new RwSem('rwsem:s', 's');
    const m = new Mutex('mutex:m', 'm');
    const t = k.spawn('T', '', () => (function* (): KGen {})());
    const first = (g: KGen<unknown>): Step => g.next().value as Step;
    expect(first(lock(k, t, sem, 'read', 'f')).commutes).toBe(true);
    expect(first(unlock(k, t, sem, 'read', 'f')).commutes).toBe(true);
    expect(first(lock(k, t, sem, 'write', 'f')).commutes).toBe(false);
    expect(first(lock(k, t, m, 'write', 'f')).commutes).toBe(false);
  });
});

/**
 * Hand-built machines: threads are generators over a tiny shared store. Each read folds the value
 * into the thread's accumulator, each write stores a hash of the accumulator, so the final store
 * and accumulators tell apart every order of conflicting steps.
 */
type Instr =
  | { op: 'r' | 'w' | 'inc'; obj: string }
  | { op: 'lock' | 'unlock'; m: number }
  | { op: 'down' | 'up'; mode: 'read' | 'write' }
  | { op: 'rcu-lock' | 'rcu-unlock' | 'sync' | 'nop' };

function target(progs: Instr[][]): { t: DporTarget; outcome: () => string } {
  let last = '';
  const t: DporTarget = {
    run(sched, attach) {
      const k = new Kernel(noneStrategy, { hugePages: 1 });
      const store = new Map<string, number>();
      const acc: number[] = progs.map(() => 7);
      const mutexes = [new Mutex('mutex:m0', 'm0'), new Mutex('mutex:m1', 'm1')];
      const sem = new RwSem('rwsem:s', 's');
      progs.forEach((prog, i) =>
        k.spawn(`T${i}`, '', (th: Thread) =>
          (function* (): KGen {
            for (const ins of prog) {
              if (ins.op === 'r') yield { fn: 'rd', obj: ins.obj, access: 'read', label: `r ${ins.obj}`, run: () => (acc[i] = (Math.imul(acc[i]!, 31) + (store.get(ins.obj) ?? 1)) >>> 0) };
              else if (ins.op === 'w') yield { fn: 'wr', obj: ins.obj, access: 'write', label: `w ${ins.obj}`, run: () => store.set(ins.obj, (Math.imul(acc[i]!, 17) + i + 3) >>> 0) };
              else if (ins.op === 'inc') yield { fn: 'inc', obj: ins.obj, access: 'write', commutes: true, label: `inc ${ins.obj}`, run: () => store.set(ins.obj, (store.get(ins.obj) ?? 1) + 1) };
              else if (ins.op === 'down') yield* lock(k, th, sem, ins.mode, 'prog');
              else if (ins.op === 'up') yield* unlock(k, th, sem, ins.mode, 'prog');
              else if (ins.op === 'lock') yield* lock(k, th, mutexes[ins.m]!, 'write', 'prog');
              else if (ins.op === 'unlock') yield* unlock(k, th, mutexes[ins.m]!, 'write', 'prog');
              else if (ins.op === 'rcu-lock') yield* rcuReadLock(k, th, 'prog');
              else if (ins.op === 'rcu-unlock') yield* rcuReadUnlock(k, th, 'prog');
              else if (ins.op === 'sync') yield* synchronizeRcu(k, th, 'prog');
              else yield { fn: 'nop', obj: '', access: 'none', label: 'nop' };
            }
          })(),
        ),
      );
      attach(k);
      const exec = execute(k, sched, { stopOnViolation: true });
      last = JSON.stringify([[...store].sort(), acc, exec.violations.map((v) => v.kind), k.threads.map((x) => x.done)]);
      return exec;
    },
  };
  return { t, outcome: () => last };
}

function plainOutcomes(progs: Instr[][]): { outcomes: Set<string>; count: number };
function plainOutcomes(progs: Instr[][], mustFinish: false): { outcomes: Set<string>; count: number } | null;
function plainOutcomes(progs: Instr[][], mustFinish = true): { outcomes: Set<string>; count: number } | null {
  const { t, outcome } = target(progs);
  const outcomes = new Set<string>();
  const wrapped: DporTarget = {
    run: (sched, attach) => {
      const e = t.run(sched, attach);
      outcomes.add(outcome());
      return e;
    },
  };
  const c = countInterleavings(wrapped, mustFinish ? 2_000_000 : 200_000);
  if (!mustFinish && !c.exact) return null;
  expect(c.exact).toBe(true);
  return { outcomes, count: c.count };
}

function dporOutcomes(progs: Instr[][], reduceLocks = true): { outcomes: Set<string>; schedules: number; exhaustive: boolean } {
  const { t, outcome } = target(progs);
  const outcomes = new Set<string>();
  const r = dporSearch(t, { onRun: () => void outcomes.add(outcome()), reduceLocks });
  return { outcomes, schedules: r.schedules, exhaustive: r.exhaustive };
}

/**
 * Random programs: 2-3 threads over 1-3 shared objects; `item` turns each draw (c in 0..9, a
 * random object) into instructions. With three threads, at most `short` items per thread.
 */
function genProgs(seed: number, short: number, item: (rng: Rng, c: number, obj: string, objs: string[], p: Instr[]) => void): Instr[][] {
  const rng = new Rng(seed);
  const nThreads = 2 + rng.int(2);
  const objs = ['x', 'y', 'z'].slice(0, 1 + rng.int(3));
  const progs: Instr[][] = [];
  for (let t = 0; t < nThreads; t++) {
    const p: Instr[] = [];
    const len = nThreads === 2 ? 2 + rng.int(3) : 1 + rng.int(short);
    for (let i = 0; i < len; i++) {
      const c = rng.int(10);
      item(rng, c, objs[rng.int(objs.length)]!, objs, p);
    }
    progs.push(p);
  }
  return progs;
}

function randomProgs(seed: number): Instr[][] {
  return genProgs(seed, 2, (rng, c, obj, _objs, p) => {
    if (c < 4) p.push({ op: 'r', obj });
    else if (c < 7) p.push({ op: 'w', obj });
    else if (c < 8) {
      // Commuting updates (atomic_inc) or a rw_semaphore section (read side commutes).
      if (rng.int(2)) p.push({ op: 'inc', obj });
      else {
        const mode = rng.int(3) ? 'read' : 'write';
        p.push({ op: 'down', mode }, { op: rng.int(2) ? 'inc' : 'r', obj }, { op: 'up', mode });
      }
    } else if (c < 9) {
      // A critical section, sometimes nested (both orders appear across threads: deadlocks).
      const m = rng.int(2);
      p.push({ op: 'lock', m }, { op: rng.int(2) ? 'w' : 'r', obj });
      if (rng.int(3) === 0) p.push({ op: 'lock', m: 1 - m }, { op: 'unlock', m: 1 - m });
      p.push({ op: 'unlock', m });
    } else p.push({ op: 'nop' });
  });
}

/**
 * Programs heavy in critical sections for the lock-aware reduction: several sections per thread
 * on two mutexes and a rw_semaphore, 0-2 accesses inside each, sometimes a nested section, and
 * accesses outside any lock that race with the ones inside.
 */
function lockHeavyProgs(seed: number): Instr[][] {
  return genProgs(seed, 3, (rng, c, obj, objs, p) => {
    const any = (): string => objs[rng.int(objs.length)]!;
    if (c < 3) p.push({ op: 'r', obj });
    else if (c < 5) p.push({ op: 'w', obj });
    else if (c < 9 && rng.int(2)) {
      // A rw_semaphore section (read sections share the lock), sometimes with a mutex inside.
      const mode = rng.int(2) ? 'read' : 'write';
      p.push({ op: 'down', mode });
      const n = rng.int(3);
      for (let k = 0; k < n; k++) p.push({ op: rng.int(3) === 0 ? 'inc' : rng.int(2) ? 'w' : 'r', obj: any() });
      if (rng.int(5) === 0) p.push({ op: 'lock', m: 0 }, { op: 'unlock', m: 0 });
      p.push({ op: 'up', mode });
    } else if (c < 9) {
      const m = rng.int(2);
      p.push({ op: 'lock', m });
      const n = rng.int(3);
      for (let k = 0; k < n; k++) p.push({ op: rng.int(2) ? 'w' : 'r', obj: any() });
      if (rng.int(5) === 0) p.push({ op: 'lock', m: 1 - m }, { op: 'unlock', m: 1 - m });
      p.push({ op: 'unlock', m });
    } else p.push({ op: 'nop' });
  });
}

describe('dpor: soundness against plain enumeration on hand-built machines', () => {
  it('lock-aware reduction: the same final states and deadlocks as plain enumeration on lock-heavy programs, in fewer runs than without it', () => {
    let checked = 0;
    let reduced = 0;
    let unreduced = 0;
    // A longer campaign: HUGESYNC_FUZZ_SEEDS=1200 npx vitest run packages/core/test/dpor.test.ts
    const seeds = Number(process.env.HUGESYNC_FUZZ_SEEDS ?? 120);
    for (let seed = 1; seed <= seeds; seed++) {
      const progs = lockHeavyProgs(seed);
      const plain = plainOutcomes(progs, false);
      if (!plain) continue; // too many interleavings to enumerate in the budget
      const d = dporOutcomes(progs);
      const u = dporOutcomes(progs, false);
      expect(d.exhaustive).toBe(true);
      expect([...plain.outcomes].filter((o) => !d.outcomes.has(o)), `seed ${seed}: ${JSON.stringify(progs)}`).toEqual([]);
      expect(u.outcomes).toEqual(d.outcomes);
      checked++;
      reduced += d.schedules;
      unreduced += u.schedules;
    }
    console.log(`lock-heavy: ${checked} programs, dpor ${reduced} runs with the lock-aware reduction, ${unreduced} without`);
    expect(checked).toBeGreaterThan(seeds * 0.66);
    expect(reduced).toBeLessThan(unreduced);
  }, 600_000);


  it('reaches every final state (and deadlock) that some interleaving reaches, with fewer runs', () => {
    let plainTotal = 0;
    let dporTotal = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const progs = randomProgs(seed);
      const plain = plainOutcomes(progs);
      const d = dporOutcomes(progs);
      expect(d.exhaustive).toBe(true);
      expect([...plain.outcomes].filter((o) => !d.outcomes.has(o)), `seed ${seed}: ${JSON.stringify(progs)}`).toEqual([]);
      expect(d.schedules).toBeLessThanOrEqual(plain.count);
      plainTotal += plain.count;
      dporTotal += d.schedules;
    }
    console.log(`hand-built: dpor ${dporTotal} runs vs ${plainTotal} plain interleavings over 40 programs`);
    expect(dporTotal).toBeLessThan(plainTotal);
  });

  it('finds the ABBA deadlock', () => {
    const progs: Instr[][] = [
      [{ op: 'lock', m: 0 }, { op: 'w', obj: 'x' }, { op: 'lock', m: 1 }, { op: 'unlock', m: 1 }, { op: 'unlock', m: 0 }],
      [{ op: 'lock', m: 1 }, { op: 'w', obj: 'y' }, { op: 'lock', m: 0 }, { op: 'unlock', m: 0 }, { op: 'unlock', m: 1 }],
    ];
    const d = dporOutcomes(progs);
    expect([...d.outcomes].some((o) => o.includes('deadlock'))).toBe(true);
    expect(plainOutcomes(progs).outcomes).toEqual(d.outcomes);
  });

  it('orders rcu readers against a grace period (the reader section started before synchronize_rcu is waited for)', () => {
    const progs: Instr[][] = [
      [{ op: 'rcu-lock' }, { op: 'r', obj: 'x' }, { op: 'nop' }, { op: 'r', obj: 'x' }, { op: 'rcu-unlock' }],
      [{ op: 'w', obj: 'y' }, { op: 'sync' }, { op: 'w', obj: 'x' }],
    ];
    const plain = plainOutcomes(progs);
    const d = dporOutcomes(progs);
    expect(d.outcomes).toEqual(plain.outcomes);
    expect(d.schedules).toBeLessThan(plain.count);
  });
});

/** Two processes, each with its own file, each writing one page: they share only the pool. */
function disjoint(): WorkloadSpec {
  return {
    name: 'disjoint',
    description: 'test: no sharing',
    tags: [],
    params: {},
    pool: { hugePages: 4, overcommit: 0 },
    faultMutexes: 64,
    files: [
      { name: 'f', size: 4 * MiB },
      { name: 'g', size: 4 * MiB },
    ],
    processes: [
      { name: 'A', mappings: [mapping('m', 4 * MiB)] },
      { name: 'B', mappings: [mapping('m', 4 * MiB, { file: 'g' })] },
    ],
    setup: [],
    threads: [
      { name: 'A-touch', process: 'A', ops: [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true }] },
      { name: 'B-touch', process: 'B', ops: [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true }] },
    ],
  };
}

/** Pages already mapped in setup: the threads' accesses are MMU reads only. */
function prefaulted(): WorkloadSpec {
  const s = disjoint();
  s.name = 'prefaulted';
  s.setup = [
    { process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true } },
    { process: 'B', op: { op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true } },
  ];
  return s;
}

describe('dpor on workloads', () => {
  it('read-only accesses: one schedule covers all of them', () => {
    const r = explore(prefaulted(), noneStrategy, { explorer: 'dpor' });
    expect(r.exhaustive).toBe(true);
    expect(r.violations).toEqual([]);
    expect(r.schedules).toBe(1);
    // Each thread: a pud read and an MMU read; C(4, 2) orders.
    expect(r.interleavings).toBe('6');
  });

  it('two processes on separate files: exhaustive, clean, far fewer runs than interleavings', () => {
    const r = explore(disjoint(), noneStrategy, { explorer: 'dpor' });
    console.log('disjoint:', r.schedules, 'dpor runs vs', r.interleavings, 'interleavings', `${r.elapsedMs} ms`);
    expect(r.exhaustive).toBe(true);
    expect(r.violations).toEqual([]);
    const n = Number(r.interleavings!.replace(/^(>= |~)/, '').replace(/,/g, ''));
    expect(r.schedules).toBeLessThan(n);
  });

  it('finds the pmd unshare race', () => {
    const r = explore(pmdUnshareRace(), noneStrategy, { explorer: 'dpor' });
    console.log('pmd-unshare-race:', r.schedules, 'runs,', r.interleavings, 'interleavings,', `${r.elapsedMs} ms`, r.violations.map((v) => `${v.kind} (${v.steps} steps, ${v.preemptions} switches): ${v.message}`));
    expect(r.violations.some((v) => v.kind === 'pte-stale-owner' || v.kind === 'pte-use-after-free')).toBe(true);
    expect(r.exhaustive).toBe(false);
    for (const v of r.violations) expect(replaySchedule(pmdUnshareRace(), noneStrategy, v.schedule, 1).violations.some((x) => x.kind === v.kind)).toBe(true);
  });

  it('finds the fault/truncate race', () => {
    const r = explore(faultTruncateRace(), noneStrategy, { explorer: 'dpor' });
    console.log('fault-truncate-race:', r.schedules, 'runs,', r.interleavings, 'interleavings,', `${r.elapsedMs} ms`, r.violations.map((v) => `${v.kind} (${v.steps} steps, ${v.preemptions} switches): ${v.message}`));
    expect(r.violations.some((v) => v.kind === 'reserve-count' || v.kind === 'page-beyond-eof')).toBe(true);
  });

  it('is deterministic', () => {
    const strip = (r: ReturnType<typeof runDpor>) => JSON.stringify({ ...r, elapsedMs: 0, firstViolationMs: 0 });
    expect(strip(runDpor(disjoint(), noneStrategy, {}))).toBe(strip(runDpor(disjoint(), noneStrategy, {})));
    expect(strip(runDpor(pmdUnshareRace(), noneStrategy, {}))).toBe(strip(runDpor(pmdUnshareRace(), noneStrategy, {})));
  });

  it('respects the schedule budget', () => {
    const r = explore(faultTruncateRace(), noneStrategy, { explorer: 'dpor', schedules: 5, minimize: false });
    expect(r.schedules).toBeLessThanOrEqual(5);
    expect(r.exhaustive).toBe(false);
  });

  it('reports livelock at the step bound instead of hanging', () => {
    const r = explore(disjoint(), noneStrategy, { explorer: 'dpor', maxSteps: 10, minimize: false });
    expect(r.violations.map((v) => v.kind)).toEqual(['livelock']);
  });
});
