/** Shape checks for strategies that come from outside this repository (paths, packages). */
import { BASELINE_FEATURES, STRATEGY_HOOKS, STRATEGY_FEATURE_ENUMS, type SyncStrategy } from '@hugesync/core';
import { UsageError } from './errors.js';
import { nearest } from './suggest.js';

export { STRATEGY_HOOKS };

const ENUM_FEATURES = STRATEGY_FEATURE_ENUMS;

const FEATURE_KEYS = Object.keys(BASELINE_FEATURES);
const STRING_FIELDS = ['description', 'seed', 'kernel', 'package'] as const;

/** Cheap test used to pick strategy-like exports out of a module: an object with a name and features. */
export function looksLikeStrategy(x: unknown): x is SyncStrategy {
  return typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string' && typeof (x as { features?: unknown }).features === 'object';
}

/**
 * Check that `x` has the SyncStrategy shape; throw a one-line UsageError naming the strategy (and
 * where it came from) otherwise. Returns it typed.
 */
export function validateStrategy(x: unknown, from: string): SyncStrategy {
  if (typeof x !== 'object' || x === null) throw new UsageError(`${from}: the export is not a strategy object (got ${x === null ? 'null' : typeof x})`);
  const o = x as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name.trim() === '' || /\s|,/.test(o.name)) {
    throw new UsageError(`${from}: strategy has no usable "name" (a non-empty string without spaces or commas is required)`);
  }
  const who = `strategy "${o.name}" (${from})`;
  for (const f of STRING_FIELDS) {
    if (o[f] !== undefined && typeof o[f] !== 'string') throw new UsageError(`${who}: "${f}" must be a string, got ${typeof o[f]}`);
  }
  if (typeof o.description !== 'string') throw new UsageError(`${who}: "description" (a string) is missing`);
  if (o.lockClasses !== undefined && !Array.isArray(o.lockClasses)) throw new UsageError(`${who}: "lockClasses" must be an array`);
  if (Array.isArray(o.lockClasses)) {
    o.lockClasses.forEach((lc: unknown, i: number) => {
      if (typeof lc !== 'object' || lc === null || typeof (lc as { name?: unknown }).name !== 'string') throw new UsageError(`${who}: lockClasses[${i}] has no "name"`);
    });
  }
  const feats = o.features;
  if (typeof feats !== 'object' || feats === null || Array.isArray(feats)) throw new UsageError(`${who}: "features" must be an object with the StrategyFeatures keys`);
  const fo = feats as Record<string, unknown>;
  for (const key of Object.keys(fo)) {
    if (!FEATURE_KEYS.includes(key)) {
      const near = nearest(key, FEATURE_KEYS);
      throw new UsageError(`${who}: unknown feature "${key}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
  }
  for (const key of FEATURE_KEYS) {
    const v = fo[key];
    if (v === undefined) throw new UsageError(`${who}: feature "${key}" is missing (start from BASELINE_FEATURES of @hugesync/core)`);
    const allowed = ENUM_FEATURES[key];
    if (allowed) {
      if (typeof v !== 'string' || !allowed.includes(v)) throw new UsageError(`${who}: feature "${key}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(v)}`);
    } else if (typeof v !== typeof (BASELINE_FEATURES as unknown as Record<string, unknown>)[key]) {
      throw new UsageError(`${who}: feature "${key}" must be a ${typeof (BASELINE_FEATURES as unknown as Record<string, unknown>)[key]}, got ${JSON.stringify(v)}`);
    }
  }
  for (const h of STRATEGY_HOOKS) {
    if (o[h] !== undefined && typeof o[h] !== 'function') throw new UsageError(`${who}: hook "${h}" must be a function, got ${typeof o[h]}`);
  }
  // A hook-like key that is not a hook is most likely a misspelt one: it would silently never run.
  for (const key of Object.keys(o)) {
    if (typeof o[key] === 'function' && !(STRATEGY_HOOKS as readonly string[]).includes(key)) {
      const near = nearest(key, STRATEGY_HOOKS);
      if (near) throw new UsageError(`${who}: "${key}" is not a SyncStrategy hook (did you mean "${near}"?)`);
    }
  }
  return x as SyncStrategy;
}
