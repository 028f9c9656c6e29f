// first-bug: wall time and schedules to the first counterexample on each catalog race workload
// under noneStrategy, for each explorer (counterexamples not minimised: time to find).
import { explore, noneStrategy, runOnce, dporSearch, LockGraph, MachineTemplate, PREEMPTION_ROUNDS } from '@hugesync/core';
import { fig, now, raceWorkloads } from './common.mjs';

export default async function () {
  const specs = await raceWorkloads();
  // Warm-up (JIT) on the first workload.
  explore(specs[0], noneStrategy, { explorer: 'random', schedules: 200, minimize: false });
  for (const spec of specs) {
    for (const ex of ['random', 'pct', 'dpor']) {
      if (ex === 'dpor') {
        fig(`first-bug.${spec.name}.dpor`, dporFirst(spec));
        continue;
      }
      const t0 = now();
      const r = explore(spec, noneStrategy, { explorer: ex, schedules: 100_000, minimize: false, timeLimitMs: 60_000 });
      const ms = now() - t0;
      const found = r.violations.length > 0;
      fig(`first-bug.${spec.name}.${ex}`, found ? `${ms.toFixed(1)} ms ${r.schedules} schedules ${r.violations.map((v) => v.kind).join(',')}` : `none found in ${r.schedules} schedules`);
    }
  }
}

/**
 * The search runDpor makes (preemption-bounded rounds, then the full one) up to the first
 * violation; runDpor then also counts the plain interleavings, which is left out here.
 */
function dporFirst(spec) {
  const graph = new LockGraph();
  const template = new MachineTemplate(spec, noneStrategy, 1);
  const target = { run: (sched, attach) => runOnce(spec, noneStrategy, sched, { seed: 1, graph, template, onBuilt: (b) => attach(b.kernel) }).exec };
  let schedules = 0;
  let kind = null;
  const t0 = now();
  for (const bound of PREEMPTION_ROUNDS) {
    const r = dporSearch(target, {
      maxSchedules: 100_000 - schedules,
      timeLimitMs: 60_000,
      preemptionBound: bound,
      onRun: (exec) => {
        if (exec.violations.length > 0) kind = exec.violations[0].kind;
        return kind !== null;
      },
    });
    schedules += r.schedules;
    if (r.stopped || r.timedOut || r.exhaustive) break;
  }
  const ms = now() - t0;
  return kind ? `${ms.toFixed(1)} ms ${schedules} schedules ${kind}` : `none found in ${schedules} schedules`;
}
