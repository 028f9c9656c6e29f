/** hugesync compare: every workload x every strategy — race verdicts and performance side by side. */
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { ExplorerName, WorkloadSpec, SyncStrategy } from '@hugesync/core';
import { resolveStrategies, builtinPackageOf, didYouMean } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { isWorkloadPath, listWorkloads, resolveWorkload } from '../catalog.js';
import { defaultCpus, dporKnownMissing, exploreOne, simulateOne, type ExploreJson, type SimResult } from '../engine.js';
import { choiceArg, intArg, listArg, numArg } from '../options.js';
import { progress } from '../io.js';
import { fmtInt, fmtNum, table, verdictCell, explorerLabel } from '../format.js';
import { UsageError } from '../errors.js';
import { commandLine, writeHtmlReport } from '../html.js';
import { checkWritable } from '../atomic.js';

export interface CompareCell {
  workload: string;
  strategy: string;
  explore?: ExploreJson;
  run?: SimResult;
}

export interface CompareData {
  settings: {
    seed: number;
    explorer: ExplorerName;
    schedules: number;
    /** Per race cell: the --time-limit given, or the first cell's share of the race budget. */
    timeLimitSec: number;
    /** Wall-clock seconds for the whole comparison (0 when --time-limit fixed the race cells' limit). */
    budgetSec: number;
    durationSec: number;
    simulator: boolean;
  };
  strategies: Array<{ name: string; package: string; description: string; /** The posting or release it models. */ posting?: string }>;
  workloads: Array<{ name: string; tags: string[]; description: string; explored: boolean; simulated: boolean; cpus?: number }>;
  cells: CompareCell[];
}

interface CompareCliOptions {
  workloads?: string[];
  strategies: string;
  explorer?: ExplorerName;
  schedules: number;
  timeLimit?: number;
  budget: number;
  duration: number;
  seed: number;
  json?: boolean;
  markdown?: boolean;
  html?: string;
}

/**
 * Wall-clock seconds for the whole default comparison (with the cached build, `npm start` takes
 * about a minute). Race cells share RACE_SHARE of it, perf cells the rest; each cell gets what is
 * left of its share divided by the cells still to run, so time a cell does not need (exhaustive
 * early, violation found) goes to the later ones.
 */
export const COMPARE_BUDGET_SEC = 50;
export const RACE_SHARE = 0.6;
export const COMPARE_SCHEDULES = 300;
/** Simulated seconds per perf cell. */
export const COMPARE_DURATION = 0.01;
/** Bounds of one race cell's time limit, and the least wall time a perf cell gets (seconds). */
export const RACE_CELL_MIN = 0.5;
export const RACE_CELL_MAX = 10;
export const PERF_CELL_MIN = 2;

export function isPerf(tags: readonly string[]): boolean {
  return tags.includes('perf');
}
export function isRace(tags: readonly string[]): boolean {
  return tags.includes('race') || !tags.includes('perf');
}

