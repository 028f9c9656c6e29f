/** Turn a --strategy argument into strategy objects: built-in names, "all", lists, paths, packages. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SyncStrategy } from '@hugesync/core';
import { builtinStrategies, strategyNames } from './builtins.js';
import { UsageError } from './errors.js';
import { didYouMean } from './suggest.js';
import { looksLikeStrategy, validateStrategy } from './validate.js';

export interface ResolveOptions {
  /** Directory relative paths and package names are resolved from (default: process.cwd()). */
  cwd?: string;
}

/** A path rather than a name: starts with "." or "/" (or a drive letter on Windows). */
export function isPathArg(a: string): boolean {
  return a.startsWith('.') || a.startsWith('/') || isAbsolute(a) || /^[A-Za-z]:[\\/]/.test(a);
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.trim();
}

/**
 * Resolve a --strategy argument:
 * - "all": every built-in strategy (builtinStrategies() order);
 * - a comma-separated list of the forms below (duplicates dropped, order kept);
 * - a built-in name ("vma-lock");
 * - a path starting with "." or "/": a strategy package directory (its package.json exports/main)
 *   or a module file;
 * - an installed package name ("@acme/hugesync-strategy-foo"), resolved from opts.cwd.
 * A module contributes its default export if that is a strategy, else every named export that
 * looks like one (an object with name and features); each is checked by validateStrategy().
 * Throws UsageError (one line) on an unknown name, with the nearest built-in name as a suggestion.
 */
export async function resolveStrategies(arg: string, opts: ResolveOptions = {}): Promise<SyncStrategy[]> {
  const cwd = opts.cwd ?? process.cwd();
  const parts = arg
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(`no strategy given (use a name such as "${strategyNames()[0]}", a comma list, "all" or a path)`);
  const builtins = builtinStrategies();
  const out: SyncStrategy[] = [];
  const add = (s: SyncStrategy, from: string) => {
    const dup = out.find((o) => o.name === s.name);
    if (dup === s) return;
    if (dup) throw new UsageError(`two different strategies are named "${s.name}" (the second from ${from}); strategy names must be unique`);
    out.push(s);
  };
  for (const p of parts) {
    if (p === 'all') {
      for (const s of builtins) add(s, 'all');
      continue;
    }
    const b = builtins.find((s) => s.name === p);
    if (b) {
      add(b, p);
      continue;
    }
    const loaded = isPathArg(p) ? await loadFromPath(resolvePath(cwd, p), p) : await loadFromPackage(p, cwd);
    for (const s of loaded) add(s, p);
  }
  return out;
}

/** Pick the strategies a module exports: its default export if that is one, else each strategy-like named export. */
export function strategiesOfModule(mod: Record<string, unknown>, from: string): SyncStrategy[] {
  const def = mod.default;
  if (looksLikeStrategy(def)) return [validateStrategy(def, from)];
  // A CommonJS module imported from ESM puts module.exports on default as well.
  const pool = [...Object.entries(mod).filter(([k]) => k !== 'default'), ...(typeof def === 'object' && def !== null ? Object.entries(def as Record<string, unknown>) : [])];
  const found: SyncStrategy[] = [];
  for (const [, v] of pool) if (looksLikeStrategy(v) && !found.includes(v)) found.push(v);
  if (found.length === 0) {
    // Something strategy-ish with a name but a broken shape: let validation say what is wrong.
    if (typeof def === 'object' && def !== null && 'name' in def) validateStrategy(def, from);
    throw new UsageError(`${from}: no strategy export found (expected a default export or a named export with "name" and "features")`);
  }
  return found.map((s) => validateStrategy(s, from));
}

async function importFile(file: string, from: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    if (/\.[cm]?ts$/.test(file)) throw new UsageError(`${from}: cannot import TypeScript source ${file} (${firstLine(e)}); build the package and point at its JavaScript output`);
    throw new UsageError(`${from}: cannot import ${file}: ${firstLine(e)}`, { cause: e });
  }
}

const CONDITIONS = ['import', 'node', 'default', 'module', 'require'];

/** Follow an exports-map value through conditions to a file path ("./dist/index.js"). */
function pickTarget(v: unknown, conditions: readonly string[]): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    for (const x of v) {
      const t = pickTarget(x, conditions);
      if (t) return t;
    }
    return undefined;
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const c of conditions) if (c in o) {
      const t = pickTarget(o[c], conditions);
      if (t) return t;
    }
  }
  return undefined;
}

