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
    ['bad explorer', ['explore', '-w', 'pmd-unshare-race', '-s', 'none', '--explorer', 'dfs'], /--explorer must be one of random, pct, dpor/],
    ['missing option', ['explore', '-s', 'none'], /required option '-w, --workload/],
    ['bad token', ['replay', 'hello'], /bad replay token: not a hugesync replay token/],
    ['corrupt token', ['replay', 'hs1.!!!!'], /bad replay token/],
    ['unreadable workload file', ['explore', '-w', './no-such-file.yaml', '-s', 'none'], /no-such-file\.yaml/],
    ['unknown compare workload', ['compare', '--workloads', 'fork-and-faul'], /unknown workload "fork-and-faul" \(did you mean "fork-and-fault"\?\)/],
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
    for (const c of ['list', 'explore', 'replay', 'run', 'compare']) {
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
});
