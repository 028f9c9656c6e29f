// explore: steps/s and schedules/s of the random, PCT and DPOR explorers on pmd-unshare-race under
// noneStrategy, against the same number of bare generator steps (no model): the limit.
import { runOnce, makeScheduler, dporSearch, LockGraph, MachineTemplate, noneStrategy, Rng } from '@hugesync/core';
import { loadCatalogWorkload } from '@hugesync/workloads';
import { fig, now } from './common.mjs';

/**
 * Run `schedules` schedules the way explore() does (checkers attached, shared lock graph, every
 * machine a copy of one set up once), findings left out.
 */
function runExplorer(spec, explorer, schedules) {
  const graph = new LockGraph();
  const template = new MachineTemplate(spec, noneStrategy, 1);
  let steps = 0;
  let expected = 200;
  const t0 = now();
  for (let i = 0; i < schedules; i++) {
    const { exec } = runOnce(spec, noneStrategy, makeScheduler(explorer, 1, i, 3, expected), { seed: 1, graph, template });
    steps += exec.steps;
    expected = Math.max(expected, exec.steps);
  }
  return { steps, schedules, ms: now() - t0 };
}

function runDporSearch(spec, schedules) {
  const graph = new LockGraph();
  const template = new MachineTemplate(spec, noneStrategy, 1);
  let steps = 0;
  const target = {
    run: (sched, attach) => {
      const exec = runOnce(spec, noneStrategy, sched, { seed: 1, graph, template, onBuilt: (b) => attach(b.kernel) }).exec;
      steps += exec.steps;
      return exec;
    },
  };
  const t0 = now();
  const r = dporSearch(target, { maxSchedules: schedules });
  return { steps, schedules: r.schedules, ms: now() - t0 };
}

/** The limit: 8 generator threads yielding plain step objects under a seeded random scheduler. */
export function bareSteps(total) {
  function* body(id) {
    for (let i = 0; ; i++) yield { fn: 'bare', obj: 'o:' + (id & 1), access: 'read', label: 'bare', cost: 'step' };
  }
  const threads = Array.from({ length: 8 }, (_, i) => ({ id: i, gen: body(i), pending: null }));
  for (const t of threads) t.pending = t.gen.next().value;
  const rng = new Rng(1);
  const schedule = [];
  let sink = 0;
  const t0 = now();
  for (let n = 0; n < total; n++) {
    if ((n & 1023) === 0) schedule.length = 0;
    const t = threads[rng.int(threads.length)];
    schedule.push(t.id);
    sink += t.pending.obj.length;
    t.pending = t.gen.next().value;
  }
  const ms = now() - t0;
  if (sink < 0) console.log(sink);
  return { steps: total, ms };
}

export default async function ({ quick }) {
  const spec = loadCatalogWorkload('pmd-unshare-race');
  const n = quick ? 300 : 3000;
  // Warm up every path once (JIT) before timing.
  runExplorer(spec, 'random', 50);
  runExplorer(spec, 'pct', 50);
  runDporSearch(spec, 50);
  bareSteps(200_000);
  const rows = [];
  for (const ex of ['random', 'pct', 'dpor']) {
    const r = ex === 'dpor' ? runDporSearch(spec, n) : runExplorer(spec, ex, n);
    rows.push([ex, r]);
    fig(`explore.${ex}.steps_per_s`, (r.steps / r.ms) * 1000);
    fig(`explore.${ex}.schedules_per_s`, (r.schedules / r.ms) * 1000);
  }
  const random = rows[0][1];
  const bare = bareSteps(random.steps);
  fig('explore.bare.steps_per_s', (bare.steps / bare.ms) * 1000);
  fig('ratio', random.steps / random.ms / (bare.steps / bare.ms));
}
