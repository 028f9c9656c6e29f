/** Plain-text formatting: tables, numbers, verdicts. */
import type { ExploreJson, SimResult } from './engine.js';

export type Align = 'l' | 'r';

/** A text table; columns sized to their widest cell; numbers right-aligned where asked. */
export function table(header: string[], rows: string[][], align: Align[] = []): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtNum(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmtInt(n)} ${n === 1 ? one : many}`;
}

const EXPLORER_LABEL: Record<string, string> = { dpor: 'DPOR', pct: 'PCT', random: 'random' };

export function explorerLabel(e: string): string {
  return EXPLORER_LABEL[e] ?? e;
}

/** Distinct violation kinds in order of first appearance. */
export function kinds(r: ExploreJson): string[] {
  return [...new Set(r.violations.map((v) => v.kind))];
}

/** "none: 2 violations (pte-stale-owner, pte-use-after-free) after 12 schedules (random)" and the clean forms. */
export function verdictLine(r: ExploreJson): string {
  const ex = explorerLabel(r.explorer);
  const cut = r.timedOut ? ', time limit reached' : '';
  const plain = r.interleavings ? `; ${r.interleavings} plain interleavings` : '';
  if (r.violations.length > 0) {
    const first = r.firstViolationMs !== undefined ? `, first found in ${fmtInt(r.firstViolationMs)} ms` : '';
    const exh = r.exhaustive ? ', exhaustive' : '';
    return `${r.strategy}: ${plural(r.violations.length, 'violation')} (${kinds(r).join(', ')}) after ${plural(r.schedules, 'schedule')} (${ex}${exh}${first}${plain}${cut})`;
  }
  if (r.exhaustive) {
    return `${r.strategy}: no violation, exhaustive (${ex}, ${plural(r.schedules, 'schedule')}${plain})`;
  }
  return `${r.strategy}: no violation in ${plural(r.schedules, 'schedule')} (${ex}, not exhaustive${plain}${cut})`;
}

/** Short cell for matrices: the kinds, or "clean (exhaustive)" / "clean (N)" (N schedules, not exhaustive). */
export function verdictCell(r: ExploreJson | undefined): string {
  if (!r) return '-';
  if (r.violations.length > 0) return kinds(r).join(', ');
  return r.exhaustive ? 'clean (exhaustive)' : `clean (${fmtInt(r.schedules)})`;
}

export function simRow(r: SimResult): string[] {
  if (r.error) return [r.strategy, 'error', '', '', '', '', '', ''];
  return [
    r.strategy,
    fmtInt(r.faultsPerSec),
    fmtInt(r.waits),
    fmtNum(r.waitTimeMs, 2),
    fmtNum(r.maxFaultWaitUs, 1),
    fmtNum(r.faultLatencyUs.p50, 2),
    fmtNum(r.faultLatencyUs.p99, 2),
    fmtNum(r.faultLatencyUs.max, 1),
  ];
}

export const SIM_HEADER = ['strategy', 'faults/s', 'waits', 'wait ms', 'max fault wait µs', 'p50 µs', 'p99 µs', 'max µs'];
export const SIM_ALIGN: Align[] = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];

/** Indent every line of a block. */
export function indent(s: string, by = '    '): string {
  return s
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}
