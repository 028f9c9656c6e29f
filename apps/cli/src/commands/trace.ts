/**
 * hugesync trace: one run of the model as a Chrome trace-event JSON file (opens in the Perfetto UI,
 * ui.perfetto.dev, and chrome://tracing): the schedule of a replay token, one seeded schedule of a
 * workload, or a timed-simulator run (--timed).
 */
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import {
  attachTracer,
  makeScheduler,
  ReplayScheduler,
  runOnce,
  simulate,
  specHash,
  toTraceJson,
  type Kernel,
  type Scheduler,
  type SyncStrategy,
  type TraceEvent,
  type Tracer,
  type WorkloadSpec,
} from '@hugesync/core';
import { resolveStrategies } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { resolveWorkload } from '../catalog.js';
import { defaultCpus } from '../engine.js';
import { choiceArg, collectSet, intArg, numArg } from '../options.js';
import { fmtInt, fmtNum, plural } from '../format.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic, checkWritable } from '../atomic.js';
import { commandLine } from '../html.js';
import { resolveToken } from './replay.js';

interface TraceCliOptions {
  out: string;
  workload?: string;
  strategy?: string;
  seed?: number;
  explorer?: 'random' | 'pct';
  depth: number;
  timed?: boolean;
  cpus?: number;
  duration?: number;
  set?: Record<string, string>;
}

/** Simulated seconds of a --timed trace when --duration is not given (map-fault-unmap on 4 CPUs: ~300 KB, well under a second). */
export const TRACE_DURATION = 0.005;

export interface TraceSummary {
  threads: number;
  events: number;
  violations: string[];
}

/** Count what a trace holds: traced threads, non-metadata events, violation instants (by kind). */
export function summarize(events: readonly TraceEvent[], threads: number): TraceSummary {
  return {
    threads,
    events: events.filter((e) => e.ph !== 'M').length,
    violations: events.filter((e) => e.ph === 'i' && e.cat === 'violation').map((e) => e.name),
  };
}

