/**
 * The HTML report of `hugesync compare --html FILE`.
 *
 * HOOK: writeHtmlReport(data, file) is the one entry point the compare command calls. This is a
 * minimal placeholder (one self-contained table per section); the full report replaces the body
 * of renderHtmlReport() and keeps the signature. The file is written atomically.
 */
import type { CompareData } from './commands/compare.js';
import { writeFileAtomic } from './atomic.js';
import { fmtInt, fmtNum, verdictCell } from './format.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderHtmlReport(data: CompareData): string {
  const strategies = data.strategies.map((s) => s.name);
  const head = `<tr><th>workload</th>${strategies.map((s) => `<th>${esc(s)}</th>`).join('')}</tr>`;
  const raceRows = data.workloads
    .filter((w) => data.cells.some((c) => c.workload === w.name && c.explore))
    .map((w) => {
      const cells = strategies.map((s) => {
        const c = data.cells.find((x) => x.workload === w.name && x.strategy === s);
        const v = c?.explore;
        const cls = !v ? '' : v.violations.length ? 'bad' : 'ok';
        return `<td class="${cls}">${esc(verdictCell(v))}</td>`;
      });
      return `<tr><th>${esc(w.name)}</th>${cells.join('')}</tr>`;
    });
  const perfRows = data.workloads
    .filter((w) => data.cells.some((c) => c.workload === w.name && c.run))
    .map((w) => {
      const cells = strategies.map((s) => {
        const r = data.cells.find((x) => x.workload === w.name && x.strategy === s)?.run;
        return `<td>${r ? (r.error ? 'error' : `${esc(fmtInt(r.faultsPerSec))} faults/s<br>max wait ${esc(fmtNum(r.maxFaultWaitUs, 1))} µs`) : '-'}</td>`;
      });
      return `<tr><th>${esc(w.name)}</th>${cells.join('')}</tr>`;
    });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hugesync compare</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}td.bad{background:#fdd}td.ok{background:#dfd}</style>
</head><body>
<h1>hugesync compare</h1>
<p>${esc(`seed ${data.settings.seed}; race workloads: ${data.settings.explorer}${data.settings.explorer === 'dpor' ? '' : `, ${data.settings.schedules} schedules`}, time limit ${data.settings.timeLimitSec} s per cell; perf workloads: ${data.settings.durationSec} simulated s`)}</p>
<h2>Races</h2>
<table>${head}${raceRows.join('\n')}</table>
<h2>Performance</h2>
<table>${head}${perfRows.join('\n')}</table>
</body></html>
`;
}

/** Write the compare report as one self-contained HTML file (temp file + rename: never half-written). */
export function writeHtmlReport(data: CompareData, file: string): void {
  writeFileAtomic(file, renderHtmlReport(data));
}
