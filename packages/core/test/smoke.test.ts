import { describe, it, expect } from 'vitest';
import { explore, noneStrategy, runOnce, RandomScheduler } from '../src/index.js';
import { pmdUnshareRace, faultTruncateRace } from './fixtures.js';

describe('smoke', () => {
  it('a sequential run of pmd-unshare-race is clean', () => {
    const { exec } = runOnce(pmdUnshareRace(), noneStrategy, { pick: (r) => r[0]! }, { seed: 1 });
    expect(exec.violations.map((v) => v.message)).toEqual([]);
    expect(exec.completed).toBe(true);
  });
  it('none: random exploration finds the pmd unshare race', () => {
    const r = explore(pmdUnshareRace(), noneStrategy, { explorer: 'random', schedules: 2000, seed: 1 });
    console.log(r.schedules, r.violations.map((v) => `${v.kind}: ${v.message}`));
    expect(r.violations.some((v) => v.kind === 'pte-stale-owner' || v.kind === 'pte-use-after-free')).toBe(true);
  });
  it('none: random exploration finds the fault/truncate race', () => {
    const r = explore(faultTruncateRace(), noneStrategy, { explorer: 'random', schedules: 5000, seed: 1 });
    console.log(r.schedules, r.violations.map((v) => `${v.kind}: ${v.message}`));
    expect(r.violations.length).toBeGreaterThan(0);
  });
  it('sequential fault-truncate is clean', () => {
    const { exec } = runOnce(faultTruncateRace(), noneStrategy, new RandomScheduler(3), { seed: 1 });
    console.log(exec.violations);
  });
});