export function registerCompare(program: Command, run: Run): void {
  program
    .command('compare')
    .description('Run every workload against every strategy: race workloads are explored, perf workloads simulated; print a matrix.')
    .option('-W, --workloads <a,b>', 'catalog workloads or files (default: the whole catalog)', listArg)
    .option('-S, --strategies <x,y|all|path>', 'strategies (default: all built-in)', 'all')
    .option('-e, --explorer <random|pct|dpor>', 'explorer for race workloads (default: dpor when available, else random)', choiceArg('--explorer', ['random', 'pct', 'dpor'] as const))
    .option('-n, --schedules <N>', 'schedules per race cell for random/pct (dpor stops when exhaustive)', intArg('--schedules', 1), COMPARE_SCHEDULES)
    .option('-t, --time-limit <S>', `wall-clock limit per race cell, seconds (default: a share of --budget, ${RACE_CELL_MIN}..${RACE_CELL_MAX} s each)`, numArg('--time-limit', { positive: true }))
    .option('-b, --budget <S>', 'wall-clock seconds for the whole comparison, shared by the cells (race cells get 60%)', numArg('--budget', { positive: true }), COMPARE_BUDGET_SEC)
    .option('-d, --duration <S>', 'simulated seconds per perf cell', numArg('--duration', { positive: true }), COMPARE_DURATION)
    .option('--seed <N>', 'seed for every cell', intArg('--seed', 0), 1)
    .option('--json', 'machine-readable output: {settings, strategies, workloads, cells:[{workload, strategy, explore?, run?}]}')
    .option('--markdown', 'print the matrices as Markdown tables')
    .option('--html <file>', 'also write a self-contained HTML report to FILE')
    .addHelpText(
      'after',
      `
Race-tagged workloads (and untagged ones) are explored; perf-tagged ones run in the timed
simulator with one CPU per process. The cells share a wall-clock budget (--budget, default
${COMPARE_BUDGET_SEC} s; race cells get ${Math.round(RACE_SHARE * 100)}%), so the default run takes about a minute.
Violations found are results, not failures: the exit status is 0 unless the input is bad.
Replay tokens are in the --json output and the HTML report.

Examples:
  $ hugesync compare
  $ hugesync compare --workloads pmd-unshare-race,fault-truncate-race --strategies none,vma-lock --markdown
  $ hugesync compare --html hugesync-report.html

Exit status:
  0  the comparison ran (whatever it found)
  2  bad input: unknown option, strategy or workload, bad value, unwritable --html file
  3  internal error`,
    )
    .action(async (o: CompareCliOptions) => {
      const { ctx } = run;
      if (o.json && o.markdown) throw new UsageError('--json and --markdown exclude each other');
      if (o.html) checkWritable(resolvePath(ctx.cwd, o.html));
      const strategies = await resolveStrategies(o.strategies, { cwd: ctx.cwd });
      const catalog = await listWorkloads();
      const names = o.workloads ?? catalog.map((w) => w.name);
      if (names.length === 0) throw new UsageError('no workloads to compare');
      const specs: WorkloadSpec[] = [];
      for (const n of names) {
        if (!isWorkloadPath(n) && !catalog.some((w) => w.name === n)) throw new UsageError(`unknown workload "${n}"${didYouMean(n, catalog.map((w) => w.name))}`);
        specs.push(await resolveWorkload(n, {}, ctx.cwd));
      }
      const raceCells = specs.filter((s) => isRace(s.tags)).length * strategies.length;
      const perfCells = specs.filter((s) => isPerf(s.tags)).length * strategies.length;
      // Budgets: race cells get RACE_SHARE of it when there are perf cells too, and the other way round.
      const raceBudget = o.budget * (perfCells === 0 ? 1 : raceCells === 0 ? 0 : RACE_SHARE);
      let raceLeft = raceBudget;
      let perfLeft = o.budget - raceBudget;
      let raceToGo = raceCells;
      let perfToGo = perfCells;
      const raceLimit = (): number => o.timeLimit ?? Math.min(RACE_CELL_MAX, Math.max(RACE_CELL_MIN, raceLeft / Math.max(1, raceToGo)));
      const timeLimitSec = raceLimit();
      let explorer: ExplorerName = o.explorer ?? 'dpor';
      const data: CompareData = {
        settings: { seed: o.seed, explorer, schedules: o.schedules, timeLimitSec, budgetSec: o.timeLimit === undefined ? o.budget : 0, durationSec: o.duration, simulator: true },
        strategies: strategies.map((s) => ({ name: s.name, package: builtinPackageOf(s), description: s.description, ...(s.seed ? { posting: s.seed } : {}) })),
        workloads: specs.map((s) => ({
          name: s.name,
          tags: [...s.tags],
          description: s.description,
          explored: isRace(s.tags),
          simulated: isPerf(s.tags),
          ...(isPerf(s.tags) ? { cpus: defaultCpus(s) } : {}),
        })),
        cells: [],
      };
      const total = specs.reduce((n, s) => n + (isRace(s.tags) ? 1 : 0) + (isPerf(s.tags) ? 1 : 0), 0) * strategies.length;
      const bar = progress(ctx, !!o.json);
      bar.start(total, 'compare');
      let done = 0;
      for (const spec of specs) {
        for (const s of strategies) {
          const cell: CompareCell = { workload: spec.name, strategy: s.name };
          if (isRace(spec.tags)) {
            const limit = raceLimit();
            const t0 = Date.now();
            cell.explore = exploreCell(spec, s, explorer, o, limit);
            if (explorer === 'dpor' && dporKnownMissing()) {
              if (o.explorer === 'dpor') throw new UsageError('the dpor explorer is not available in this build (use --explorer random or pct)');
              explorer = 'random';
              data.settings.explorer = explorer;
              cell.explore = exploreCell(spec, s, explorer, o, limit);
            }
            raceLeft -= (Date.now() - t0) / 1000;
            raceToGo--;
            bar.update(++done);
          }
          if (isPerf(spec.tags)) {
            const t0 = Date.now();
            const maxWallMs = Math.max(PERF_CELL_MIN, perfLeft / Math.max(1, perfToGo)) * 1000;
            cell.run = simulateOne(spec, s, { cpus: defaultCpus(spec), durationSec: o.duration, seed: o.seed, maxWallMs });
            perfLeft -= (Date.now() - t0) / 1000;
            perfToGo--;
            bar.update(++done);
          }
          data.cells.push(cell);
        }
      }
      bar.stop();
      if (o.html) writeHtmlReport(data, resolvePath(ctx.cwd, o.html), commandLine(run.argv));
      if (o.json) ctx.print(JSON.stringify(data, null, 2));
      else if (o.markdown) ctx.print(markdown(data));
      else printMatrix(run, data, !!o.html);
      if (o.html) (o.json ? ctx.err : ctx.out).write(`HTML report: ${resolvePath(ctx.cwd, o.html)}\n`);
      run.code = 0;
    });
}

/** Schedules per DPOR cell in compare (deterministic verdicts). */
const DPOR_CELL_SCHEDULES = 400;
const DPOR_CELL_GUARD_SEC = 30;

