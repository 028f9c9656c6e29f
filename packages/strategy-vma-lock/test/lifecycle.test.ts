import { describe, it, expect } from 'vitest';
import { runOnce, pageTableShareable, pudIndex, type Kernel, type Vma } from '@hugesync/core';
import { vmaLockStrategy, vmaLockOf, type HugetlbVmaLock } from '../src/index.js';
import { inOrder, pmdUnshareRace } from './helpers.js';

function vmaOf(k: Kernel, mm: string): Vma {
  return k.mms.get(mm)!.vmas[0]!;
}

describe('vma-lock: allocation, sharing eligibility, and freeing at final unmap (lock map B.1, B.4, A.4 V)', () => {
  it('every VM_MAYSHARE vma gets a lock at mmap; a private vma gets none', () => {
    const spec = pmdUnshareRace();
    spec.processes[2]!.mappings.push({ name: 'p', file: 'f', offset: 0, length: 2 * 2 ** 20, shared: false, write: true, placement: 'same', mapAtStart: true });
    let k!: Kernel;
    runOnce(spec, vmaLockStrategy, inOrder(), { seed: 1, onBuilt: (b) => (k = b.kernel), stopOnViolation: false });
    const a = vmaLockOf(vmaOf(k, 'A'))!;
    expect(a).not.toBeNull();
    expect(a.rwSema.cls).toBe('hugetlb_vma_lock');
    expect(a.vma).toBe(vmaOf(k, 'A'));
    expect(vmaLockOf(vmaOf(k, 'C'))).toBeNull();
    expect(vmaLockStrategy.vmaMayShare!(vmaOf(k, 'C'))).toBe(false);
  });

  it('munmap frees and detaches the vma lock before i_mmap_rwsem is released; the dying vma cannot be shared with', () => {
    let k!: Kernel;
    let bLock!: HugetlbVmaLock;
    let bVma!: Vma;
    const atIMmapUnlock: Array<{ attached: boolean; refs: number; freed: boolean }> = [];
    const { exec } = runOnce(pmdUnshareRace(), vmaLockStrategy, inOrder('B-munmap', 'A-fault', 'C-punch'), {
      seed: 1,
      onBuilt: (b) => {
        k = b.kernel;
        bVma = vmaOf(k, 'B');
        bLock = vmaLockOf(bVma)!;
        k.bus.on('lock:released', (t, l, _m, fn) => {
          if (t.name === 'B-munmap' && l.cls === 'hugetlbfs_i_mmap_rwsem_key' && fn === 'unmap_single_vma') {
            atIMmapUnlock.push({ attached: vmaLockOf(bVma) !== null, refs: bLock.refs, freed: bLock.freed });
            // B is still in i_mmap here (unlink_file_vma comes later): page_table_shareable() must refuse it now.
            expect(pageTableShareable({ k, t }, bVma, vmaOf(k, 'A'), vmaOf(k, 'A').start, bVma.pgoff)).toBe(0);
          }
        });
      },
    });
    expect(exec.violations.map((v) => v.message)).toEqual([]);
    expect(atIMmapUnlock).toEqual([{ attached: false, refs: 0, freed: true }]);
    expect(bLock.vma).toBeNull();
    expect(bLock.rwSema.holders()).toEqual([]);
    expect(vmaLockStrategy.vmaMayShare!(bVma)).toBe(false);
    // A, still mapped, keeps its lock and its own table.
    expect(vmaLockOf(vmaOf(k, 'A'))?.freed).toBe(false);
    expect(k.mms.get('A')!.pud.get(pudIndex(vmaOf(k, 'A').start))).toBeDefined();
  });

  it('a vma whose lock is gone is refused by want_pmd_share and page_table_shareable, so a fault allocates its own table', () => {
    // B maps the file and has a table; A's vma loses its lock (as after a final unmap): A must not share B's table.
    const spec = pmdUnshareRace();
    spec.threads = [{ name: 'A-fault', process: 'A', ops: [{ op: 'munmap', mapping: 'm' }, { op: 'mmap', mapping: 'm' }, { op: 'touch', mapping: 'm', offset: 2 * 2 ** 20, length: 0, write: true, expect: 'ok' }] }];
    spec.setup = [{ process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } }];
    let k!: Kernel;
    let stripped = false;
    const { exec } = runOnce(spec, vmaLockStrategy, inOrder('A-fault'), {
      seed: 1,
      onBuilt: (b) => {
        k = b.kernel;
        // Right after the new mmap, drop A's lock the way __hugetlb_vma_unlock_write_put() does.
        k.bus.on('op:end', (t, op) => {
          if (t.name === 'A-fault' && op === 'mmap') {
            const v = k.mms.get('A')!.vmas[0]!;
            const l = vmaLockOf(v)!;
            l.vma = null;
            delete v.ext['hugetlb_vma_lock'];
            stripped = true;
          }
        });
      },
    });
    expect(stripped).toBe(true);
    expect(exec.violations.map((v) => v.message)).toEqual([]);
    const a = k.mms.get('A')!;
    const b = k.mms.get('B')!;
    const pi = pudIndex(a.vmas[0]!.start);
    expect(a.pud.get(pi)).toBeDefined();
    expect(a.pud.get(pi)).not.toBe(b.pud.get(pi));
    expect(b.pud.get(pi)!.refcount).toBe(1);
  });
});
