// dpor: schedules the full DPOR search explores vs the plain interleavings (core's
// countInterleavings), per race workload, under noneStrategy (search not stopped at a violation).
import { runOnce, dporSearch, countInterleavings, formatCount, LockGraph, MachineTemplate, noneStrategy } from '@hugesync/core';
import { fig, now, raceWorkloads } from './common.mjs';

export default async function ({ quick }) {
  for (const spec of await raceWorkloads()) {
    const graph = new LockGraph();
    const template = new MachineTemplate(spec, noneStrategy, 1);
    const target = { run: (sched, attach) => runOnce(spec, noneStrategy, sched, { seed: 1, graph, template, onBuilt: (b) => attach(b.kernel) }).exec };
    const t0 = now();
    const r = dporSearch(target, { maxSchedules: quick ? 2000 : 100_000, timeLimitMs: quick ? 10_000 : 120_000 });
    const ms = now() - t0;
    const plain = { run: (sched) => runOnce(spec, noneStrategy, sched, { seed: 1, template }).exec };
    const t1 = now();
    const c = countInterleavings(plain, quick ? 100_000 : 4_000_000);
    const ms2 = now() - t1;
    fig(`dpor.${spec.name}`, `${r.schedules} dpor${r.exhaustive ? ' (exhaustive)' : r.timedOut ? ' (time limit)' : ' (schedule limit)'} in ${ms.toFixed(0)} ms vs ${formatCount(c)} interleavings in ${ms2.toFixed(0)} ms`);
  }
}
