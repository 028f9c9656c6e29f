/**
 * renderHtmlReport(): one self-contained HTML page (no network access: d3, Observable Plot, the
 * data and the drawing script are inlined) with four charts drawn on load and the numbers as
 * tables, which read without JavaScript too. The output depends only on the data.
 */
import { writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { CompareReport, ReportExplore, ReportRun } from './types.js';
import { chartBundles, scriptSafe } from './assets.js';
import { CLIENT_JS } from './client.js';

/** Escape text for HTML element content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Locale-independent number formatting (thousands separated by a thin space). */
export function fmtNumber(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  const [i, f] = Math.abs(n).toFixed(digits).split('.');
  const grouped = i!.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  return `${n < 0 ? '-' : ''}${grouped}${f ? `.${f}` : ''}`;
}

/** Digits enough to show small values. */
function fmtAuto(n: number): string {
  const a = Math.abs(n);
  return fmtNumber(n, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

type Verdict = 'clean exhaustive' | 'clean bounded' | 'violation';

interface Cell {
  verdict: Verdict;
  kinds: string[];
  text: string;
}

function verdictOf(entries: readonly ReportExplore[]): Cell {
  const kinds = [...new Set(entries.flatMap((e) => e.violations.map((v) => v.kind)))];
  if (kinds.length > 0) return { verdict: 'violation', kinds, text: kinds.join(', ') };
  const schedules = entries.reduce((n, e) => n + e.schedules, 0);
  if (entries.some((e) => e.exhaustive)) return { verdict: 'clean exhaustive', kinds, text: `clean (exhaustive, ${fmtNumber(schedules)} schedules)` };
  const timedOut = entries.some((e) => e.timedOut);
  return { verdict: 'clean bounded', kinds, text: `clean (${fmtNumber(schedules)} schedules${timedOut ? ', time limit' : ''})` };
}

const VERDICT_CLASS: Record<Verdict, string> = { 'clean exhaustive': 'v-exh', 'clean bounded': 'v-bnd', violation: 'v-bad' };

function table(head: string[], rows: string[][], cls = ''): string {
  if (rows.length === 0) return '<p class="none">None.</p>';
  return `<div class="scroll"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.join('')}</tr>`)
    .join('\n')}</tbody></table></div>`;
}
const td = (s: unknown, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(s)}</td>`;
const num = (s: string): string => `<td class="num">${esc(s)}</td>`;

function order<T>(items: readonly T[], key: (t: T) => string, names: readonly string[]): T[] {
  const rank = (n: string): number => {
    const i = names.indexOf(n);
    return i < 0 ? names.length : i;
  };
  return items.map((x, i) => ({ x, i })).sort((a, b) => rank(key(a.x)) - rank(key(b.x)) || a.i - b.i).map((e) => e.x);
}

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0 auto; padding: 24px; max-width: 1180px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.meta, p.none, .note { color: var(--muted); }
pre, code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.cmd { background: var(--bg2); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; white-space: pre-wrap; word-break: break-all; }
.chart { min-height: 120px; margin: 8px 0 4px; overflow-x: auto; }
.chart figure { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--bg2); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.v-exh { background: #1a7f37; color: #fff; } td.v-bnd { background: #9ad29a; } td.v-bad { background: #cf222e; color: #fff; }
td.token code { word-break: break-all; }
nav a { margin-right: 12px; }
`;

export interface RenderOptions {
  /** Page title (default "hugesync compare"). */
  title?: string;
}

/** The whole report as one HTML string. */
export function renderHtmlReport(data: CompareReport, opts: RenderOptions = {}): string {
  const title = opts.title ?? 'hugesync compare';
  const lib = chartBundles();
  const sNames = data.strategies.map((s) => s.name);
  const wNames = data.workloads.map((w) => w.name);
  const explore = order(order(data.explore, (e) => e.strategy, sNames), (e) => e.workload, wNames);
  const runs = order(order(data.run, (r) => r.strategy, sNames), (r) => r.workload, wNames);

  // Verdict grid as a table (the chart draws the same cells).
  const gridW = wNames.filter((w) => explore.some((e) => e.workload === w)).concat([...new Set(explore.map((e) => e.workload))].filter((w) => !wNames.includes(w)));
  const gridS = sNames.filter((s) => explore.some((e) => e.strategy === s)).concat([...new Set(explore.map((e) => e.strategy))].filter((s) => !sNames.includes(s)));
  const gridRows = gridW.map((w) => [
    `<th>${esc(w)}</th>`,
    ...gridS.map((s) => {
      const es = explore.filter((e) => e.workload === w && e.strategy === s);
      if (es.length === 0) return td('-');
      const c = verdictOf(es);
      return td(c.text, VERDICT_CLASS[c.verdict]);
    }),
  ]);

  const exploreRows = explore.map((e) => [
    td(e.strategy),
    td(e.workload),
    td(e.explorer),
    num(fmtNumber(e.schedules)),
    td(e.exhaustive ? 'yes' : e.timedOut ? 'no (time limit)' : 'no'),
    num(fmtNumber(e.elapsedMs)),
    td(e.interleavings ?? ''),
    num(fmtNumber(e.violations.length)),
  ]);
  const violationRows = explore.flatMap((e) =>
    e.violations.map((v) => [td(e.strategy), td(e.workload), td(v.kind), td(v.message), num(fmtNumber(v.steps)), `<td class="token"><code>hugesync replay ${esc(v.replay)}</code></td>`]),
  );
  const runRows = runs.map((r: ReportRun) =>
    r.error
      ? [td(r.strategy), td(r.workload), num(fmtNumber(r.cpus)), `<td colspan="9">error: ${esc(r.error)}</td>`]
      : [
          td(r.strategy),
          td(r.workload),
          num(fmtNumber(r.cpus)),
          num(fmtAuto(r.simulatedSeconds)),
          num(fmtNumber(r.wallMs)),
          num(fmtNumber(r.faultsPerSec)),
          num(fmtNumber(r.waits)),
          num(fmtAuto(r.waitTimeMs)),
          num(fmtAuto(r.maxFaultWaitUs)),
          num(fmtAuto(r.faultLatencyUs.p50)),
          num(fmtAuto(r.faultLatencyUs.p99)),
          num(fmtAuto(r.faultLatencyUs.max)),
        ],
  );
  const lockRows = runs.flatMap((r) =>
    [...r.locks]
      .sort((a, b) => b.waitTimeMs - a.waitTimeMs || a.name.localeCompare(b.name))
      .map((l) => [td(r.strategy), td(r.workload), td(l.name), num(fmtNumber(l.acquisitions)), num(fmtNumber(l.contended)), num(fmtAuto(l.waitTimeMs)), num(fmtAuto(l.maxWaitUs))]),
  );

  const strategyRows = data.strategies.map((s) => [td(s.name), td(s.description), td(s.package), num(String(s.seed))]);
  const workloadRows = data.workloads.map((w) => [td(w.name), td(w.tags.join(', ')), td(w.description)]);
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@hugesync/report (d3 ${esc(lib.d3Version)}, @observablehq/plot ${esc(lib.plotVersion)})">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">${data.strategies.length} strategies, ${data.workloads.length} workloads${data.generatedAt ? `, generated ${esc(data.generatedAt)}` : ''}.</p>
<pre class="cmd"><code>${esc(data.command)}</code></pre>
<nav><a href="#verdicts">verdicts</a><a href="#throughput">throughput</a><a href="#wait">wait time</a><a href="#latency">fault latency</a><a href="#locks">locks</a><a href="#setup">strategies and workloads</a></nav>

<h2 id="verdicts">Race exploration verdicts</h2>
<p class="note">Green: no violation in an exhaustive exploration. Light green: none in the schedules tried (bounded). Red: the checkers found the named violations; each has a replay command below.</p>
<div class="chart" id="chart-verdicts" data-chart="verdicts">Charts need JavaScript; the table below has the same verdicts.</div>
${table(['workload', ...gridS], gridRows, 'grid')}
<h3>Explorations</h3>
${table(['strategy', 'workload', 'explorer', 'schedules', 'exhaustive', 'elapsed ms', 'interleavings', 'violations'], exploreRows)}
<h3>Violations and replay tokens</h3>
${table(['strategy', 'workload', 'kind', 'message', 'steps', 'replay'], violationRows)}

<h2 id="throughput">Throughput</h2>
<p class="note">Page faults completed per simulated second, per strategy, for each perf workload (timed simulator).</p>
<div class="chart" id="chart-throughput" data-chart="throughput"></div>

<h2 id="wait">Wait time</h2>
<p class="note">Total time threads spent waiting for locks, simulated milliseconds.</p>
<div class="chart" id="chart-wait" data-chart="wait"></div>

<h2 id="latency">Fault latency</h2>
<p class="note">Per strategy: median (p50), 99th percentile and maximum fault latency in simulated µs; the line spans p50 to max.</p>
<div class="chart" id="chart-latency" data-chart="latency"></div>
<h3>Timed runs</h3>
${table(['strategy', 'workload', 'cpus', 'simulated s', 'wall ms', 'faults/s', 'waits', 'wait ms', 'max fault wait µs', 'p50 µs', 'p99 µs', 'max µs'], runRows)}

<h2 id="locks">Locks</h2>
<p class="note">lock_stat-style figures per timed run, most waited-for first.</p>
${table(['strategy', 'workload', 'lock class', 'acquisitions', 'contended', 'wait ms', 'max wait µs'], lockRows)}

<h2 id="setup">Strategies and workloads</h2>
${table(['strategy', 'description', 'package', 'seed'], strategyRows)}
${table(['workload', 'tags', 'description'], workloadRows)}

<script type="application/json" id="hs-data">${json}</script>
<script>${lib.d3}</script>
<script>${lib.plot}</script>
<script>${scriptSafe(CLIENT_JS)}</script>
</body>
</html>
`;
}

/** Write the report atomically: a temporary file next to `file`, then rename. */
export function writeHtmlReport(data: CompareReport, file: string, opts: RenderOptions = {}): void {
  const html = renderHtmlReport(data, opts);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, html);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as { code?: string }).code;
    throw new Error(`cannot write ${file}${code ? ` (${code})` : ''}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}