export function registerTrace(program: Command, run: Run): void {
  program
    .command('trace')
    .description('Write one run as a Chrome trace-event JSON file for the Perfetto UI: a replay token\'s schedule, one seeded schedule, or a timed run.')
    .argument('[token]', 'replay token printed by explore or compare (starts with "hs1."); without it, --workload and --strategy')
    .requiredOption('-o, --out <file>', 'trace file to write (JSON; written whole or not at all)')
    .option('-w, --workload <name|file>', 'workload (with a token: instead of the one it names)')
    .option('-s, --strategy <name|path>', 'one strategy (with a token: instead of the one it names)')
    .option('--seed <N>', 'seed of the schedule and of address placement (not with a token)', intArg('--seed', 0))
    .option('-e, --explorer <random|pct>', 'how the one schedule is drawn (default random; not with a token or --timed)', choiceArg('--explorer', ['random', 'pct'] as const))
    .option('--depth <d>', 'PCT bug depth', intArg('--depth', 1), 3)
    .option('--timed', 'run the timed simulator instead: virtual time in ns, threads on --cpus CPUs')
    .option('-c, --cpus <N>', 'simulated CPUs with --timed (default: one per process that runs threads)', intArg('--cpus', 1))
    .option('-d, --duration <S>', `simulated seconds with --timed (default ${TRACE_DURATION})`, numArg('--duration', { positive: true }))
    .option('--set <key=value>', 'override a workload parameter (repeatable; not with a token)', collectSet)
    .addHelpText(
      'after',
      `
Each simulated thread is a track with its workload ops and kernel functions as nested slices;
"<thread> locks" tracks show lock holds, waits are async slices, a violation is an instant
event named after its kind, and counters follow free huge pages and PMD-table share counts.
Untimed traces use one µs per step; --timed traces use the simulator's virtual time.
Open the file at https://ui.perfetto.dev (or chrome://tracing).

Examples:
  $ hugesync trace hs1.eyJ2IjoxLCJ3Ijoi... --out race.json
  $ hugesync trace --workload pmd-unshare-race --strategy vma-lock --seed 7 --out one.json
  $ hugesync trace --workload map-fault-unmap --strategy vma-lock --timed --cpus 4 --duration 0.0005 --out perf.json

Exit status:
  0  trace written; the run had no violation
  1  trace written; the run hit a violation (it is in the trace)
  2  bad input: unknown option, workload or strategy, bad token or value, unwritable --out file
  3  internal error`,
    )
    .action(async (tok: string | undefined, o: TraceCliOptions) => {
      const { ctx } = run;
      const out = resolvePath(ctx.cwd, o.out);
      checkWritable(out);
      if (!o.timed) {
        if (o.cpus !== undefined) throw new UsageError('--cpus needs --timed');
        if (o.duration !== undefined) throw new UsageError('--duration needs --timed');
      }
      let spec: WorkloadSpec;
      let strategy: SyncStrategy;
      let what: string;
      let scheduler: Scheduler | null = null;
      let seed: number;
      const meta: Record<string, unknown> = { tool: 'hugesync', command: commandLine(run.argv) };
      if (tok !== undefined) {
        if (o.timed) throw new UsageError('--timed does not take a replay token (the simulator makes its own schedule): use --workload and --strategy');
        for (const [flag, v] of [['--seed', o.seed], ['--explorer', o.explorer], ['--set', o.set]] as const) {
          if (v !== undefined) throw new UsageError(`${flag} does not go with a replay token (the token fixes it)`);
        }
        const r = await resolveToken(tok, o, ctx.cwd);
        spec = r.spec;
        strategy = r.strategy;
        seed = r.token.seed;
        scheduler = new ReplayScheduler(r.token.schedule);
        if (specHash(spec) !== r.token.specHash) ctx.warn(`workload "${spec.name}" differs from the one the token was made with; the schedule may not reproduce`);
        what = `replay of a ${r.token.explorer} schedule (${plural(r.token.schedule.length, 'step')})`;
        Object.assign(meta, { mode: 'replay', explorer: r.token.explorer });
      } else {
        if (!o.workload || !o.strategy) throw new UsageError('give a replay token, or --workload and --strategy');
        const strategies = await resolveStrategies(o.strategy, { cwd: ctx.cwd });
        if (strategies.length !== 1) throw new UsageError(`trace needs exactly one strategy, "${o.strategy}" names ${strategies.length}`);
        strategy = strategies[0]!;
        spec = await resolveWorkload(o.workload, o.set ?? {}, ctx.cwd);
        seed = o.seed ?? 1;
        if (o.timed) {
          if (o.explorer) throw new UsageError('--explorer does not go with --timed (the simulator schedules by virtual time)');
          what = '';
        } else {
          const explorer = o.explorer ?? 'random';
          scheduler = makeScheduler(explorer, seed, 0, o.depth, 200);
          what = `one ${explorer} schedule, seed ${seed}`;
          Object.assign(meta, { mode: 'schedule', explorer });
        }
      }
      Object.assign(meta, { workload: spec.name, params: spec.params, strategy: strategy.name, seed });

      const processName = `${strategy.name} — ${spec.name}`;
      let tracer: Tracer | null = null;
      let kernel: Kernel | null = null;
      const attach = (k: Kernel, timed: boolean) => {
        kernel = k;
        tracer = attachTracer(k, { processName, ...(timed ? { timeNs: () => k.clock() } : {}) });
      };
      let stopped = '';
      if (scheduler) {
        const { exec } = runOnce(spec, strategy, scheduler, { seed, onBuilt: (b) => attach(b.kernel, false) });
        stopped = exec.violations.length > 0 ? 'stopped at the violation' : exec.completed ? 'completed' : 'stopped (deadlock or step limit)';
      } else {
        const cpus = o.cpus ?? defaultCpus(spec);
        const durationSec = o.duration ?? TRACE_DURATION;
        const r = simulate(spec, strategy, { cpus, durationSec, seed, onBuilt: (k) => attach(k, true) });
        what = `timed run, ${plural(cpus, 'CPU')}, ${fmtNum(r.simulatedSeconds * 1e3, 3)} simulated ms`;
        stopped = r.stoppedBy && r.stoppedBy !== 'duration' ? `stopped by ${r.stoppedBy}` : '';
        Object.assign(meta, { mode: 'timed', cpus, durationSec, simulatedSeconds: r.simulatedSeconds, faults: r.faults });
      }
      if (!tracer || !kernel) throw new Error('the tracer was not attached (no onBuilt call)');
      const events = (tracer as Tracer).events();
      const sum = summarize(events, (kernel as Kernel).threads.length);
      writeFileAtomic(out, toTraceJson(events, meta));
      ctx.print(out);
      const kinds = [...new Set(sum.violations)];
      ctx.print(
        `${strategy.name} on ${spec.name}: ${what}${stopped ? `, ${stopped}` : ''}; ${plural(sum.threads, 'thread')}, ${fmtInt(sum.events)} events, ` +
          `${sum.violations.length === 0 ? 'no violation' : `${plural(sum.violations.length, 'violation')} (${kinds.join(', ')})`}`,
      );
      run.code = sum.violations.length > 0 ? 1 : 0;
    });
}
