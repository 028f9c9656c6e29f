import { describe, it, expect } from 'vitest';
import { explore, noneStrategy, minimizeSchedule, replayCost, replaySchedule, countPreemptions, type WorkloadSpec, type Finding } from '../src/index.js';
import { faultTruncateRace, pmdUnshareRace } from './fixtures.js';

/** An unminimised counterexample from random exploration. */
function rawFinding(spec: WorkloadSpec, pred: (f: Finding) => boolean): Finding {
  const r = explore(spec, noneStrategy, { explorer: 'random', schedules: 5000, seed: 1, minimize: false });
  const f = r.violations.find(pred);
  if (!f) throw new Error(`random exploration found nothing on ${spec.name}`);
  return f;
}

describe('minimizeSchedule', () => {
  const cases: Array<[string, () => WorkloadSpec, (f: Finding) => boolean]> = [
    ['pmd-unshare-race', pmdUnshareRace, (f) => f.kind === 'pte-stale-owner' || f.kind === 'pte-use-after-free'],
    ['fault-truncate-race', faultTruncateRace, (f) => f.kind === 'reserve-count' || f.kind === 'page-beyond-eof'],
  ];
  for (const [name, make, pred] of cases) {
    it(`shrinks the ${name} counterexample and it still reproduces`, () => {
      const spec = make();
      const f = rawFinding(spec, pred);
      const before = replayCost(spec, noneStrategy, f.schedule, f.kind, 1);
      expect(before.reproduces).toBe(true);
      const min = minimizeSchedule(spec, noneStrategy, f.schedule, f.kind, 1);
      const after = replayCost(spec, noneStrategy, min, f.kind, 1);
      console.log(`${name} ${f.kind}: ${before.steps} steps / ${before.preemptions} preemptions / ${before.switches} switches -> ${after.steps} / ${after.preemptions} / ${after.switches}`);
      expect(after.reproduces).toBe(true);
      expect(replaySchedule(spec, noneStrategy, min, 1).violations.some((v) => v.kind === f.kind)).toBe(true);
      expect(min.length).toBeLessThanOrEqual(f.schedule.length);
      expect(countPreemptions(min)).toBeLessThanOrEqual(countPreemptions(f.schedule));
      expect(after.preemptions).toBeLessThanOrEqual(before.preemptions);
      // Random schedules switch threads at almost every step: there is a lot to take out.
      expect(after.switches).toBeLessThan(before.switches);
      // Deterministic.
      expect(minimizeSchedule(spec, noneStrategy, f.schedule, f.kind, 1)).toEqual(min);
    });
  }

  it('returns the schedule unchanged when it does not show the violation', () => {
    const spec = faultTruncateRace();
    const clean = replaySchedule(spec, noneStrategy, [], 1);
    expect(clean.violations).toEqual([]);
    expect(minimizeSchedule(spec, noneStrategy, clean.schedule, 'reserve-count', 1)).toBe(clean.schedule);
  });

  it('explore() hands out minimised findings', () => {
    const spec = faultTruncateRace();
    const raw = explore(spec, noneStrategy, { explorer: 'random', schedules: 5000, seed: 1, minimize: false });
    const min = explore(spec, noneStrategy, { explorer: 'random', schedules: 5000, seed: 1 });
    expect(min.violations.length).toBeGreaterThan(0);
    for (const v of min.violations) {
      const r = raw.violations.find((x) => x.kind === v.kind)!;
      expect(v.steps).toBeLessThanOrEqual(r.steps);
      expect(v.preemptions).toBeLessThanOrEqual(r.preemptions);
    }
  });
});
