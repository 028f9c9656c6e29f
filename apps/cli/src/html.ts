/**
 * The HTML report of `hugesync compare --html FILE`: the compare data mapped to @hugesync/report's
 * CompareReport and rendered by it (one self-contained page: data, d3 and Plot inlined; no network).
 */
import { writeHtmlReport as writeReport, type CompareReport, type ReportRun } from '@hugesync/report';
import type { CompareData } from './commands/compare.js';
import { firstLine, UsageError } from './errors.js';

/** A command line as one shell-pasteable string ("hugesync compare --html 'my report.html'"). */
export function commandLine(args: readonly string[]): string {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['hugesync', ...args.map(q)].join(' ');
}

/** The compare data as the report draws it. `command` is the command line that produced it. */
export function toCompareReport(data: CompareData, command: string): CompareReport {
  const explore = data.cells.flatMap((c) =>
    c.explore
      ? [
          {
            strategy: c.strategy,
            workload: c.workload,
            explorer: c.explore.explorer,
            schedules: c.explore.schedules,
            exhaustive: c.explore.exhaustive,
            elapsedMs: c.explore.elapsedMs,
            ...(c.explore.interleavings !== undefined ? { interleavings: c.explore.interleavings } : {}),
            ...(c.explore.timedOut ? { timedOut: true } : {}),
            violations: c.explore.violations.map((v) => ({ kind: v.kind, message: v.message, replay: v.replay, steps: v.steps })),
          },
        ]
      : [],
  );
  const run: ReportRun[] = data.cells.flatMap((c) => {
    const r = c.run;
    if (!r) return [];
    return [
      {
        strategy: c.strategy,
        workload: c.workload,
        cpus: r.cpus,
        simulatedSeconds: r.simulatedSeconds,
        wallMs: r.wallMs,
        faultsPerSec: r.faultsPerSec,
        waits: r.waits,
        waitTimeMs: r.waitTimeMs,
        maxFaultWaitUs: r.maxFaultWaitUs,
        faultLatencyUs: { ...r.faultLatencyUs },
        locks: r.locks.map((l) => ({ name: l.name, acquisitions: l.acquisitions, contended: l.contended, waitTimeMs: l.waitTimeMs, maxWaitUs: l.maxWaitUs })),
        ...(r.error ? { error: r.error } : {}),
      },
    ];
  });
  return {
    command,
    strategies: data.strategies.map((s) => ({
      name: s.name,
      description: s.posting ? `${s.description} [${s.posting}]` : s.description,
      seed: data.settings.seed,
      package: s.package,
    })),
    workloads: data.workloads.map((w) => ({ name: w.name, tags: [...w.tags], description: w.description })),
    explore,
    run,
  };
}

/** Write the compare report as one self-contained HTML file (temp file + rename: never half-written). */
export function writeHtmlReport(data: CompareData, file: string, command: string): void {
  const report = toCompareReport(data, command);
  try {
    writeReport(report, file);
  } catch (e) {
    // An unwritable target is bad input (exit 2); the report package names the file and the errno.
    if (/^cannot write /.test(firstLine(e))) throw new UsageError(firstLine(e));
    throw e;
  }
}
