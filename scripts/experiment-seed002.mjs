#!/usr/bin/env node
// Seed 002's scalability experiment, re-run in the timed simulator for every strategy, printed as
// the markdown tables of docs/experiments.md (simulated figures beside the seed's, with ratios).
//
//   npx turbo run build && node scripts/experiment-seed002.mjs [options] [experiment ...]
//
// experiments (default: all):
//   v3         RFC v3: 48 processes, 48 CPUs, 250 GiB, placement same, prefill
//   v3-random  the same with placement random (PMD sharing mostly off)
//   v12        RFC v1/v2: 8 processes, 4 CPUs, 4 GiB, placement same, prefill
//   v12-random the same with placement random
//   fork       fork-and-fault companion (8 faulters + a forker, 9 CPUs, 4 GiB)
// options:
//   --duration S       simulated seconds for v3/v3-random (default 0.2)
//   --small-duration S simulated seconds for v12/v12-random/fork (default 1)
//   --strategies a,b   (default: none,i-mmap-rwsem,hinode-rwsem,vma-lock,rcu)
//   --seed N           simulator seed (default 1)
//   --json FILE        also write every SimResult (intervals dropped) to FILE
//   --from-json FILE   print the tables from a file written by --json instead of simulating
//
// Runs against the built dist of @hugesync/core, @hugesync/workloads and @hugesync/strategies,
// exactly what `hugesync run` calls. One cost model (packages/core/src/sim/costs.json) for every
// strategy; the script prints its hash so two reports can be checked to have used the same one.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const EXPERIMENTS = ['v3', 'v3-random', 'v12', 'v12-random', 'fork'];
const DEFAULT_STRATEGIES = ['none', 'i-mmap-rwsem', 'hinode-rwsem', 'vma-lock', 'rcu'];

function usage(msg) {
  console.error(`experiment-seed002: ${msg}`);
  process.exit(2);
}

const opts = { duration: 0.2, smallDuration: 1, strategies: DEFAULT_STRATEGIES, seed: 1, json: undefined, fromJson: undefined, names: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    const v = argv[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  const num = (v) => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) usage(`${a}: expected a positive number, got "${v}"`);
    return n;
  };
  if (a === '--duration') opts.duration = num(val());
  else if (a === '--small-duration') opts.smallDuration = num(val());
  else if (a === '--strategies') opts.strategies = val().split(',').filter(Boolean);
  else if (a === '--seed') opts.seed = Math.floor(num(val()));
  else if (a === '--json') opts.json = val();
  else if (a === '--from-json') opts.fromJson = val();
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else if (EXPERIMENTS.includes(a)) opts.names.push(a);
  else usage(`unknown experiment "${a}" (one of: ${EXPERIMENTS.join(', ')})`);
}
if (opts.names.length === 0) opts.names = EXPERIMENTS;

/** What each experiment runs: workload, --set params, CPUs, simulated seconds. */
function plan(name) {
  const v3 = { processes: '48', fileSize: '250GiB', prefill: 'true' };
  const v12 = { processes: '8', fileSize: '4GiB', prefill: 'true' };
  switch (name) {
    case 'v3':
      return { workload: 'map-fault-unmap', set: { ...v3, placement: 'same' }, cpus: 48, duration: opts.duration };
    case 'v3-random':
      return { workload: 'map-fault-unmap', set: { ...v3, placement: 'random' }, cpus: 48, duration: opts.duration };
    case 'v12':
      return { workload: 'map-fault-unmap', set: { ...v12, placement: 'same' }, cpus: 4, duration: opts.smallDuration };
    case 'v12-random':
      return { workload: 'map-fault-unmap', set: { ...v12, placement: 'random' }, cpus: 4, duration: opts.smallDuration };
    case 'fork':
      return { workload: 'fork-and-fault', set: { faulters: '8', fileSize: '4GiB', childPages: '4MiB' }, cpus: 9, duration: opts.smallDuration };
    default:
      throw new Error(name);
  }
}

