#!/usr/bin/env node
// Side-by-side check of two builds of the timed simulator: identical results, and CPU time.
//
//   node scripts/sim-compare.mjs <rootA> <rootB> [--strategy none,i-mmap-rwsem,vma-lock]
//        [--scale full|small] [--duration 0.1] [--rounds 2]
//
// A root is a directory whose node_modules/@hugesync/{core,workloads,strategies} hold a build
// (the worktree itself, or a copy of an older build's package.json + dist + catalog laid out so,
// with the other node_modules linked in). Each run is a child process, A and B alternating (the
// machine is shared: compare CPU time, not wall time). Per run it prints the steps, a sha256 of
// the result without wallMs/setupWallMs (must match between A and B), the CPU seconds of the run
// part (setup excluded) per simulated second and the peak RSS. Full scale is map-fault-unmap with
// processes=48 fileSize=250GiB on 48 CPUs; small is the workload's defaults on 4 CPUs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  const [, root, sname, scale, dur] = args;
  const load = (p) => import(`${root}/node_modules/@hugesync/${p}/dist/index.js`);
  const [core, wl, st] = await Promise.all([load('core'), load('workloads'), load('strategies')]);
  const strategy = st.builtinStrategies().find((s) => s.name === sname);
  if (!strategy) throw new Error(`no strategy ${sname}`);
  const spec = wl.loadCatalogWorkload('map-fault-unmap', scale === 'full' ? { processes: '48', fileSize: '250GiB' } : {});
  let cpu0 = process.cpuUsage();
  const r = core.simulate(spec, strategy, { cpus: scale === 'full' ? 48 : 4, durationSec: Number(dur), onBuilt: () => (cpu0 = process.cpuUsage()) });
  const cpu = process.cpuUsage(cpu0);
  const { wallMs: _w, setupWallMs, ...rest } = r;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  console.log(
    JSON.stringify({
      steps: r.steps,
      hash: createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16),
      cpuPerSimS: (cpu.user + cpu.system) / 1e6 / r.simulatedSeconds,
      setupMs: setupWallMs,
      rssMiB: hwm ? Number(hwm[1]) / 1024 : null,
    }),
  );
} else {
  const [a, b] = args.filter((x, i) => !x.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!a || !b) {
    console.error('usage: node scripts/sim-compare.mjs <rootA> <rootB> [--strategy s,...] [--scale full|small] [--duration s] [--rounds n]');
    process.exit(2);
  }
  const scale = opt('scale', 'full');
  const dur = opt('duration', '0.1');
  const rounds = Number(opt('rounds', '2'));
  const self = fileURLToPath(import.meta.url);
  let same = true;
  for (const s of opt('strategy', 'none,i-mmap-rwsem,vma-lock').split(',')) {
    const hashes = new Set();
    for (let i = 0; i < rounds; i++) {
      for (const [tag, root] of [['A', a], ['B', b]]) {
        const out = JSON.parse(execFileSync(process.execPath, [self, '--child', resolve(root), s, scale, dur], { encoding: 'utf8' }));
        hashes.add(out.hash);
        console.log(`${s} ${scale} ${dur}s ${tag}: steps ${out.steps} hash ${out.hash} cpu_s_per_sim_s ${out.cpuPerSimS.toFixed(2)} setup_ms ${out.setupMs} peak_rss_mib ${Math.round(out.rssMiB)}`);
      }
    }
    if (hashes.size !== 1) same = false;
    console.log(`${s}: ${hashes.size === 1 ? 'identical' : 'DIFFERENT'} results`);
  }
  process.exit(same ? 0 : 1);
}
