/** The workload catalog (@hugesync/workloads), with paths resolved from the CLI's working directory. */
import { isAbsolute, resolve } from 'node:path';
import type { WorkloadSpec } from '@hugesync/core';
import * as workloads from '@hugesync/workloads';

export type CatalogEntry = workloads.CatalogEntry;

export async function listWorkloads(): Promise<CatalogEntry[]> {
  return workloads.listWorkloads();
}

/** True when the argument names a file rather than a catalog workload (same rule as @hugesync/workloads). */
export function isWorkloadPath(a: string): boolean {
  return /[\\/]/.test(a) || /\.(ya?ml|json)$/i.test(a);
}

/** A catalog name or a workload file (relative to cwd), with --set overrides. Throws WorkloadError on bad input. */
export async function resolveWorkload(nameOrPath: string, set: Record<string, string>, cwd: string): Promise<WorkloadSpec> {
  const arg = isWorkloadPath(nameOrPath) && !isAbsolute(nameOrPath) ? resolve(cwd, nameOrPath) : nameOrPath;
  return workloads.resolveWorkload(arg, set);
}

/** Parameters as a short "k=v k=v" string (defaults). */
export function formatParams(p: unknown): string {
  if (p === undefined || p === null || typeof p !== 'object') return p === undefined || p === null ? '' : String(p);
  return Object.entries(p as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null && 'default' in v ? String((v as { default: unknown }).default) : String(v)}`)
    .join(' ');
}