/** The command line that runs the same thing through the CLI. */
function cliCommand(p) {
  const sets = Object.entries(p.set)
    .map(([k, v]) => `--set ${k}=${v}`)
    .join(' ');
  return `npx hugesync run --workload ${p.workload} --strategy ${opts.strategies.join(',')} --cpus ${p.cpus} ${sets} --duration ${p.duration} --seed ${opts.seed} --json`;
}

// ---- the seed's figures (docs: /work/shared/docs/seed-experiment.md, seed 002) ----
// RFC v3, per 10 s interval: next-20220506 (i_mmap_rwsem across faults) vs + series (vma lock).
const SEED_V3 = {
  base: 'i-mmap-rwsem',
  other: 'vma-lock',
  label: 'RFC v3 (48 CPUs, 48 processes, 250 GB), per 10 s interval',
  rows: [
    ['faults/s', 1183577, 1409520],
    ['waits (per 10 s)', 28129, 14078],
    ['wait time ms (per 10 s)', 233225, 18144],
    ['max fault wait µs (2 h run)', 2010000, 115000],
  ],
};
// RFC v1/v2, per 10 s interval: v5.17 (i_mmap_rwsem across faults) vs RFC v1 (no lock across faults, race detection).
const SEED_V12 = {
  base: 'i-mmap-rwsem',
  other: 'none',
  label: 'RFC v1/v2 (4 CPUs, 8 processes, 4 GB), per 10 s interval; RFC v1 held no lock across faults, modelled here by `none` (5.6 locking)',
  rows: [
    ['faults/s', 3622, 1777939],
    ['waits (per 10 s)', 36220, 5517],
    ['wait time ms (per 10 s)', 54074, 19907],
    ['max fault wait µs', 31000, 43000],
  ],
};

