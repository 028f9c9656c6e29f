/** hugesync run: the timed simulator — throughput, lock contention and fault latency per strategy. */
import type { Command } from 'commander';
import { resolveStrategies } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { EXIT_HELP } from '../exit.js';
import { resolveWorkload } from '../catalog.js';
import { defaultCpus, type SimResult } from '../engine.js';
import { defaultSimWorkers, simulateMany } from '../sim-worker.js';
import { collectSet, intArg, numArg } from '../options.js';
import { progress } from '../io.js';
import { fmtInt, fmtNum, SIM_ALIGN, SIM_HEADER, simRow, table } from '../format.js';

interface RunCliOptions {
  workload: string;
  strategy: string;
  cpus?: number;
  duration: number;
  seed: number;
  set?: Record<string, string>;
  json?: boolean;
  workers?: number;
}

export const DEFAULT_DURATION = 0.1;

export function registerRun(program: Command, run: Run): void {
  program
    .command('run')
    .description('Simulate a workload on N CPUs for a simulated duration and measure faults/s, lock waits and fault latency per strategy.')
    .requiredOption('-w, --workload <name|file>', 'catalog workload name or workload file (YAML/JSON)')
    .requiredOption('-s, --strategy <name|a,b|all|path>', 'strategy name, comma list, "all", or a path/package with your own strategy')
    .option('-c, --cpus <N>', 'simulated CPUs (default: one per process that runs threads)', intArg('--cpus', 1))
    .option('-d, --duration <S>', 'simulated seconds', numArg('--duration', { positive: true }), DEFAULT_DURATION)
    .option('--seed <N>', 'seed of the simulator', intArg('--seed', 0), 1)
    .option('--set <key=value>', 'override a workload parameter (repeatable)', collectSet)
    .option('--workers <N>', 'worker threads: strategies simulated at once (default: one per strategy, at most one per core; 1 = one after the other)', intArg('--workers', 1))
    .option('--json', 'machine-readable output: {results:[SimResult]} (faultsPerSec, waits, waitTimeMs, maxFaultWaitUs, faultLatencyUs, locks, ...)')
    .addHelpText(
      'after',
      `
Examples:
  $ hugesync run --workload map-fault-unmap --strategy none,i-mmap-rwsem,vma-lock --cpus 8
  $ hugesync run -w map-fault-unmap -s all --duration 0.5 --json > perf.json
  $ hugesync run -w map-fault-unmap -s i-mmap-rwsem,vma-lock --cpus 48 --set processes=48 --set fileSize=250GiB --duration 10

${EXIT_HELP}`,
    )
    .action(async (o: RunCliOptions) => {
      const { ctx } = run;
      const strategies = await resolveStrategies(o.strategy, { cwd: ctx.cwd });
      const spec = await resolveWorkload(o.workload, o.set ?? {}, ctx.cwd);
      const cpus = o.cpus ?? defaultCpus(spec);
      const bar = progress(ctx, !!o.json);
      const workers = o.workers ?? defaultSimWorkers(strategies.length);
      // One bar for the whole run: the mean of each strategy's fraction done.
      const done = new Float64Array(strategies.length);
      let sum = 0;
      bar.start(1000, strategies.length === 1 ? `${strategies[0]!.name} (${cpus} cpus)` : `${strategies.length} strategies (${cpus} cpus)`);
      const results: SimResult[] = await simulateMany({
        spec,
        strategies,
        strategyArg: o.strategy,
        cwd: ctx.cwd,
        opts: { cpus, durationSec: o.duration, seed: o.seed },
        workers,
        onProgress: (i, f) => {
          sum += f - done[i]!;
          done[i] = f;
          bar.update(Math.round((sum / strategies.length) * 1000));
        },
      });
      bar.stop();
      run.code = results.some((r) => (r.violations?.length ?? 0) > 0) ? 1 : 0;
      if (o.json) {
        ctx.print(JSON.stringify({ results }, null, 2));
        return;
      }
      ctx.print(`workload ${spec.name}, ${cpus} CPUs, ${fmtNum(o.duration, 3)} simulated s, seed ${o.seed}`);
      ctx.print();
      printSimTable(run, results);
    });
}

/** The performance table, then the top contended locks and any violation seen during the run. */
export function printSimTable(run: Run, results: SimResult[], topLocks = 3): void {
  const { ctx } = run;
  ctx.print(table(SIM_HEADER, results.map(simRow), SIM_ALIGN));
  const contended = results.filter((r) => r.locks.some((l) => l.contended > 0));
  if (contended.length > 0) {
    ctx.print();
    ctx.print('Top contended locks:');
    const rows: string[][] = [];
    for (const r of contended) {
      const top = [...r.locks].filter((l) => l.contended > 0).sort((a, b) => b.waitTimeMs - a.waitTimeMs || b.contended - a.contended).slice(0, topLocks);
      for (const l of top) rows.push([r.strategy, l.name, fmtInt(l.acquisitions), fmtInt(l.contended), fmtNum(l.waitTimeMs, 2), fmtNum(l.maxWaitUs, 1)]);
    }
    ctx.print(table(['strategy', 'lock', 'acquisitions', 'contended', 'wait ms', 'max wait µs'], rows, ['l', 'l', 'r', 'r', 'r', 'r']));
  }
  for (const r of results) {
    if (r.stoppedBy && r.stoppedBy !== 'duration') ctx.print(`${r.strategy}: stopped by ${r.stoppedBy} after ${fmtNum(r.simulatedSeconds, 4)} simulated s`);
    for (const v of r.violations ?? []) ctx.print(`${r.strategy}: ${v.kind}: ${v.message}`);
  }
}
