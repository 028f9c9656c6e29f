// Shared helpers of the benchmarks.
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

export const now = () => performance.now();

/** Print one figure: `name value unit` on its own line. */
export function fig(name, value, unit = '') {
  const v = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(value >= 100 ? 0 : value >= 1 ? 2 : 4)) : String(value);
  console.log(`${name} ${v}${unit ? ' ' + unit : ''}`);
}

/** Peak resident set size of this process (VmHWM), bytes; null off Linux. */
export function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The catalog's race workloads (tag race), by name. */
export async function raceWorkloads() {
  const { listWorkloads, loadCatalogWorkload } = await import('@hugesync/workloads');
  return listWorkloads()
    .filter((w) => w.tags.includes('race'))
    .map((w) => loadCatalogWorkload(w.name));
}
