/**
 * strategyConformance(): the conformance kit as named vitest parts, called from one test file
 * of a strategy package (the pattern of @keyv/test-suite and unstorage's testDriver).
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe as vDescribe, it as vIt, expect as vExpect } from 'vitest';
import type { SyncStrategy, WorkloadSpec } from '@hugesync/core';
import { shapeProblems } from './shape.js';
import {
  catalogWorkloads,
  checkDeterminism,
  checkLockDiscipline,
  checkLockdep,
  formatRaceReport,
  raceReport,
  raceWorkloadNames,
  type AllowedFinding,
  type DisciplineResult,
  type DeterminismResult,
  type LockdepResult,
  type Problem,
  type RaceReport,
} from './checks.js';

/** The parts of the kit, in the order they run. */
export const PARTS = ['shape', 'lock discipline', 'lockdep', 'determinism', 'race report'] as const;
export type PartName = (typeof PARTS)[number];

type TestFn = (name: string, fn: () => void | Promise<void>, timeout?: number) => unknown;
type DescribeFn = (name: string, fn: () => void) => unknown;
type ExpectFn = (actual: unknown, message?: string) => { toEqual(expected: unknown): void };

export interface ConformanceOptions {
  /** Race workloads (catalog names) for lock discipline, determinism and the race report. Default: every catalog workload tagged "race". */
  workloads?: string[];
  /** Workloads for the lockdep part. Default: every catalog workload (looping ones run to a step bound). */
  lockdepWorkloads?: string[];
  /** Schedules per workload for lock discipline and lockdep (default 16). */
  schedules?: number;
  /** Schedules per explorer (random, PCT) per workload for the race report (default 80). */
  raceSchedules?: number;
  /** Base seed (default 1). */
  seed?: number;
  /** Findings the strategy expects (e.g. a lock-order report its design documents): not failures. */
  allow?: AllowedFinding[];
  /** Parts to skip (a strategy opts out of what does not apply to it, and says why in its test file). */
  skip?: PartName[];
  /** Where the race report JSON goes: a directory, or false for none. Default: <workspace root>/artifacts/conformance (HUGESYNC_ARTIFACTS overrides the artifacts directory). */
  reportDir?: string | false;
  /** Print the race report table (default true). */
  print?: boolean;
  /** Per-test timeout in ms (default 60 000; for the parts over every race workload, 30 000 per race workload when that is more). */
  timeout?: number;
  /** Test framework functions (default: vitest's it, describe, expect). */
  test?: TestFn;
  describe?: DescribeFn;
  expect?: ExpectFn;
}

/** What the parts produced; filled in as the tests run (read it in an afterAll or after the run). */
export interface ConformanceResults {
  strategy: string;
  shape?: string[];
  discipline?: DisciplineResult;
  lockdep?: LockdepResult;
  determinism?: DeterminismResult;
  raceReport?: RaceReport;
  /** Path of the race report JSON, when written. */
  reportFile?: string;
}

/** Nearest directory at or above `from` whose package.json declares workspaces (else `from`). */
export function workspaceRoot(from: string = process.cwd()): string {
  let d = from;
  for (;;) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { workspaces?: unknown }).workspaces) return d;
      } catch {
        /* not JSON: keep walking */
      }
    }
    const up = dirname(d);
    if (up === d) return from;
    d = up;
  }
}

function fileSafe(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]/g, '_');
}

const show = (ps: readonly Problem[]) => ps.map((p) => `${p.workload}: ${p.kind}: ${p.message} (${p.schedule})`);

/**
 * Register the conformance suite for `strategy`: a describe block "conformance: <name>" with
 * one describe per part (shape, lock discipline, lockdep, determinism, race report). Returns
 * the results object the parts fill in.
 *
 * @example
 * ```ts
 * // test/conformance.test.ts
 * import { strategyConformance } from '@hugesync/testkit';
 * import { myStrategy } from '../src/index.js';
 * strategyConformance(myStrategy);
 * ```
 */