function exploreCell(spec: WorkloadSpec, s: SyncStrategy, explorer: ExplorerName, o: CompareCliOptions, timeLimitSec: number): ExploreJson | undefined {
  return (
    exploreOne(spec, s, {
      explorer,
      // DPOR cells are bounded by a schedule count, so the verdict does not depend on the machine's
      // speed or load; the wall-clock share is only a guard (at least DPOR_CELL_GUARD_SEC).
      schedules: explorer === 'dpor' ? DPOR_CELL_SCHEDULES : o.schedules,
      seed: o.seed,
      timeLimitMs: (explorer === 'dpor' ? Math.max(timeLimitSec, DPOR_CELL_GUARD_SEC) : timeLimitSec) * 1000,
    }) ?? undefined
  );
}

function cellOf(data: CompareData, w: string, s: string): CompareCell | undefined {
  return data.cells.find((c) => c.workload === w && c.strategy === s);
}

function perfCell(r: SimResult | undefined): string {
  if (!r) return '-';
  if (r.error) return 'error';
  const cut = r.stoppedBy === 'wall-limit' ? ` (cut at ${fmtNum(r.simulatedSeconds * 1e3, 1)} sim ms)` : '';
  return `${fmtInt(r.faultsPerSec)}/s, max wait ${fmtNum(r.maxFaultWaitUs, 0)} µs${cut}`;
}

function printMatrix(run: Run, data: CompareData, withHtml: boolean): void {
  const { ctx } = run;
  const strategies = data.strategies.map((s) => s.name);
  const race = data.workloads.filter((w) => w.explored);
  const perf = data.workloads.filter((w) => w.simulated);
  const section = (title: string, ws: typeof data.workloads, cell: (w: string, s: string) => string) => {
    ctx.print(title);
    const fits = (t: string) => Math.max(...t.split('\n').map((l) => l.length)) <= ctx.width;
    // A workload per row; or, when that is too wide, a strategy per row; or one block per workload.
    const byWorkload = table(['workload', ...strategies], ws.map((w) => [w.name, ...strategies.map((s) => cell(w.name, s))]));
    const byStrategy = table(['strategy', ...ws.map((w) => w.name)], strategies.map((s) => [s, ...ws.map((w) => cell(w.name, s))]));
    if (fits(byWorkload)) ctx.print(byWorkload);
    else if (fits(byStrategy)) ctx.print(byStrategy);
    else {
      // Too wide for the terminal: one block per workload.
      for (const w of ws) {
        ctx.print(`  ${w.name}`);
        const sw = Math.max(...strategies.map((s) => s.length));
        for (const s of strategies) ctx.print(`    ${s.padEnd(sw)}  ${cell(w.name, s)}`);
      }
    }
    ctx.print();
  };
  const st = data.settings;
  if (race.length > 0) {
    section(
      `Races (${explorerLabel(st.explorer)}${st.explorer === 'dpor' ? `, at most ${fmtInt(DPOR_CELL_SCHEDULES)} schedules per cell` : `, ${fmtInt(st.schedules)} schedules`}, ${st.budgetSec > 0 ? `${fmtNum(st.budgetSec * (data.workloads.some((w) => w.simulated) ? RACE_SHARE : 1), 0)} s shared by the cells` : `at most ${fmtNum(st.timeLimitSec, 1)} s per cell`}, seed ${st.seed}; "clean (N)": N schedules, not exhaustive):`,
      race,
      (w, s) => verdictCell(cellOf(data, w, s)?.explore),
    );
  }
  if (perf.length > 0) section(`Performance (${fmtNum(st.durationSec, 3)} simulated s, one CPU per process):`, perf, (w, s) => perfCell(cellOf(data, w, s)?.run));
  const errors = data.cells.flatMap((c) => [...(c.explore?.violations ?? []), ...(c.run?.violations ?? [])].filter((v) => v.kind === 'strategy-error').map((v) => `${c.workload}: ${v.message}`));
  for (const e of errors) ctx.print(`strategy error: ${e}`);
  if (data.cells.some((c) => c.explore?.violations.length)) {
    ctx.print(`Replay tokens for every violation: ${withHtml ? 'in the HTML report, or ' : ''}hugesync compare --json (cells[].explore.violations[].replay).`);
  }
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdown(data: CompareData): string {
  const strategies = data.strategies.map((s) => s.name);
  const head = `| workload | ${strategies.map(mdEscape).join(' | ')} |\n|---|${strategies.map(() => '---').join('|')}|`;
  const out: string[] = [];
  const race = data.workloads.filter((w) => w.explored);
  if (race.length > 0) {
    out.push('### Races', '', head);
    for (const w of race) out.push(`| ${mdEscape(w.name)} | ${strategies.map((s) => mdEscape(verdictCell(cellOf(data, w.name, s)?.explore))).join(' | ')} |`);
    out.push('');
  }
  const perf = data.workloads.filter((w) => w.simulated);
  if (perf.length > 0) {
    out.push('### Performance', '', head);
    for (const w of perf) out.push(`| ${mdEscape(w.name)} | ${strategies.map((s) => mdEscape(perfCell(cellOf(data, w.name, s)?.run))).join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

