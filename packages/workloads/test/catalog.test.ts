import { describe, it, expect } from 'vitest';
import { basename, join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { WorkloadError, loadWorkloadText, noneStrategy, runOnce, type WorkloadSpec } from '@hugesync/core';
import { catalogDir, listWorkloads, loadCatalogWorkload, resolveWorkload } from '../src/index.js';

const GiB = 2 ** 30;

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError);
    return (e as Error).message;
  }
  throw new Error('expected a WorkloadError');
}

describe('catalog', () => {
  const entries = listWorkloads();

  it('lists every catalog file, named after its file, with tags and params', () => {
    const files = readdirSync(catalogDir).filter((f) => f.endsWith('.yaml'));
    expect(entries.map((e) => basename(e.file))).toEqual(files.sort());
    for (const e of entries) {
      expect(basename(e.file, '.yaml')).toBe(e.name);
      expect(e.description.length).toBeGreaterThan(0);
      expect(e.tags.length).toBeGreaterThan(0);
    }
    expect(entries.map((e) => e.name)).toEqual([
      'access-vs-unshare-tlb',
      'fault-punch-hole-race',
      'fault-truncate-race',
      'follow-page-vs-unshare',
      'fork-and-fault',
      'fork-with-shared-pmd',
      'gup-fast-vs-unshare',
      'gup-nowait-vs-unshare',
      'hwpoison-vs-fault',
      'madvise-private-vs-fault',
      'map-fault-unmap',
      'migrate-vs-fault-anon',
      'migrate-vs-fault-file',
      'migrate-vs-fork-anon',
      'migrate-vs-unshare',
      'mremap-vs-fault',
      'pmd-unshare-race',
      'shm-detach-vs-fault',
      'split-vs-fault',
      'uffd-vs-unshare',
      'walk-vs-unshare',
    ]);
    expect(entries.find((e) => e.name === 'map-fault-unmap')!.params).toEqual({ processes: 4, fileSize: '2GiB', placement: 'same', prefill: 'true' });
  });

  it('every catalog workload loads by name and by path', () => {
    for (const e of entries) {
      const byName = loadCatalogWorkload(e.name);
      expect(byName.name).toBe(e.name);
      expect(resolveWorkload(e.file)).toEqual(byName);
      expect(resolveWorkload(e.name)).toEqual(byName);
    }
  });

  it('an unknown name suggests the nearest one', () => {
    expect(errorOf(() => loadCatalogWorkload('pmd-unshare-rac'))).toBe('unknown workload "pmd-unshare-rac" (did you mean "pmd-unshare-race"?)');
    expect(errorOf(() => resolveWorkload('fault-trunc-race'))).toBe('unknown workload "fault-trunc-race" (did you mean "fault-truncate-race"?)');
    expect(errorOf(() => resolveWorkload('./nope.yaml'))).toMatch(/^workload \.\/nope\.yaml: no such file$/);
  });

  it('--set overrides: seed 002 RFC v3 size (48 processes, 250 GiB)', () => {
    const w = resolveWorkload('map-fault-unmap', { processes: '48', fileSize: '250GiB' });
    expect(w.params).toEqual({ processes: 48, fileSize: '250GiB', placement: 'same', prefill: 'true' });
    expect(w.processes).toHaveLength(48);
    expect(w.threads).toHaveLength(48);
    expect(w.processes.map((p) => p.name)).toEqual(Array.from({ length: 48 }, (_, i) => `p${i}`));
    expect(w.threads[47]).toMatchObject({ name: 't47', process: 'p47' });
    expect(w.files).toEqual([{ name: 'f', size: 250 * GiB }]);
    expect(w.processes[0]!.mappings[0]).toMatchObject({ length: 250 * GiB, placement: 'same', mapAtStart: false });
    expect(w.pool.hugePages).toBe((250 * GiB) / 2 ** 21);
    expect(w.threads[0]!.ops[1]).toMatchObject({ op: 'touch', offset: 0, length: 250 * GiB });
    expect(w.repeat).toBe(true);
    const r = resolveWorkload('map-fault-unmap', { placement: 'random' });
    expect(r.processes[3]!.mappings[0]!.placement).toBe('random');
    expect(errorOf(() => resolveWorkload('map-fault-unmap', { procs: '8' }))).toBe('workload "map-fault-unmap": --set procs: unknown parameter (did you mean "processes"?) (known: processes, fileSize, placement, prefill)');
    expect(errorOf(() => resolveWorkload('map-fault-unmap', { placement: 'fixed' }))).toMatch(/processes\[0\]\(i=0\)\.mappings\[0\]\.address: is required with placement: fixed/);
  });

  const races = entries.filter((e) => e.tags.includes('race'));
  const issue5 = ['access-vs-unshare-tlb', 'gup-fast-vs-unshare', 'gup-nowait-vs-unshare', 'uffd-vs-unshare', 'walk-vs-unshare', 'hwpoison-vs-fault', 'migrate-vs-fault-anon', 'migrate-vs-fault-file', 'migrate-vs-unshare'];
  it('the race workloads are the ones of the seeds and of issue 5', () => {
    expect(races.filter((e) => !e.tags.includes('issue-5')).map((e) => e.name)).toEqual(['fault-punch-hole-race', 'fault-truncate-race', 'pmd-unshare-race']);
    for (const w of issue5) expect(races.map((e) => e.name)).toContain(w);
  });

  for (const name of ['fault-punch-hole-race', 'fault-truncate-race', 'pmd-unshare-race', ...issue5]) {
    it(`${name}: small enough for exhaustive exploration, and one sequential schedule is clean`, () => {
      const w: WorkloadSpec = loadCatalogWorkload(name);
      expect(w.threads.length).toBeGreaterThanOrEqual(2);
      expect(w.threads.length).toBeLessThanOrEqual(3);
      for (const t of w.threads) expect(t.ops.length).toBeLessThanOrEqual(2);
      expect(w.repeat).toBe(false);
      const { exec } = runOnce(w, noneStrategy, { pick: (r) => r[0]! }, { seed: 1 });
      expect(exec.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
      expect(exec.completed).toBe(true);
    });
  }

  it('pmd-unshare-race: after setup B shares A\'s PMD page (same file offset, same PUD-aligned address)', () => {
    const w = loadCatalogWorkload('pmd-unshare-race');
    let shared = false;
    runOnce(w, noneStrategy, { pick: (r) => r[0]! }, {
      seed: 1,
      maxSteps: 1,
      onBuilt: (b) => {
        const [a, bb] = [b.kernel.mms.get('A')!, b.kernel.mms.get('B')!];
        const addr = b.addresses.get('A')!.get('m')!;
        expect(b.addresses.get('B')!.get('m')).toBe(addr);
        const pud = Math.floor(addr / GiB);
        shared = a.pud.get(pud) !== undefined && a.pud.get(pud) === bb.pud.get(pud);
      },
    });
    expect(shared).toBe(true);
  });

  it('the perf workloads build with their defaults', () => {
    for (const name of ['map-fault-unmap', 'fork-and-fault']) {
      const w = loadCatalogWorkload(name);
      expect(w.repeat).toBe(true);
      expect(w.tags).toContain('perf');
      // Pool "auto": the shared file's pages.
      expect(w.pool.hugePages).toBe(w.files[0]!.size / 2 ** 21);
    }
    const f = loadCatalogWorkload('fork-and-fault');
    expect(f.threads.map((t) => t.name)).toEqual(['fault0', 'fault1', 'forker']);
    expect(f.threads[2]!.ops[0]).toMatchObject({ op: 'fork', child: 'child', ops: [{ op: 'touch', mapping: 'm', length: 4 * 2 ** 20, expect: 'ok' }] });
  });

  it('catalogDir is the package catalog/', () => {
    expect(catalogDir).toBe(join(__dirname, '..', 'catalog'));
  });

  it('the complete example of docs/workloads.md loads and runs clean sequentially', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'workloads.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const w = loadWorkloadText(yaml, { source: 'docs/workloads.md' });
    expect(w.name).toBe('pmd-unshare-race');
    expect(w.pool.hugePages).toBe(512);
    const { exec } = runOnce(w, noneStrategy, { pick: (r) => r[0]! }, { seed: 1 });
    expect(exec.violations).toEqual([]);
  });
});
