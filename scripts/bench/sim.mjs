// sim: the timed simulator at full scale: map-fault-unmap with 48 processes on a 250 GiB file,
// 48 CPUs, a short simulated duration (0.2 s: long enough that JIT warm-up is a small part),
// under noneStrategy. Simulated events (steps) per wall second, wall seconds per simulated
// second, CPU seconds of this thread per simulated second (less sensitive to a loaded machine
// than wall time), peak RSS.
import { simulate, noneStrategy } from '@hugesync/core';
import { loadCatalogWorkload } from '@hugesync/workloads';
import { fig, now, peakRss } from './common.mjs';

export default async function ({ quick }) {
  const spec = loadCatalogWorkload('map-fault-unmap', { processes: '48', fileSize: '250GiB' });
  const dur = quick ? 0.02 : 0.2;
  let maxRss = process.memoryUsage().rss;
  const t0 = now();
  let cpu0 = process.cpuUsage();
  const r = simulate(spec, noneStrategy, {
    cpus: 48,
    durationSec: dur,
    onBuilt: () => {
      cpu0 = process.cpuUsage();
    },
    onProgress: () => {
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    },
  });
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
  const runMs = ms - r.setupWallMs;
  fig('sim.simulated_s', r.simulatedSeconds);
  fig('sim.steps', r.steps);
  fig('sim.setup_wall_ms', r.setupWallMs);
  fig('sim.run_wall_ms', runMs);
  fig('sim.steps_per_wall_s', (r.steps / runMs) * 1000);
  fig('sim.wall_s_per_simulated_s', runMs / 1000 / r.simulatedSeconds);
  fig('sim.cpu_s_per_simulated_s', (cpu.user + cpu.system) / 1e6 / r.simulatedSeconds);
  fig('sim.peak_rss_mib', Math.max(maxRss, peakRss() ?? 0) / 2 ** 20);
}