interface PackageEntries {
  /** The JavaScript entry (exports "." import/default, else module, else main, else index.js). */
  entry: string;
  /** The TypeScript source entry under the "@hugesync/source" condition, if declared. */
  source?: string;
}

export function packageEntries(pkg: Record<string, unknown>): PackageEntries {
  let dot: unknown = undefined;
  const ex = pkg.exports;
  if (typeof ex === 'string' || Array.isArray(ex)) dot = ex;
  else if (typeof ex === 'object' && ex !== null) {
    const keys = Object.keys(ex);
    dot = keys.some((k) => k.startsWith('.')) ? (ex as Record<string, unknown>)['.'] : ex;
  }
  const entry = pickTarget(dot, CONDITIONS) ?? (typeof pkg.module === 'string' ? pkg.module : undefined) ?? (typeof pkg.main === 'string' ? pkg.main : undefined) ?? './index.js';
  const source = pickTarget(dot, ['@hugesync/source']);
  return { entry, source: source && source !== entry ? source : undefined };
}

/** A package directory or a module file. */
export async function loadFromPath(abs: string, from: string): Promise<SyncStrategy[]> {
  if (!existsSync(abs)) throw new UsageError(`strategy path "${from}" does not exist (${abs})`);
  if (statSync(abs).isFile()) return strategiesOfModule(await importFile(abs, from), from);
  return loadFromDir(abs, from);
}

async function loadFromDir(dir: string, from: string): Promise<SyncStrategy[]> {
  const pj = join(dir, 'package.json');
  if (!existsSync(pj)) {
    for (const f of ['index.js', 'index.mjs']) if (existsSync(join(dir, f))) return strategiesOfModule(await importFile(join(dir, f), from), from);
    throw new UsageError(`strategy path "${from}" is a directory without package.json or index.js`);
  }
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(readFileSync(pj, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${from}: cannot read ${pj}: ${firstLine(e)}`);
  }
  const { entry, source } = packageEntries(pkg);
  const entryAbs = resolvePath(dir, entry);
  if (existsSync(entryAbs)) return strategiesOfModule(await importFile(entryAbs, from), from);
  if (source && existsSync(resolvePath(dir, source))) {
    // Not built: the TypeScript source only imports under a TypeScript-aware loader (vitest, tsx).
    let mod: Record<string, unknown> | null = null;
    try {
      mod = (await import(pathToFileURL(resolvePath(dir, source)).href)) as Record<string, unknown>;
    } catch {
      mod = null;
    }
    if (mod) return strategiesOfModule(mod, from);
    throw new UsageError(`strategy package "${typeof pkg.name === 'string' ? pkg.name : from}" at ${dir} is not built (${entry} is missing); run "npm run build" there first`);
  }
  throw new UsageError(`${from}: the package entry ${entry} does not exist in ${dir}`);
}

function isNotFound(e: unknown, name: string): boolean {
  const code = (e as { code?: unknown })?.code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') && firstLine(e).includes(name);
}

/** An installed package, found from cwd (then from hugesync's own location). */
async function loadFromPackage(name: string, cwd: string): Promise<SyncStrategy[]> {
  const unknown = () => new UsageError(`unknown strategy "${name}"${didYouMean(name, [...strategyNames(), 'all'])}`);
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) throw unknown();
  const req = createRequire(join(cwd, 'package.json'));
  // 1. its package.json (works when the exports map exposes it), 2. its main entry, walking up.
  let dir: string | undefined;
  try {
    dir = dirname(req.resolve(`${name}/package.json`));
  } catch {
    try {
      let d = dirname(req.resolve(name));
      for (let i = 0; i < 10 && !dir; i++) {
        const pj = join(d, 'package.json');
        if (existsSync(pj)) {
          try {
            if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown }).name === name) dir = d;
          } catch {
            /* keep walking */
          }
        }
        const up = dirname(d);
        if (up === d) break;
        d = up;
      }
    } catch {
      dir = undefined;
    }
  }
  if (dir) return loadFromDir(dir, name);
  try {
    return strategiesOfModule((await import(name)) as Record<string, unknown>, name);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (isNotFound(e, name)) throw unknown();
    throw new UsageError(`cannot load strategy package "${name}": ${firstLine(e)}`, { cause: e });
  }
}