export function strategyConformance(strategy: SyncStrategy, opts: ConformanceOptions = {}): ConformanceResults {
  const describe = opts.describe ?? (vDescribe as unknown as DescribeFn);
  const test = opts.test ?? (vIt as unknown as TestFn);
  const expect = opts.expect ?? (vExpect as unknown as ExpectFn);
  const seed = opts.seed ?? 1;
  const schedules = opts.schedules ?? 16;
  const raceSchedules = opts.raceSchedules ?? 80;
  const timeout = opts.timeout ?? 60_000;
  // Lock discipline, determinism and the race report explore every race workload: their guard grows with the catalog.
  const raceTimeout = opts.timeout ?? Math.max(60_000, 30_000 * (opts.workloads ?? raceWorkloadNames()).length);
  const skip = new Set(opts.skip ?? []);
  const name = typeof (strategy as { name?: unknown })?.name === 'string' ? strategy.name : '(unnamed)';
  const results: ConformanceResults = { strategy: name };

  let race: WorkloadSpec[] | null = null;
  let all: WorkloadSpec[] | null = null;
  const raceSpecs = () => (race ??= catalogWorkloads(opts.workloads ?? raceWorkloadNames()));
  const allSpecs = () => (all ??= catalogWorkloads(opts.lockdepWorkloads));

  describe(`conformance: ${name}`, () => {
    if (!skip.has('shape'))
      describe('shape', () => {
        test('is a valid SyncStrategy (name, strings, lock classes, every feature, hooks are functions)', () => {
          results.shape = shapeProblems(strategy);
          expect(results.shape, `strategy "${name}" has shape problems`).toEqual([]);
        });
      });

    if (!skip.has('lock discipline'))
      describe('lock discipline', () => {
        test(`race workloads, ${schedules} random/PCT schedules each: no lock-imbalance, sleep-in-atomic or strategy-error`, () => {
          results.discipline = checkLockDiscipline(strategy, raceSpecs(), { schedules, seed, allow: opts.allow });
          expect(show(results.discipline.problems), `lock discipline of "${name}"`).toEqual([]);
        }, raceTimeout);
      });

    if (!skip.has('lockdep'))
      describe('lockdep', () => {
        test('catalog workloads: no possible circular locking dependency (unless declared in allow)', () => {
          results.lockdep = checkLockdep(strategy, allSpecs(), { schedules: Math.max(2, Math.ceil(schedules / 2)), seed, allow: opts.allow });
          expect(show(results.lockdep.problems), `lock order of "${name}"`).toEqual([]);
        }, timeout);
      });

    if (!skip.has('determinism'))
      describe('determinism', () => {
        test('the same seed gives the same schedule, violations and step-label trace hash', () => {
          results.determinism = checkDeterminism(strategy, raceSpecs(), { seed });
          const differing = results.determinism.pairs.filter((p) => !p.same).map((p) => `${p.workload} (${p.explorer}, seed ${p.seed}): trace ${p.first.traceHash} vs ${p.second.traceHash}, ${p.first.steps} vs ${p.second.steps} steps`);
          expect(differing, `determinism of "${name}"`).toEqual([]);
        }, raceTimeout);
      });

    if (!skip.has('race report'))
      describe('race report', () => {
        test('explores every race workload and records what is closed and what is left open (open races are findings, not failures)', () => {
          const r = raceReport(strategy, raceSpecs(), { schedules: raceSchedules, seed });
          results.raceReport = r;
          if (opts.print !== false) console.log(formatRaceReport(r));
          if (opts.reportDir !== false) {
            const dir = opts.reportDir ?? join(process.env.HUGESYNC_ARTIFACTS ?? join(workspaceRoot(), 'artifacts'), 'conformance');
            mkdirSync(dir, { recursive: true });
            results.reportFile = join(dir, `${fileSafe(r.strategy)}.json`);
            writeFileSync(results.reportFile, `${JSON.stringify(r, null, 2)}\n`);
          }
          // The report covers every race workload it was given, each explored by both explorers.
          expect(
            r.rows.map((x) => [x.workload, x.schedules]),
            'race report rows',
          ).toEqual(raceSpecs().map((s) => [s.name, 2 * raceSchedules]));
        }, raceTimeout);
      });
  });
  return results;
}
