import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASELINE_FEATURES, noneStrategy } from '@hugesync/core';
import { builtinStrategies, strategyNames, resolveStrategies, UsageError, validateStrategy, editDistance, nearest } from '../src/index.js';

const FEATURES = JSON.stringify(BASELINE_FEATURES);
let dir: string;

/** A third-party strategy as a user would write it, in plain JavaScript. */
function strategySource(name: string, extra = ''): string {
  return `{ name: ${JSON.stringify(name)}, description: 'test strategy', seed: 'none', kernel: 'test', package: 'test', lockClasses: [], features: ${FEATURES}${extra} }`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hugesync-strategies-'));
  // A package directory with an exports map and a built entry (default export).
  mkdirSync(join(dir, 'good', 'dist'), { recursive: true });
  writeFileSync(join(dir, 'good', 'package.json'), JSON.stringify({ name: 'good-strategy', type: 'module', exports: { '.': { import: './dist/index.js' } } }));
  writeFileSync(join(dir, 'good', 'dist', 'index.js'), `export default ${strategySource('my-design', ', faultEnter: function* () {}')};\n`);
  // A single module file with two named exports and no default.
  writeFileSync(join(dir, 'two.mjs'), `export const a = ${strategySource('design-a')};\nexport const b = ${strategySource('design-b')};\nexport const notOne = 3;\n`);
  // Broken shapes.
  writeFileSync(join(dir, 'badfeat.mjs'), `export default { ...${strategySource('bad-feat')}, features: { ...${FEATURES}, faultLockless: true } };\n`);
  writeFileSync(join(dir, 'missingfeat.mjs'), `const f = ${FEATURES}; delete f.flushOnUnshare; export default { ...${strategySource('missing-feat')}, features: f };\n`);
  writeFileSync(join(dir, 'badhook.mjs'), `export default ${strategySource('bad-hook', ", faultEnter: 'yes'")};\n`);
  writeFileSync(join(dir, 'typo-hook.mjs'), `export default ${strategySource('typo-hook', ', faultEntr: function* () {}')};\n`);
  writeFileSync(join(dir, 'nothing.mjs'), `export const x = 1;\n`);
  writeFileSync(join(dir, 'clash.mjs'), `export default ${strategySource('none')};\n`);
  // A TypeScript-only package that has not been built.
  mkdirSync(join(dir, 'unbuilt', 'src'), { recursive: true });
  writeFileSync(join(dir, 'unbuilt', 'package.json'), JSON.stringify({ name: '@acme/unbuilt', type: 'module', exports: { '.': { '@hugesync/source': './src/index.ts', import: './dist/index.js' } } }));
  writeFileSync(join(dir, 'unbuilt', 'src', 'index.ts'), `import { nope } from './missing-module.js';\nexport default nope;\n`);
  // An installed package under node_modules, found by name from cwd.
  mkdirSync(join(dir, 'node_modules', '@acme', 'strat'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', '@acme', 'strat', 'package.json'), JSON.stringify({ name: '@acme/strat', type: 'module', main: './main.js' }));
  writeFileSync(join(dir, 'node_modules', '@acme', 'strat', 'main.js'), `export const acme = ${strategySource('acme')};\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('built-in strategies', () => {
  it('start with none and have unique names', () => {
    const names = strategyNames();
    expect(names[0]).toBe('none');
    expect(builtinStrategies()[0]).toBe(noneStrategy);
    expect(new Set(names).size).toBe(names.length);
    for (const s of builtinStrategies()) expect(validateStrategy(s, 'builtin').name).toBe(s.name);
  });
  it('follow the documented order of the main designs', () => {
    const order = ['none', 'i-mmap-rwsem', 'hinode-rwsem', 'vma-lock', 'rcu'];
    expect(strategyNames().slice(0, order.length)).toEqual(order);
  });
});

describe('resolveStrategies', () => {
  it('"all" is every built-in, in order', async () => {
    expect((await resolveStrategies('all')).map((s) => s.name)).toEqual(strategyNames());
  });
  it('takes comma lists and drops duplicates', async () => {
    const r = await resolveStrategies(' none , none,');
    expect(r).toEqual([noneStrategy]);
  });
  it('rejects an unknown name with a suggestion', async () => {
    const e = await resolveStrategies('nnoe', { cwd: dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe('unknown strategy "nnoe" (did you mean "none"?)');
  });
  it('rejects a name far from everything without a suggestion', async () => {
    const e = await resolveStrategies('zzzzzzzzzz', { cwd: dir }).catch((x: unknown) => x);
    expect((e as Error).message).toBe('unknown strategy "zzzzzzzzzz"');
  });
  it('rejects an empty argument', async () => {
    await expect(resolveStrategies(' , ')).rejects.toThrow(UsageError);
  });
  it('loads a package directory through its exports map', async () => {
    const r = await resolveStrategies('./good', { cwd: dir });
    expect(r.map((s) => s.name)).toEqual(['my-design']);
    expect(typeof r[0]!.faultEnter).toBe('function');
  });
  it('loads every strategy-like named export of a module file, next to built-ins', async () => {
    const r = await resolveStrategies(`none,${join(dir, 'two.mjs')}`);
    expect(r.map((s) => s.name)).toEqual(['none', 'design-a', 'design-b']);
  });
  it('loads an installed package by name from cwd', async () => {
    const r = await resolveStrategies('@acme/strat', { cwd: dir });
    expect(r.map((s) => s.name)).toEqual(['acme']);
  });
  it('names the strategy and the problem for bad shapes', async () => {
    const cases: Array<[string, RegExp]> = [
      ['./badfeat.mjs', /^strategy "bad-feat" \(\.\/badfeat\.mjs\): unknown feature "faultLockless" \(did you mean "faultLocklessWalk"\?\)$/],
      ['./missingfeat.mjs', /^strategy "missing-feat" .*feature "flushOnUnshare" is missing/],
      ['./badhook.mjs', /^strategy "bad-hook" .*hook "faultEnter" must be a function, got string$/],
      ['./typo-hook.mjs', /^strategy "typo-hook" .*"faultEntr" is not a SyncStrategy hook \(did you mean "faultEnter"\?\)$/],
      ['./nothing.mjs', /no strategy export found/],
      ['./does-not-exist', /does not exist/],
      ['none,./clash.mjs', /two different strategies are named "none"/],
    ];
    for (const [arg, re] of cases) {
      const e = await resolveStrategies(arg, { cwd: dir }).catch((x: unknown) => x);
      expect(e, arg).toBeInstanceOf(UsageError);
      expect((e as Error).message, arg).toMatch(re);
      expect((e as Error).message, arg).not.toContain('\n');
    }
  });
  it('tells the user to build a TypeScript-only package', async () => {
    const e = await resolveStrategies('./unbuilt', { cwd: dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(/"@acme\/unbuilt" .* is not built \(\.\/dist\/index\.js is missing\); run "npm run build"/);
  });
});

describe('suggestions', () => {
  it('edit distance', () => {
    expect(editDistance('vma-lock', 'vma-lok')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('nnoe', 'none')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
  it('nearest prefers the closest and ignores far names', () => {
    expect(nearest('vmalock', ['none', 'vma-lock', 'rcu'])).toBe('vma-lock');
    expect(nearest('xyz', ['none', 'vma-lock'])).toBeUndefined();
    expect(nearest('hinode', ['none', 'hinode-rwsem'])).toBe('hinode-rwsem');
  });
});