// ---- formatting ----
const fmtInt = (n) => (n === undefined || n === null || Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const fmtNum = (n, d = 1) => (n === undefined || n === null || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ratio = (a, b) => (b > 0 ? fmtNum(a / b, 3) : a > 0 ? '∞' : '–');
function mdTable(header, rows, align) {
  const al = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${al.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Figures per simulated second, comparable with the seed's per-10 s figures after x10. */
function perSec(r) {
  const s = r.simulatedSeconds > 0 ? r.simulatedSeconds : 1;
  return { faults: r.faults / s, waits: r.waits / s, waitMs: r.waitTimeMs / s };
}

function resultsTable(results) {
  const rows = results.map((r) => {
    const ps = perSec(r);
    return [
      r.strategy,
      fmtInt(r.faultsPerSec),
      fmtInt(r.faults),
      fmtInt(ps.waits * 10),
      fmtNum(ps.waitMs * 10, 1),
      fmtNum(r.maxFaultWaitUs, 1),
      fmtNum(r.faultLatencyUs.p50, 2),
      fmtNum(r.faultLatencyUs.p99, 1),
      fmtNum(r.faultLatencyUs.max, 1),
      Object.entries(r.ops ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '–',
      fmtNum(r.simulatedSeconds, 3),
      fmtNum(r.wallMs / 1000, 1),
      r.stoppedBy === 'duration' ? '' : r.stoppedBy,
    ];
  });
  return mdTable(
    ['strategy', 'faults/s', 'faults', 'waits /10 s', 'wait ms /10 s', 'max fault wait µs', 'p50 µs', 'p99 µs', 'max µs', 'completed ops', 'sim s', 'wall s', 'stopped'],
    rows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l'],
  );
}

function locksTable(results, top = 3) {
  const rows = [];
  for (const r of results) {
    const ls = [...r.locks].filter((l) => l.contended > 0).sort((a, b) => b.waitTimeMs - a.waitTimeMs || b.contended - a.contended);
    if (ls.length === 0) rows.push([r.strategy, '(none contended)', '', '', '', '']);
    for (const l of ls.slice(0, top)) rows.push([r.strategy, l.name, fmtInt(l.acquisitions), fmtInt(l.contended), fmtNum(l.waitTimeMs, 2), fmtNum(l.maxWaitUs, 1)]);
  }
  return mdTable(['strategy', 'lock', 'acquisitions', 'contended', 'wait ms', 'max wait µs'], rows, ['l', 'l', 'r', 'r', 'r', 'r']);
}

function seedTable(seed, results) {
  const a = results.find((r) => r.strategy === seed.base);
  const b = results.find((r) => r.strategy === seed.other);
  if (!a || !b) return `(needs both ${seed.base} and ${seed.other} to compare with the seed)`;
  const pa = perSec(a);
  const pb = perSec(b);
  const sim = [
    [pa.faults, pb.faults],
    [pa.waits * 10, pb.waits * 10],
    [pa.waitMs * 10, pb.waitMs * 10],
    [a.maxFaultWaitUs, b.maxFaultWaitUs],
  ];
  const rows = seed.rows.map(([label, s0, s1], i) => {
    const [m0, m1] = sim[i];
    return [label, fmtInt(s0), fmtInt(s1), ratio(s1, s0), i === 3 ? fmtNum(m0, 1) : fmtInt(m0), i === 3 ? fmtNum(m1, 1) : fmtInt(m1), ratio(m1, m0)];
  });
  return `${seed.label}\n\n${mdTable(
    ['figure', `seed ${seed.base}`, `seed ${seed.other}`, 'seed ratio', `sim ${seed.base}`, `sim ${seed.other}`, 'sim ratio'],
    rows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  )}`;
}

// ---- run ----
let costsHash = '';
let report;
if (opts.fromJson) {
  report = JSON.parse(readFileSync(opts.fromJson, 'utf8'));
  costsHash = report.costsHash;
} else {
  const core = await import('@hugesync/core');
  const { loadCatalogWorkload } = await import('@hugesync/workloads');
  const { resolveStrategies } = await import('@hugesync/strategies');
  if (typeof core.simulate !== 'function') usage('this build of @hugesync/core has no simulate(); run `npx turbo run build`');
  const costs = core.defaultCosts();
  costsHash = createHash('sha256').update(JSON.stringify(costs)).digest('hex').slice(0, 16);
  const strategies = await resolveStrategies(opts.strategies.join(','));
  report = { costsHash, costs, seed: opts.seed, experiments: {} };
  for (const name of opts.names) {
    const p = plan(name);
    const spec = loadCatalogWorkload(p.workload, p.set);
    const results = [];
    for (const s of strategies) {
      process.stderr.write(`${name}: ${s.name} (${p.cpus} CPUs, ${p.duration} simulated s) ... `);
      // Same cost model (the defaults) for every strategy: nothing is passed per strategy.
      const r = core.simulate(spec, s, { cpus: p.cpus, durationSec: p.duration, seed: opts.seed });
      delete r.intervals;
      results.push(r);
      process.stderr.write(`${(r.wallMs / 1000).toFixed(1)} wall s (setup ${(r.setupWallMs / 1000).toFixed(1)})\n`);
    }
    report.experiments[name] = { ...p, command: cliCommand(p), results };
    if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 1));
  }
}

const out = [];
out.push(`Cost model: packages/core/src/sim/costs.json defaults, the same for every strategy (sha256 of the resolved figures: ${costsHash}).`);
for (const [name, e] of Object.entries(report.experiments)) {
  out.push('', `### ${name}: ${e.workload} ${Object.entries(e.set).map(([k, v]) => `${k}=${v}`).join(' ')}, ${e.cpus} CPUs, ${e.duration} simulated s`, '', '```', e.command, '```', '');
  out.push(resultsTable(e.results), '', 'Top contended locks (lock_stat classes, whole run):', '', locksTable(e.results));
  const seed = name === 'v3' || name === 'v3-random' ? SEED_V3 : name === 'v12' || name === 'v12-random' ? SEED_V12 : undefined;
  if (seed) out.push('', seedTable(seed, e.results));
  const bad = e.results.filter((r) => (r.violations?.length ?? 0) > 0);
  for (const r of bad) out.push('', `${r.strategy}: ${r.violations.length} violation(s): ${r.violations.map((v) => `${v.kind}: ${v.message}`).join('; ').slice(0, 300)}`);
}
console.log(out.join('\n'));
