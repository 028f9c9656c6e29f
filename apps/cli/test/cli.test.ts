import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { strategyNames } from '@hugesync/strategies';
import { cli } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hugesync-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One line on stderr, no stack trace, exit 2. */
function expectUsage(r: { code: number; err: string; out: string }, re: RegExp): void {
  expect(r.code, r.err).toBe(2);
  const lines = r.err.trimEnd().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^hugesync: /);
  expect(lines[0]).toMatch(re);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('list', () => {
  it('--json has every built-in strategy and the catalog', async () => {
    const r = await cli(['list', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { strategies: Array<Record<string, unknown>>; workloads: Array<Record<string, unknown>> };
    expect(j.strategies.map((s) => s.name)).toEqual(strategyNames());
    for (const s of j.strategies) {
      expect(Object.keys(s).sort()).toEqual(['description', 'name', 'package', 'seed']);
      expect(s.package).toMatch(/^@hugesync\//);
    }
    expect(j.workloads.map((w) => w.name)).toContain('pmd-unshare-race');
    for (const w of j.workloads) {
      expect(Object.keys(w).sort()).toEqual(['description', 'name', 'params', 'tags']);
      expect(Array.isArray(w.tags)).toBe(true);
    }
  });
  it('prints both tables', async () => {
    const r = await cli(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Strategies/);
    expect(r.out).toContain('vma-lock');
    expect(r.out).toContain('pmd-unshare-race');
  });
});

describe('explore: the lock-aware reduction can be switched off', () => {
  it('--no-lock-reduction: same verdict, exhaustive both ways, at least as many schedules', async () => {
    type J = { results: Array<{ schedules: number; exhaustive: boolean; violations: Array<{ kind: string }> }> };
    const args = ['explore', '-w', 'fault-truncate-race', '-s', 'i-mmap-rwsem', '-e', 'dpor', '--all', '--json'];
    const on = await cli(args);
    const off = await cli([...args, '--no-lock-reduction']);
    expect(on.code, on.err).toBe(0);
    expect(off.code, off.err).toBe(0);
    const a = (JSON.parse(on.out) as J).results[0]!;
    const b = (JSON.parse(off.out) as J).results[0]!;
    expect(a.exhaustive).toBe(true);
    expect(b.exhaustive).toBe(true);
    expect(b.violations).toEqual(a.violations);
    expect(b.schedules).toBeGreaterThanOrEqual(a.schedules);
  });
});

describe('explore and replay', () => {
  let token = '';
  let kind = '';
  it('none on pmd-unshare-race finds a stale or freed pte pointer, exit 1', async () => {
    const r = await cli(['explore', '--workload', 'pmd-unshare-race', '--strategy', 'none', '--explorer', 'random', '--schedules', '2000', '--json']);
    expect(r.code, r.err).toBe(1);
    const j = JSON.parse(r.out) as { results: Array<{ strategy: string; explorer: string; violations: Array<{ kind: string; message: string; replay: string; steps: number }> }> };
    expect(j.results).toHaveLength(1);
    const v = j.results[0]!.violations.find((x) => x.kind === 'pte-stale-owner' || x.kind === 'pte-use-after-free');
    expect(v, JSON.stringify(j.results[0]!.violations)).toBeDefined();
    expect(v!.replay).toMatch(/^hs1\./);
    expect(v!.steps).toBeGreaterThan(0);
    token = v!.replay;
    kind = v!.kind;
  });
  it('the terminal form has the verdict line, the message and the replay token', async () => {
    const r = await cli(['explore', '-w', 'pmd-unshare-race', '-s', 'none', '-e', 'random', '-n', '2000']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^none: \d+ violations? \((pte-stale-owner|pte-use-after-free)/m);
    expect(r.out).toMatch(/hugesync replay hs1\./);
  });
  it('the replay token reproduces it: exit 1, kind printed, one column per thread', async () => {
    expect(token).not.toBe('');
    const r = await cli(['replay', token]);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toContain(`reproduced: ${kind}`);
    const header = r.out.split('\n').find((l) => l.trimStart().startsWith('step'));
    expect(header).toMatch(/A-fault/);
    expect(header).toMatch(/│/);
    // The diagram (the lines with a column separator) fits in 120 columns.
    for (const l of r.out.split('\n').filter((x) => x.includes('│'))) expect(l.length).toBeLessThanOrEqual(120);
    const j = JSON.parse((await cli(['replay', token, '--json'])).out) as { reproduced: boolean; trace: Array<{ fn: string }>; violations: Array<{ kind: string }> };
    expect(j.reproduced).toBe(true);
    expect(j.violations.map((v) => v.kind)).toContain(kind);
    expect(j.trace.some((s) => s.fn === 'hugetlb_fault')).toBe(true);
  });
  it('the same schedule under vma-lock does not reproduce (exit 0), or diverges', async () => {
    const r = await cli(['replay', token, '--strategy', 'vma-lock']);
    expect([0, 1]).toContain(r.code);
    if (r.code === 0) expect(r.out).toContain('did not reproduce');
  });
  it('a strategy that throws is a strategy-error finding; the others still run', async () => {
    const f = join(dir, 'throws.mjs');
    const feats = JSON.stringify((await import('@hugesync/core')).BASELINE_FEATURES);
    writeFileSync(f, `export default { name: 'thrower', description: 'x', seed: 'x', kernel: 'x', package: 'x', lockClasses: [], features: ${feats}, faultEnter() { throw new Error('boom in faultEnter'); } };\n`);
    const r = await cli(['explore', '-w', 'pmd-unshare-race', '-s', `${f},none`, '-e', 'random', '-n', '200', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { results: Array<{ strategy: string; violations: Array<{ kind: string; message: string }> }> };
    expect(j.results.map((x) => x.strategy)).toEqual(['thrower', 'none']);
    expect(j.results[0]!.violations[0]!.kind).toBe('strategy-error');
    expect(j.results[0]!.violations[0]!.message).toMatch(/strategy "thrower" threw: boom in faultEnter/);
  });
});

describe('bad input: one line, exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown option', ['explore', '-w', 'pmd-unshare-race', '-s', 'none', '--schedule', '5'], /unknown option '--schedule' \(Did you mean --schedules\?\)/],
    ['unknown command', ['explor'], /unknown command 'explor'/],
    ['unknown strategy', ['explore', '-w', 'pmd-unshare-race', '-s', 'vma-lok'], /unknown strategy "vma-lok" \(did you mean "vma-lock"\?\)/],
    ['unknown workload', ['explore', '-w', 'pmd-unshare-rac', '-s', 'none'], /unknown workload "pmd-unshare-rac" \(did you mean "pmd-unshare-race"\?\)/],
    ['bad --set', ['explore', '-w', 'pmd-unshare-race', '-s', 'none', '--set', 'oops'], /expected key=value, got "oops"/],
    ['bad number', ['explore', '-w', 'pmd-unshare-race', '-s', 'none', '--schedules', 'many'], /--schedules must be an integer/],
    ['bad seed', ['run', '-w', 'pmd-unshare-race', '-s', 'none', '--seed', '-3'], /--seed must be an integer >= 0/],
    ['bad workers', ['run', '-w', 'pmd-unshare-race', '-s', 'none', '--workers', '0'], /--workers must be an integer >= 1/],
    ['bad explorer', ['explore', '-w', 'pmd-unshare-race', '-s', 'none', '--explorer', 'dfs'], /--explorer must be one of random, pct, dpor/],
    ['missing option', ['explore', '-s', 'none'], /required option '-w, --workload/],
    ['bad token', ['replay', 'hello'], /bad replay token: not a hugesync replay token/],
    ['corrupt token', ['replay', 'hs1.!!!!'], /bad replay token/],
    ['unreadable workload file', ['explore', '-w', './no-such-file.yaml', '-s', 'none'], /no-such-file\.yaml/],
    ['unknown compare workload', ['compare', '--workloads', 'fork-and-faul'], /unknown workload "fork-and-faul" \(did you mean "fork-and-fault"\?\)/],
    ['trace without --out', ['trace', '-w', 'pmd-unshare-race', '-s', 'none'], /required option '-o, --out/],
    ['trace without token or workload', ['trace', '-o', 't.json'], /give a replay token, or --workload and --strategy/],
    ['trace with two strategies', ['trace', '-w', 'pmd-unshare-race', '-s', 'none,vma-lock', '-o', 't.json'], /exactly one strategy/],
    ['trace --cpus without --timed', ['trace', '-w', 'map-fault-unmap', '-s', 'none', '--cpus', '4', '-o', 't.json'], /--cpus needs --timed/],
    ['trace --explorer dpor', ['trace', '-w', 'pmd-unshare-race', '-s', 'none', '-e', 'dpor', '-o', 't.json'], /--explorer must be one of random, pct/],
    ['trace into a missing directory', ['trace', '-w', 'pmd-unshare-race', '-s', 'none', '-o', 'no-dir/t.json'], /cannot write .*no-dir\/t\.json \(ENOENT\)/],
  ];
  for (const [name, args, re] of cases) {
    it(name, async () => expectUsage(await cli(args, { cwd: dir }), re));
  }
  it('an unwritable --html file', async () => {
    const r = await cli(['compare', '--workloads', 'pmd-unshare-race', '--strategies', 'none', '-e', 'random', '-n', '20', '--html', join(dir, 'no-dir', 'r.html')]);
    expectUsage(r, /cannot write .*r\.html/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
  it('--help exits 0 and shows examples and exit codes', async () => {
    for (const c of ['list', 'explore', 'replay', 'run', 'compare', 'trace']) {
      const r = await cli([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('Examples:');
      expect(r.out).toContain('Exit status:');
    }
  });
});

describe('compare', () => {
  it('writes the matrix, the HTML report (atomically) and says where', async () => {
    const html = join(dir, 'report.html');
    const r = await cli(['compare', '--workloads', 'pmd-unshare-race', '--strategies', 'none,vma-lock', '-e', 'random', '-n', '300', '--time-limit', '5', '--html', html]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/pmd-unshare-race\s+(pte-stale-owner|pte-use-after-free)/);
    expect(r.out).toContain(`HTML report: ${html}`);
    const text = readFileSync(html, 'utf8');
    expect(text).toMatch(/^<!doctype html>/);
    expect(text).toContain('vma-lock');
    // The @hugesync/report page: the command line that made it, the data, the charting code inlined.
    expect(text).toContain(`hugesync compare --workloads pmd-unshare-race --strategies none,vma-lock -e random -n 300 --time-limit 5 --html ${html}`);
    expect(text).toContain('id="hs-data"');
    expect(text).toContain('id="chart-verdicts"');
    expect(text).not.toMatch(/<script[^>]+src=|<link[^>]+href=["']?https?:/);
    const data = JSON.parse(/<script type="application\/json" id="hs-data">([\s\S]*?)<\/script>/.exec(text)![1]!) as { explore: Array<{ strategy: string; violations: Array<{ replay: string }> }> };
    expect(data.explore.map((e) => e.strategy)).toEqual(['none', 'vma-lock']);
    expect(data.explore[0]!.violations[0]!.replay).toMatch(/^hs1\./);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
  it('--json has one cell per workload and strategy', async () => {
    const r = await cli(['compare', '--workloads', 'pmd-unshare-race', '--strategies', 'none', '-e', 'random', '-n', '300', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { cells: Array<{ workload: string; strategy: string; explore?: { violations: unknown[] } }> };
    expect(j.cells).toHaveLength(1);
    expect(j.cells[0]!.explore!.violations.length).toBeGreaterThan(0);
  });
});

describe('trace', () => {
  interface Ev {
    name: string;
    ph: string;
    ts: number;
    pid: number;
    tid: number;
    cat?: string;
    args?: Record<string, unknown>;
  }
  it('the pmd-unshare-race counterexample: valid JSON, one thread_name per thread, an instant event for the violation', async () => {
    const ex = await cli(['explore', '-w', 'pmd-unshare-race', '-s', 'none', '--json']);
    expect(ex.code, ex.err).toBe(1);
    const v = (JSON.parse(ex.out) as { results: Array<{ violations: Array<{ kind: string; replay: string }> }> }).results[0]!.violations[0]!;
    const file = join(dir, 'race-trace.json');
    const r = await cli(['trace', v.replay, '--out', file]);
    expect(r.code, r.err).toBe(1);
    expect(r.out.split('\n')[0]).toBe(file);
    expect(r.out).toMatch(/\d+ threads, [\d,]+ events, 1 violation \(/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const j = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: Ev[]; otherData: Record<string, unknown> };
    const ev = j.traceEvents;
    const names = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    // One thread_name per track, and every track that carries events has one.
    expect(new Set(names.map((e) => e.tid)).size).toBe(names.length);
    const tracks = new Set(ev.filter((e) => e.ph !== 'M' && e.ph !== 'C').map((e) => e.tid));
    for (const tid of tracks) expect(names.map((e) => e.tid), `tid ${tid}`).toContain(tid);
    // The workload's threads are all named (the replayed one names the same threads).
    const replayed = JSON.parse((await cli(['replay', v.replay, '--json'])).out) as { trace: Array<{ thread: string }> };
    const threadNames = names.map((e) => String(e.args!.name));
    for (const t of new Set(replayed.trace.map((s) => s.thread))) expect(threadNames.filter((n) => n === t)).toHaveLength(1);
    const inst = ev.filter((e) => e.ph === 'i');
    expect(inst.map((e) => e.name)).toEqual([v.kind]);
    expect(inst[0]!.cat).toBe('violation');
    expect(tracks).toContain(inst[0]!.tid);
    expect(ev.some((e) => e.ph === 'X' && e.cat === 'kernel' && e.name === 'hugetlb_fault')).toBe(true);
    expect(j.otherData.command).toBe(`hugesync trace ${v.replay} --out ${file}`);
  });
  it('one seeded schedule, and a timed run (virtual time)', async () => {
    const a = join(dir, 'seeded.json');
    const r = await cli(['trace', '-w', 'pmd-unshare-race', '-s', 'vma-lock', '--seed', '2', '-o', a]);
    expect([0, 1], r.err).toContain(r.code);
    expect(r.out).toMatch(/one random schedule, seed 2/);
    const b = join(dir, 'timed.json');
    const t = await cli(['trace', '-w', 'map-fault-unmap', '-s', 'vma-lock', '--timed', '--cpus', '2', '--duration', '0.0005', '-o', b]);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/timed run, 2 CPUs, 0\.5 simulated ms; \d+ threads/);
    const j = JSON.parse(readFileSync(b, 'utf8')) as { traceEvents: Ev[] };
    const slices = j.traceEvents.filter((e) => e.ph === 'X');
    expect(slices.length).toBeGreaterThan(0);
    // Virtual time: µs timestamps inside the 500 µs simulated.
    expect(Math.max(...slices.map((e) => e.ts))).toBeLessThanOrEqual(500);
  });
});

describe('the built bin', () => {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  it.skipIf(!existsSync(bin))('runs under node: list --json, and a bad option exits 2 (skipped when apps/cli/dist is missing: run the build first)', () => {
    const ok = spawnSync(process.execPath, [bin, 'list', '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
    expect(ok.status, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { strategies: unknown[] }).strategies.length).toBeGreaterThan(0);
    const bad = spawnSync(process.execPath, [bin, 'list', '--nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
  it.skipIf(!existsSync(bin))('run: strategies on worker threads give the same figures as one after the other (skipped without apps/cli/dist)', () => {
    const args = [bin, 'run', '-w', 'map-fault-unmap', '-s', 'none,vma-lock', '--duration', '0.002', '--json'];
    const figures = (extra: string[]) => {
      const r = spawnSync(process.execPath, [...args, ...extra], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { results: Array<Record<string, unknown>> }).results.map(({ wallMs: _w, setupWallMs: _s, ...rest }) => rest);
    };
    const parallel = figures(['--workers', '2']);
    expect(parallel.map((r) => r.strategy)).toEqual(['none', 'vma-lock']);
    expect(parallel.every((r) => (r.faults as number) > 0)).toBe(true);
    expect(parallel).toEqual(figures(['--workers', '1']));
  });
});
