import { runOnce, RandomScheduler, PctScheduler, explore, noneStrategy, LockGraph } from '@hugesync/core';
import { listWorkloads, loadCatalogWorkload } from '@hugesync/workloads';
import { builtinStrategies } from '@hugesync/strategies';
for (const w of listWorkloads()) console.log(w.name, w.tags, JSON.stringify(w.params));
for (const s of builtinStrategies()) {
  for (const w of listWorkloads()) {
    const spec = loadCatalogWorkload(w.name);
    const t0 = Date.now(); let steps = 0; const kinds = {};
    const graph = new LockGraph();
    for (let i = 0; i < 20; i++) { const { exec } = runOnce(spec, s, i%2? new RandomScheduler(i+1): new PctScheduler(i+1,3,300), { seed: 1, stopOnViolation: false, graph }); steps += exec.steps; for (const v of exec.violations) kinds[v.kind]=(kinds[v.kind]??0)+1; }
    console.log(s.name, w.name, Date.now()-t0, 'ms', steps/20, JSON.stringify(kinds));
  }
}
