/** hugesync replay: rebuild the workload of a replay token, run its schedule, show the interleaving. */
import type { Command } from 'commander';
import { decodeToken, runOnce, stepLabel, ReplayScheduler, specHash, type TokenData, type Violation, type WorkloadSpec, type SyncStrategy } from '@hugesync/core';
import { resolveStrategies } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { resolveWorkload } from '../catalog.js';
import { firstLine, isUserError, UsageError } from '../errors.js';
import { renderInterleaving, type TraceStep } from '../diagram.js';
import { indent } from '../format.js';

interface ReplayCliOptions {
  workload?: string;
  strategy?: string;
  json?: boolean;
}

export interface ReplayOutcome {
  token: TokenData;
  hashMatches: boolean;
  diverged: boolean;
  completed: boolean;
  steps: TraceStep[];
  violations: Violation[];
}

/** Replay a decoded token against a workload and strategy, recording every step. */
export function replayToken(token: TokenData, spec: WorkloadSpec, strategy: SyncStrategy): ReplayOutcome {
  const steps: TraceStep[] = [];
  /** Kernel step counter of each recorded step (violations carry it). */
  const seqs: number[] = [];
  const sched = new ReplayScheduler(token.schedule);
  const { exec } = runOnce(spec, strategy, sched, {
    seed: token.seed,
    onBuilt: (b) => {
      const k = b.kernel;
      k.stepListeners = true;
      k.bus.on('step', (t, s, seq) => {
        steps.push({ n: steps.length + 1, tid: t.id, thread: t.name, fn: s.fn, label: stepLabel(s), marks: [] });
        seqs.push(seq);
      });
    },
  });
  // Mark the step at which each violation was detected.
  for (const v of exec.violations) {
    const at = steps[seqs.indexOf(v.seq)];
    if (at && !at.marks.includes(v.kind)) at.marks.push(v.kind);
  }
  return { token, hashMatches: specHash(spec) === token.specHash, diverged: sched.diverged, completed: exec.completed, steps, violations: exec.violations };
}

/**
 * Decode a replay token and rebuild what it names: the workload (catalog, or --workload) with the
 * token's parameters and the strategy (or --strategy). Bad input throws UsageError.
 */
export async function resolveToken(tok: string, o: { workload?: string; strategy?: string }, cwd: string): Promise<{ token: TokenData; spec: WorkloadSpec; strategy: SyncStrategy }> {
  let token: TokenData;
  try {
    token = decodeToken(tok);
  } catch (e) {
    throw new UsageError(`bad replay token: ${firstLine(e)}`);
  }
  const strategyArg = o.strategy ?? token.strategy;
  let strategies: SyncStrategy[];
  try {
    strategies = await resolveStrategies(strategyArg, { cwd });
  } catch (e) {
    if (!o.strategy && isUserError(e)) throw new UsageError(`${firstLine(e)}; the token was made with strategy "${token.strategy}": pass its path or package with --strategy`);
    throw e;
  }
  if (strategies.length !== 1) throw new UsageError(`replay needs exactly one strategy, "${strategyArg}" names ${strategies.length}`);
  const strategy = strategies[0]!;
  const set = Object.fromEntries(Object.entries(token.params).map(([k, v]) => [k, String(v)]));
  let spec: WorkloadSpec;
  try {
    spec = await resolveWorkload(o.workload ?? token.workload, set, cwd);
  } catch (e) {
    if (!o.workload && isUserError(e)) throw new UsageError(`${firstLine(e)}; if the token was made from a workload file, pass it with --workload FILE`);
    throw e;
  }
  return { token, spec, strategy };
}

export function registerReplay(program: Command, run: Run): void {
  program
    .command('replay')
    .description('Replay the interleaving a replay token describes and show it, one column per thread.')
    .argument('<token>', 'replay token printed by explore or compare (starts with "hs1.")')
    .option('-w, --workload <name|file>', 'workload to use instead of the catalog workload named in the token (a token made from a workload file needs it)')
    .option('-s, --strategy <name|path>', 'strategy to use instead of the one named in the token (a token made with your own strategy needs its path or package)')
    .option('--json', 'machine-readable output: {workload, strategy, reproduced, violations, trace:[{step, thread, fn, label}], ...}')
    .addHelpText(
      'after',
      `
The token carries the workload name and parameters, the strategy, the seed and the schedule.
The workload is rebuilt from the catalog; a warning says so when it differs from the one the
token was made with (the schedule may then not reproduce the violation).

Examples:
  $ hugesync replay hs1.eyJ2IjoxLCJ3Ijoi...
  $ hugesync replay --workload ./my-race.yaml --strategy ./my-strategy hs1.eyJ2Ijox...

Exit status:
  0  the schedule ran without a violation (it did not reproduce)
  1  a violation reproduced
  2  bad token, unknown workload or strategy, bad option
  3  internal error`,
    )
    .action(async (tok: string, o: ReplayCliOptions) => {
      const { ctx } = run;
      const { token, spec, strategy } = await resolveToken(tok, o, ctx.cwd);
      const r = replayToken(token, spec, strategy);
      if (!r.hashMatches) ctx.warn(`workload "${spec.name}" differs from the one the token was made with (hash ${specHash(spec)}, token ${token.specHash || 'none'}); the schedule may not reproduce`);
      if (r.diverged) ctx.warn('the schedule diverged: a thread it names was not runnable at that point (the workload or strategy differs from the recorded run)');
      const reproduced = r.violations.length > 0;
      run.code = reproduced ? 1 : 0;
      if (o.json) {
        ctx.print(
          JSON.stringify(
            {
              workload: spec.name,
              params: spec.params,
              strategy: strategy.name,
              explorer: token.explorer,
              seed: token.seed,
              steps: r.steps.length,
              hashMatches: r.hashMatches,
              diverged: r.diverged,
              completed: r.completed,
              reproduced,
              violations: r.violations.map((v) => ({ kind: v.kind, message: v.message, ...(v.report ? { report: v.report } : {}), ...(v.thread ? { thread: v.thread } : {}), ...(v.fn ? { fn: v.fn } : {}) })),
              trace: r.steps.map((s) => ({ step: s.n, thread: s.thread, fn: s.fn, label: s.label, ...(s.marks.length ? { violations: s.marks } : {}) })),
            },
            null,
            2,
          ),
        );
        return;
      }
      ctx.print(`replay: workload ${spec.name}, strategy ${strategy.name}, ${token.explorer} seed ${token.seed}, ${r.steps.length} steps`);
      ctx.print();
      ctx.print(renderInterleaving(r.steps, { width: Math.min(ctx.width, 120) }));
      ctx.print();
      if (reproduced) {
        for (const v of r.violations) {
          ctx.print(`${v.kind}: ${v.message}`);
          if (v.report) ctx.print(indent(v.report.trimEnd(), '  | '));
        }
        ctx.print(`reproduced: ${[...new Set(r.violations.map((v) => v.kind))].join(', ')}`);
      } else {
        ctx.print(`did not reproduce: the schedule ${r.completed ? 'ran to completion' : 'stopped'} without a violation`);
      }
    });
}
