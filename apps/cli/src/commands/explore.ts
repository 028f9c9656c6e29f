/** hugesync explore: search a workload's interleavings for violations under each strategy. */
import type { Command } from 'commander';
import type { ExplorerName } from '@hugesync/core';
import { resolveStrategies } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { EXIT_HELP } from '../exit.js';
import { resolveWorkload } from '../catalog.js';
import { exploreOne, dporKnownMissing, type ExploreJson } from '../engine.js';
import { choiceArg, collectSet, intArg, numArg } from '../options.js';
import { progress } from '../io.js';
import { indent, verdictLine } from '../format.js';
import { UsageError } from '../errors.js';

interface ExploreCliOptions {
  workload: string;
  strategy: string;
  explorer?: ExplorerName;
  schedules?: number;
  seed: number;
  timeLimit: number;
  depth: number;
  all?: boolean;
  /** false with --no-lock-reduction. */
  lockReduction: boolean;
  set?: Record<string, string>;
  json?: boolean;
}

/** Default schedule budget per explorer (dpor: an upper bound; it stops when exhaustive). */
export function defaultSchedules(e: ExplorerName): number {
  return e === 'dpor' ? 100_000 : 1000;
}

export function registerExplore(program: Command, run: Run): void {
  program
    .command('explore')
    .description('Search the interleavings of a workload for violations (stale or freed pte pointers, lock order, deadlock, ...) under each strategy.')
    .requiredOption('-w, --workload <name|file>', 'catalog workload name or workload file (YAML/JSON)')
    .requiredOption('-s, --strategy <name|a,b|all|path>', 'strategy name, comma list, "all", or a path/package with your own strategy')
    .option('-e, --explorer <random|pct|dpor>', 'exploration method (default: dpor when available, else random)', choiceArg('--explorer', ['random', 'pct', 'dpor'] as const))
    .option('-n, --schedules <N>', 'schedules to run (random, pct; default 1000) or at most (dpor; default 100000)', intArg('--schedules', 1))
    .option('--seed <N>', 'seed of the explorer and of address placement', intArg('--seed', 0), 1)
    .option('-t, --time-limit <S>', 'wall-clock limit per strategy, seconds (a run cut short says so)', numArg('--time-limit', { positive: true }), 60)
    .option('--depth <d>', 'PCT bug depth', intArg('--depth', 1), 3)
    .option('--all', 'keep exploring after the first violation to collect every kind')
    .option('--no-lock-reduction', 'dpor: order every two critical sections of one lock (plain source-set DPOR), not only those whose steps conflict')
    .option('--set <key=value>', 'override a workload parameter (repeatable)', collectSet)
    .option('--json', 'machine-readable output: {results:[{strategy, workload, explorer, schedules, exhaustive, elapsedMs, firstViolationMs?, interleavings?, violations:[{kind, message, replay, steps}]}]}')
    .addHelpText(
      'after',
      `
Each violation comes with a replay token: \`hugesync replay <token>\` shows the interleaving.
A strategy that throws is reported as a strategy-error finding; the others still run.

Examples:
  $ hugesync explore --workload pmd-unshare-race --strategy none
  $ hugesync explore -w fault-truncate-race -s none,i-mmap-rwsem,vma-lock --explorer pct --schedules 5000
  $ hugesync explore -w pmd-unshare-race -s ./my-strategy --set faults=3 --json

${EXIT_HELP}`,
    )
    .action(async (o: ExploreCliOptions) => {
      const { ctx } = run;
      const strategies = await resolveStrategies(o.strategy, { cwd: ctx.cwd });
      const spec = await resolveWorkload(o.workload, o.set ?? {}, ctx.cwd);
      const bar = progress(ctx, !!o.json);
      const results: ExploreJson[] = [];
      let explorer: ExplorerName = o.explorer ?? 'dpor';
      if (!o.json) ctx.print(`workload ${spec.name}${Object.keys(spec.params).length ? ` (${Object.entries(spec.params).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}, seed ${o.seed}`);
      for (const s of strategies) {
        let r: ExploreJson | null = null;
        for (;;) {
          const schedules = o.schedules ?? defaultSchedules(explorer);
          bar.start(schedules, `${s.name} (${explorer})`);
          r = exploreOne(spec, s, {
            explorer,
            schedules,
            seed: o.seed,
            timeLimitMs: o.timeLimit * 1000,
            pctDepth: o.depth,
            all: !!o.all,
            reduceLocks: o.lockReduction,
            onProgress: (d) => bar.update(d),
          });
          bar.stop();
          if (r || !dporKnownMissing()) break;
          // dpor is not in this build: an explicit request is an error, the default falls back.
          if (o.explorer === 'dpor') throw new UsageError('the dpor explorer is not available in this build (use --explorer random or pct)');
          explorer = 'random';
        }
        if (!r) continue;
        results.push(r);
        if (!o.json) printResult(run, r);
      }
      if (o.json) ctx.print(JSON.stringify({ results }, null, 2));
      run.code = results.some((r) => r.violations.length > 0) ? 1 : 0;
    });
}

function printResult(run: Run, r: ExploreJson): void {
  const { ctx } = run;
  ctx.print(verdictLine(r));
  for (const v of r.violations) {
    ctx.print(`  ${v.kind}: ${v.message}`);
    if (v.report) ctx.print(indent(v.report.trimEnd(), '    | '));
    if (v.replay) ctx.print(`    replay (${v.steps} steps${v.preemptions !== undefined ? `, ${v.preemptions} context switches` : ''}): hugesync replay ${v.replay}`);
  }
}
