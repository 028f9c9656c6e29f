import { runOnce, stepLabel, type Built, type SyncStrategy, type WorkloadSpec, type Op, type MappingSpec, type HoldMode } from '@hugesync/core';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

export function mapping(name: string, length: number, extra: Partial<MappingSpec> = {}): MappingSpec {
  return { name, file: 'f', offset: 0, length, shared: true, write: true, placement: 'same', mapAtStart: true, ...extra };
}

/** One thread in process A running `ops`; B maps the same file and prefaults it when `shareWith` (so A's fault shares B's PMD table). */
export function single(name: string, length: number, ops: Op[], opts: { shareWith?: boolean; prefaultA?: boolean; hugePages?: number } = {}): WorkloadSpec {
  const setup: WorkloadSpec['setup'] = [];
  if (opts.shareWith) setup.push({ process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } });
  if (opts.prefaultA) setup.push({ process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } });
  return {
    name,
    description: 'test workload',
    tags: [],
    params: {},
    pool: { hugePages: opts.hugePages ?? 520, overcommit: 0 },
    faultMutexes: 64,
    files: [{ name: 'f', size: length }],
    processes: [
      { name: 'A', mappings: [mapping('m', length)] },
      { name: 'B', mappings: opts.shareWith ? [mapping('m', length)] : [] },
    ],
    setup,
    threads: [{ name: 'T', process: 'A', ops }],
  };
}

export interface LockEv {
  ev: 'acq' | 'rel';
  cls: string;
  mode: HoldMode;
  fn: string;
  seq: number;
}

/** Run a one-thread workload sequentially; record the worker's lock acquisitions/releases and step labels. */
export function record(spec: WorkloadSpec, s: SyncStrategy): { locks: LockEv[]; labels: Array<{ seq: number; fn: string; label: string }>; built: Built; violations: string[] } {
  const locks: LockEv[] = [];
  const labels: Array<{ seq: number; fn: string; label: string }> = [];
  const { exec, built } = runOnce(spec, s, { pick: (r) => r[0]! }, {
    seed: 1,
    onBuilt: (b) => {
      const k = b.kernel;
      k.stepListeners = true;
      k.bus.on('lock:acquired', (t, l, mode, fn) => { if (!t.daemon) locks.push({ ev: 'acq', cls: l.cls, mode, fn, seq: k.seq }); });
      k.bus.on('lock:released', (t, l, mode, fn) => { if (!t.daemon) locks.push({ ev: 'rel', cls: l.cls, mode, fn, seq: k.seq }); });
      k.bus.on('step', (_t, st, seq) => labels.push({ seq, fn: st.fn, label: stepLabel(st) }));
    },
  });
  return { locks, labels, built, violations: exec.violations.map((v) => `${v.kind}: ${v.message}`) };
}

/** Index of the first event matching. */
export function idx(locks: LockEv[], ev: 'acq' | 'rel', cls: string, fn?: string, from = 0): number {
  for (let i = from; i < locks.length; i++) {
    const l = locks[i]!;
    if (l.ev === ev && l.cls === cls && (fn === undefined || l.fn === fn)) return i;
  }
  return -1;
}

export const I_MMAP = 'hugetlbfs_i_mmap_rwsem_key';
export const FAULT_MUTEX = 'hugetlb_fault_mutex';
