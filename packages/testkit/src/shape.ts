/**
 * Shape check of a strategy object, in the testkit's own words. @hugesync/strategies has a
 * validator too (validateStrategy), but it depends on every built-in strategy package, and those
 * packages run this kit in their tests: depending on it here would make the workspace graph
 * cyclic. The rules are the same; this version returns every problem instead of throwing the first.
 */
import { BASELINE_FEATURES, STRATEGY_HOOKS, STRATEGY_FEATURE_ENUMS, type SyncStrategy } from '@hugesync/core';

export const HOOKS = STRATEGY_HOOKS;

const ENUM_FEATURES = STRATEGY_FEATURE_ENUMS;
const BASE = BASELINE_FEATURES as unknown as Record<string, unknown>;
const FEATURE_KEYS = Object.keys(BASE);
const LOCK_KINDS = ['rwsem', 'mutex', 'spinlock', 'pagelock', 'rcu'];

/** Every problem with the shape of `x` as a SyncStrategy (empty: it conforms). */
export function shapeProblems(x: unknown): string[] {
  const out: string[] = [];
  if (typeof x !== 'object' || x === null) return [`not a strategy object (got ${x === null ? 'null' : typeof x})`];
  const o = x as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[a-z0-9][a-z0-9.-]*$/.test(o.name)) out.push(`"name" must be a lower-case identifier usable on the command line (letters, digits, "-", "."), got ${JSON.stringify(o.name)}`);
  for (const f of ['description', 'seed', 'kernel', 'package'] as const) {
    if (typeof o[f] !== 'string' || (o[f] as string).trim() === '') out.push(`"${f}" must be a non-empty string`);
  }
  if (!Array.isArray(o.lockClasses)) out.push('"lockClasses" must be an array');
  else {
    const seen = new Set<string>();
    o.lockClasses.forEach((lc: unknown, i: number) => {
      const l = lc as { name?: unknown; kind?: unknown; protects?: unknown } | null;
      if (typeof l !== 'object' || l === null || typeof l.name !== 'string' || l.name === '') return void out.push(`lockClasses[${i}] has no "name"`);
      if (seen.has(l.name)) out.push(`lockClasses[${i}]: "${l.name}" is declared twice`);
      seen.add(l.name);
      if (typeof l.kind !== 'string' || !LOCK_KINDS.includes(l.kind)) out.push(`lockClasses[${i}] "${l.name}": "kind" must be one of ${LOCK_KINDS.join(', ')}`);
      if (typeof l.protects !== 'string' || l.protects === '') out.push(`lockClasses[${i}] "${l.name}": "protects" should say what the lock protects`);
    });
  }
  const feats = o.features;
  if (typeof feats !== 'object' || feats === null || Array.isArray(feats)) out.push('"features" must be an object with the StrategyFeatures keys');
  else {
    const fo = feats as Record<string, unknown>;
    for (const key of Object.keys(fo)) if (!FEATURE_KEYS.includes(key)) out.push(`unknown feature "${key}"`);
    for (const key of FEATURE_KEYS) {
      const v = fo[key];
      const allowed = ENUM_FEATURES[key];
      if (v === undefined) out.push(`feature "${key}" is missing (start from BASELINE_FEATURES of @hugesync/core)`);
      else if (allowed ? !allowed.includes(v as string) : typeof v !== typeof BASE[key]) out.push(`feature "${key}" has the wrong type or value: ${JSON.stringify(v)}`);
    }
  }
  if (o.options !== undefined && (typeof o.options !== 'object' || o.options === null)) out.push('"options" must be an object when present');
  for (const h of HOOKS) {
    const f = o[h];
    if (f === undefined) continue;
    if (typeof f !== 'function') out.push(`hook "${h}" must be a function, got ${typeof f}`);
  }
  for (const key of Object.keys(o)) {
    if (typeof o[key] === 'function' && !(HOOKS as readonly string[]).includes(key)) out.push(`"${key}" is a function but not a SyncStrategy hook (misspelt? it would never run)`);
  }
  return out;
}

/** The strategy typed, or an Error listing every shape problem. */
export function assertShape(x: unknown): SyncStrategy {
  const p = shapeProblems(x);
  if (p.length) throw new Error(`not a valid SyncStrategy: ${p.join('; ')}`);
  return x as SyncStrategy;
}
