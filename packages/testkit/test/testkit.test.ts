import { describe, it, expect } from 'vitest';
import { composeStrategy, lockIt, noneStrategy, type SyncStrategy } from '@hugesync/core';
import { shapeProblems, checkLockDiscipline, checkDeterminism, catalogWorkloads, isAllowed, formatRaceReport, raceReport, fnv1a } from '../src/index.js';

describe('shape', () => {
  it('accepts the baseline and a composed strategy', () => {
    expect(shapeProblems(noneStrategy)).toEqual([]);
    expect(shapeProblems(composeStrategy(noneStrategy, { name: 'x', description: 'd', seed: 's', kernel: 'k', package: 'p' }))).toEqual([]);
  });
  it('names every problem of a broken strategy', () => {
    const bad = { ...noneStrategy, name: 'Has Space', lockClasses: [{ name: 'l', kind: 'weird', protects: 'x' }], features: { ...noneStrategy.features, flushOnUnshar: true }, faultEntr() {} };
    const p = shapeProblems(bad);
    expect(p.some((x) => x.includes('"name"'))).toBe(true);
    expect(p.some((x) => x.includes('"kind"'))).toBe(true);
    expect(p.some((x) => x.includes('unknown feature "flushOnUnshar"'))).toBe(true);
    expect(p.some((x) => x.includes('"faultEntr"'))).toBe(true);
    expect(shapeProblems(null)).toEqual(['not a strategy object (got null)']);
  });
});

describe('checks catch a broken strategy', () => {
  // A strategy that takes a lock in faultEnter and never releases it.
  const leaky: SyncStrategy = composeStrategy(noneStrategy, {
    name: 'leaky',
    description: 'takes i_mmap_rwsem for read at fault entry and never releases it',
    seed: 'test',
    kernel: 'test',
    package: 'test',
    *faultEnter(c, vma) {
      yield* lockIt(c, vma.file.iMmapRwsem, 'read', 'hugetlb_fault');
    },
  });
  it('lock discipline reports lock-imbalance; allow turns it into an expected finding', () => {
    const specs = catalogWorkloads(['fault-truncate-race']);
    const r = checkLockDiscipline(leaky, specs, { schedules: 2, seed: 1 });
    expect(r.problems.map((p) => p.kind)).toContain('lock-imbalance');
    const a = checkLockDiscipline(leaky, specs, { schedules: 2, seed: 1, allow: [{ kind: 'lock-imbalance', reason: 'test' }] });
    expect(a.problems).toEqual([]);
    expect(a.allowed.length).toBe(r.problems.length);
  });
});

describe('helpers', () => {
  it('isAllowed matches kind and message', () => {
    const v = { kind: 'lock-order' as const, message: 'possible circular locking dependency: A acquires x' };
    expect(isAllowed(v, [{ kind: 'lock-order', match: 'acquires x', reason: 'r' }])?.reason).toBe('r');
    expect(isAllowed(v, [{ kind: 'lock-order', match: /acquires y/, reason: 'r' }])).toBeUndefined();
    expect(isAllowed(v, [{ kind: 'deadlock', reason: 'r' }])).toBeUndefined();
  });
  it('fnv1a is the standard 32-bit FNV-1a', () => {
    expect(fnv1a('').toString(16)).toBe('811c9dc5');
    expect(fnv1a('a').toString(16)).toBe('e40c292c');
  });
  it('determinism pairs and the race report table', () => {
    const specs = catalogWorkloads(['fault-truncate-race']);
    const d = checkDeterminism(noneStrategy, specs, { seed: 3 });
    expect(d.pairs.map((p) => [p.explorer, p.same])).toEqual([['random', true], ['pct', true]]);
    const r = raceReport(noneStrategy, specs, { schedules: 10, seed: 1 });
    expect(r.rows[0]!.closed).toEqual([]);
    expect(formatRaceReport(r)).toContain('fault-truncate-race');
  });
});
