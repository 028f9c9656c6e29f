/**
 * @hugesync/workloads: the workload catalog (catalog/*.yaml, shipped with the package) and a
 * resolver from a catalog name or a file path to a loaded WorkloadSpec.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkloadError, loadWorkloadFile, nearestName, type WorkloadSpec } from '@hugesync/core';

/** This module's directory, from CJS (`__dirname`) or ESM (`import.meta.url`). */
function moduleDir(): string {
  if (typeof __dirname === 'string') return __dirname;
  return dirname(fileURLToPath(import.meta.url));
}

function findCatalog(): string {
  const here = moduleDir();
  // src/index.ts and dist/index.{js,cjs} both sit one level below the package root.
  for (const c of [join(here, '..', 'catalog'), join(here, 'catalog')]) if (existsSync(c)) return resolve(c);
  return resolve(here, '..', 'catalog');
}

/** Absolute path of the catalog directory. */
export const catalogDir: string = findCatalog();

export interface CatalogEntry {
  name: string;
  tags: string[];
  description: string;
  /** Parameters and their defaults. */
  params: Record<string, number | string>;
  /** Absolute path of the workload file. */
  file: string;
}

const EXT = /\.(ya?ml|json)$/;

function catalogFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(catalogDir).sort()) if (EXT.test(f)) out.set(f.replace(EXT, ''), join(catalogDir, f));
  return out;
}

/** Every catalog workload (loaded with its defaults), sorted by name. */
export function listWorkloads(): CatalogEntry[] {
  return [...catalogFiles()].map(([, file]) => {
    const w = loadWorkloadFile(file);
    return { name: w.name, tags: w.tags, description: w.description, params: w.params, file };
  });
}

/** Load a catalog workload by name, with parameter overrides (`--set key=value`). */
export function loadCatalogWorkload(name: string, set?: Record<string, string>): WorkloadSpec {
  const files = catalogFiles();
  const file = files.get(name);
  if (file === undefined) {
    const names = [...files.keys()];
    const near = names.find((n) => n.startsWith(name)) ?? names.find((n) => n.includes(name)) ?? nearestName(name, names, Infinity);
    throw new WorkloadError(`unknown workload "${name}"${near ? ` (did you mean "${near}"?)` : ` (catalog: ${[...files.keys()].join(', ')})`}`);
  }
  return loadWorkloadFile(file, { set });
}

/** A path (contains a slash or ends in .yaml/.yml/.json) loads that file; anything else is a catalog name. */
export function resolveWorkload(nameOrPath: string, set?: Record<string, string>): WorkloadSpec {
  if (/[\\/]/.test(nameOrPath) || EXT.test(nameOrPath)) return loadWorkloadFile(nameOrPath, { set });
  return loadCatalogWorkload(nameOrPath, set);
}
