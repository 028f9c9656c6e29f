/** The strategies that ship with hugesync, in their fixed order. */
import { noneStrategy, type SyncStrategy } from '@hugesync/core';
import * as iMmapRwsem from '@hugesync/strategy-i-mmap-rwsem';
import * as hinodeRwsem from '@hugesync/strategy-hinode-rwsem';
import * as vmaLock from '@hugesync/strategy-vma-lock';
import * as rcu from '@hugesync/strategy-rcu';
import { looksLikeStrategy } from './validate.js';

/**
 * Each built-in strategy package: its main strategy, then the whole module (other strategy
 * exports of the package, e.g. a later kernel form of the same design, follow as siblings).
 */
interface BuiltinPackage {
  pkg: string;
  main: SyncStrategy;
  mod: Record<string, unknown>;
}

const PACKAGES: BuiltinPackage[] = [
  { pkg: '@hugesync/core', main: noneStrategy, mod: { noneStrategy } },
  { pkg: '@hugesync/strategy-i-mmap-rwsem', main: iMmapRwsem.iMmapRwsemStrategy, mod: iMmapRwsem },
  { pkg: '@hugesync/strategy-hinode-rwsem', main: hinodeRwsem.hinodeRwsemStrategy, mod: hinodeRwsem },
  { pkg: '@hugesync/strategy-vma-lock', main: vmaLock.vmaLockStrategy, mod: vmaLock },
  { pkg: '@hugesync/strategy-rcu', main: rcu.rcuStrategy, mod: rcu },
];

let cache: SyncStrategy[] | null = null;

/**
 * Every built-in strategy, in a fixed order: the main strategy of each package (none,
 * i-mmap-rwsem, hinode-rwsem, vma-lock, rcu), then the siblings the packages also export
 * (e.g. vma-lock-6.3, hugetlb-walk), in package order. Names are unique.
 */
export function builtinStrategies(): SyncStrategy[] {
  if (cache) return cache.slice();
  const out: SyncStrategy[] = [];
  const seen = new Set<string>();
  const add = (s: SyncStrategy) => {
    if (seen.has(s.name)) return;
    seen.add(s.name);
    out.push(s);
  };
  for (const p of PACKAGES) add(p.main);
  for (const p of PACKAGES) for (const v of Object.values(p.mod)) if (looksLikeStrategy(v)) add(v);
  cache = out;
  return out.slice();
}

/** Names of the built-in strategies, in builtinStrategies() order. */
export function strategyNames(): string[] {
  return builtinStrategies().map((s) => s.name);
}

/** The npm package a built-in strategy comes from (its `package` field, else the package that exports it). */
export function builtinPackageOf(s: SyncStrategy): string {
  if (s.package) return s.package;
  for (const p of PACKAGES) if (Object.values(p.mod).includes(s)) return p.pkg;
  return '';
}
