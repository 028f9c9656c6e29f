import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers.js';
import { cliVersion, identFor } from '../src/commands/new-strategy.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'hugesync-new-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FILES = ['README.md', 'package.json', 'src/index.ts', 'test/conformance.test.ts', 'tsconfig.json', 'tsup.config.ts', 'vitest.config.ts'];

function expectUsage(r: { code: number; err: string }, re: RegExp): void {
  expect(r.code, r.err).toBe(2);
  expect(r.err.trimEnd().split('\n'), r.err).toHaveLength(1);
  expect(r.err).toMatch(re);
}

describe('new-strategy', () => {
  it('creates a standalone package outside the hugesync workspace', async () => {
    const r = await cli(['new-strategy', 'my-lock', '--dir', 'pkgs'], { cwd: tmp });
    expect(r.code, r.err).toBe(0);
    const dir = join(tmp, 'pkgs', 'strategy-my-lock');
    for (const f of FILES) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(r.out).toContain('pkgs/strategy-my-lock/src/index.ts');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, any>;
    expect(pkg.name).toBe('@hugesync/strategy-my-lock');
    expect(Object.keys(pkg.exports['.'])).toEqual(['@hugesync/source', 'import', 'require']);
    expect(Object.keys(pkg.exports['.'].import)[0]).toBe('types');
    expect(cliVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(pkg.devDependencies['@hugesync/testkit']).toBe(`^${cliVersion()}`);
    expect(pkg.devDependencies.vitest).toBeDefined();
    const src = readFileSync(join(dir, 'src/index.ts'), 'utf8');
    expect(src).toContain("name: 'my-lock'");
    expect(src).toContain('export const myLockStrategy');
    expect(readFileSync(join(dir, 'test/conformance.test.ts'), 'utf8')).toContain('strategyConformance(myLockStrategy)');
    expect(readFileSync(join(dir, 'tsup.config.ts'), 'utf8')).toContain("from 'tsup'");
    for (const f of FILES) expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/\{\{\w+\}\}/);
  });

  it('uses the shared configs inside a hugesync-style workspace', async () => {
    const ws = join(tmp, 'ws');
    mkdirSync(join(ws, 'packages'), { recursive: true });
    writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: 'x', private: true, workspaces: ['packages/*'] }));
    for (const f of ['tsup.base.ts', 'vitest.shared.ts', 'tsconfig.base.json']) writeFileSync(join(ws, f), '');
    const r = await cli(['new-strategy', 'two-words2'], { cwd: ws });
    expect(r.code, r.err).toBe(0);
    const dir = join(ws, 'packages', 'strategy-two-words2');
    expect(readFileSync(join(dir, 'tsup.config.ts'), 'utf8')).toContain("from '../../tsup.base'");
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toContain('"../../tsconfig.base.json"');
    expect(readFileSync(join(dir, 'vitest.config.ts'), 'utf8')).toContain("project('strategy-two-words2')");
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, any>;
    // No packages/ versions in this bare workspace: the CLI's own version, exact (workspace style).
    expect(pkg.dependencies['@hugesync/core']).toBe(cliVersion());
    expect(pkg.devDependencies).toEqual({ '@hugesync/testkit': cliVersion() });
  });

  it('refuses an existing directory, a bad name and a built-in name (one line, exit 2)', async () => {
    expectUsage(await cli(['new-strategy', 'my-lock', '--dir', 'pkgs'], { cwd: tmp }), /strategy-my-lock already exists/);
    expectUsage(await cli(['new-strategy', 'My_Lock'], { cwd: tmp }), /not kebab-case/);
    expectUsage(await cli(['new-strategy', '-x'], { cwd: tmp }), /^hugesync: /);
    expectUsage(await cli(['new-strategy', 'vma-lock'], { cwd: tmp }), /built-in/);
    expect(existsSync(join(tmp, 'packages', 'strategy-vma-lock'))).toBe(false);
  });

  it('derives the export name', () => {
    expect(identFor('my-lock')).toBe('myLockStrategy');
    expect(identFor('a2-b')).toBe('a2BStrategy');
  });
});
