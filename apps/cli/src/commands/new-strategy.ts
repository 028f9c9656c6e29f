/** hugesync new-strategy: scaffold a strategy package from apps/cli/templates/strategy. */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { strategyNames } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { UsageError } from '../errors.js';

/** kebab-case: lower-case words of letters and digits joined by single hyphens, starting with a letter. */
export const STRATEGY_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Tool versions a package outside the hugesync workspace gets (the workspace root provides them otherwise). */
const STANDALONE_TOOLS: Record<string, string> = {
  '@types/node': '^20.19.0',
  tsup: '^8.5.0',
  typescript: '~5.9.3',
  vitest: '^4.1.0',
};

function readVersion(pkgJson: string): string | undefined {
  try {
    const v = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** This CLI's own version (its package.json sits next to templates/). */
export function cliVersion(): string {
  return readVersion(join(templatesDir(), '..', '..', 'package.json')) ?? '0.0.0';
}

/**
 * Dependency specs for the generated package: in the hugesync workspace the exact version of
 * each workspace package (as every package there pins its siblings); outside it, a caret range
 * on this CLI's version (the packages are released together).
 */
function versions(root: string | undefined): { core: string; vmaLock: string; testkit: string } {
  const cli = cliVersion();
  const at = (dir: string) => (root ? (readVersion(join(root, 'packages', dir, 'package.json')) ?? cli) : `^${cli}`);
  return { core: at('core'), vmaLock: at('strategy-vma-lock'), testkit: at('testkit') };
}

/** The templates directory (apps/cli/templates/strategy), from src/commands or from dist. */
export function templatesDir(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const t = join(d, 'templates', 'strategy');
    if (existsSync(t)) return t;
    d = dirname(d);
  }
  throw new Error('the strategy templates (templates/strategy) are missing from this installation of @hugesync/cli');
}

/** The hugesync monorepo root above `dir` (a package.json with workspaces next to tsup.base.ts), if any. */
export function findWorkspaceRoot(dir: string): string | undefined {
  let d = dir;
  for (;;) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && existsSync(join(d, 'tsup.base.ts')) && existsSync(join(d, 'vitest.shared.ts'))) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { workspaces?: unknown }).workspaces) return d;
      } catch {
        /* keep walking */
      }
    }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/** my-lock -> myLockStrategy */
export function identFor(name: string): string {
  return `${name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())}Strategy`;
}

function render(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (m, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`template variable ${m} has no value`);
    return v;
  });
}

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

export interface NewStrategyResult {
  dir: string;
  pkg: string;
  ident: string;
  files: string[];
  /** The package uses the hugesync monorepo's shared configs (else standalone configs). */
  workspace: boolean;
}

/** Create <parent>/strategy-<name> from the templates; throws UsageError on a bad name or an existing directory. */
export function newStrategy(name: string, parent: string, cwd: string): NewStrategyResult {
  if (!STRATEGY_NAME.test(name)) throw new UsageError(`strategy name "${name}" is not kebab-case (lower-case letters and digits in words joined by "-", starting with a letter, e.g. "my-lock")`);
  if (strategyNames().includes(name) || name === 'all') throw new UsageError(`strategy name "${name}" is taken by a built-in strategy; choose another`);
  const parentAbs = resolve(cwd, parent);
  if (existsSync(parentAbs) && !statSync(parentAbs).isDirectory()) throw new UsageError(`--dir ${parent} is not a directory`);
  const dirName = `strategy-${name}`;
  const dir = join(parentAbs, dirName);
  if (existsSync(dir)) throw new UsageError(`${relative(cwd, dir) || dir} already exists; choose another name or remove it`);
  const root = findWorkspaceRoot(parentAbs);
  const pkg = `@hugesync/${dirName}`;
  const ident = identFor(name);
  const v = versions(root);
  const devDependencies = { '@hugesync/testkit': v.testkit, ...(root ? {} : STANDALONE_TOOLS) };
  const vars: Record<string, string> = {
    name,
    pkg,
    ident,
    dirName,
    relDir: relative(cwd, dir).split(sep).join('/') || '.',
    rootRel: root ? relative(dir, root).split(sep).join('/') : '',
    coreVersion: v.core,
    vmaLockVersion: v.vmaLock,
    devDependencies: JSON.stringify(devDependencies, null, 2).replace(/\n/g, '\n  '),
  };
  const tdir = templatesDir();
  const configs = join(tdir, root ? 'workspace' : 'standalone');
  const plan: Array<[string, string]> = [];
  for (const f of walk(tdir)) {
    const top = f.split(sep)[0];
    if (top === 'workspace' || top === 'standalone') continue;
    plan.push([join(tdir, f), f]);
  }
  for (const f of walk(configs)) plan.push([join(configs, f), f]);
  const files: string[] = [];
  for (const [src, rel] of plan) {
    const out = rel.replace(/\.tmpl$/, '');
    const target = join(dir, out);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, render(readFileSync(src, 'utf8'), vars));
    files.push(out.split(sep).join('/'));
  }
  return { dir, pkg, ident, files: files.sort(), workspace: root !== undefined };
}

export function registerNewStrategy(program: Command, run: Run): void {
  program
    .command('new-strategy')
    .description('Create a strategy package (packages/strategy-<name>) from the smallest working example, with the conformance test.')
    .argument('<name>', 'strategy name, kebab-case (e.g. my-lock)')
    .option('--dir <dir>', 'parent directory of the new package', 'packages')
    .addHelpText(
      'after',
      `
Examples:
  $ hugesync new-strategy my-lock
  $ npm install && npx turbo run build test --filter=@hugesync/strategy-my-lock
  $ hugesync explore --workload pmd-unshare-race --strategy ./packages/strategy-my-lock

See docs/contributing-a-strategy.md.

Exit status:
  0  the package was created
  2  bad name, or the directory already exists`,
    )
    .action((name: string, opts: { dir: string }) => {
      const { ctx } = run;
      const r = newStrategy(name, opts.dir, ctx.cwd);
      const rel = relative(ctx.cwd, r.dir).split(sep).join('/') || basename(r.dir);
      ctx.print(`created ${rel} (${r.pkg}, export ${r.ident}${r.workspace ? '' : ', standalone configs'}):`);
      for (const f of r.files) ctx.print(`  ${rel}/${f}`);
      ctx.print();
      ctx.print('next:');
      ctx.print('  npm install');
      ctx.print(`  npx turbo run build test --filter=${r.pkg}`);
      ctx.print(`  hugesync explore --workload pmd-unshare-race --strategy ./${rel}`);
    });
}
