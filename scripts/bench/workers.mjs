// workers: schedules/s of the random explorer with 1 and 2 worker threads (core's
// exploreParallel, engine/workers.ts), and a check that both give the same result.
import { fig, now } from './common.mjs';

export default async function ({ quick }) {
  const core = await import('@hugesync/core');
  const { loadCatalogWorkload } = await import('@hugesync/workloads');
  const spec = loadCatalogWorkload('pmd-unshare-race');
  const n = quick ? 512 : 4096;
  const ref = { module: '@hugesync/core', export: 'noneStrategy' };
  const opts = { explorer: 'random', schedules: n, all: true, minimize: false };
  const seen = [];
  for (const w of [1, 2]) {
    await core.exploreParallel(spec, ref, { ...opts, schedules: 256, workers: w }); // warm-up (JIT, thread start)
    const t0 = now();
    const r = await core.exploreParallel(spec, ref, { ...opts, workers: w });
    fig(`workers.${w}.schedules_per_s`, (r.schedules / (now() - t0)) * 1000);
    seen.push(JSON.stringify({ s: r.schedules, v: r.violations.map((v) => [v.kind, v.replay]) }));
  }
  fig('workers.identical', seen.every((s) => s === seen[0]));
}
