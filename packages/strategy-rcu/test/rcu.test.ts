import { describe, it, expect } from 'vitest';
import { explore, runOnce, stepLabel, type Kernel, type SyncStrategy } from '@hugesync/core';
import { vmaLockStrategy } from '@hugesync/strategy-vma-lock';
import { rcuStrategy, hugetlbWalkStrategy } from '../src/index.js';
import { attachRankChecker, earlyWalkPreempted, faultTruncateRace, inOrder, pmdUnshareRace, shareFault } from '../../strategy-vma-lock/test/helpers.js';

function faultTrace(s: SyncStrategy) {
  const events: string[] = [];
  const badOrder: string[] = [];
  const { exec } = runOnce(shareFault(), s, inOrder('A-fault'), {
    seed: 1,
    onBuilt: (b) => {
      attachRankChecker(b.kernel, badOrder);
      b.kernel.stepListeners = true;
      b.kernel.bus.on('step', (t, st) => {
        if (t.name !== 'A-fault') return;
        if (stepLabel(st).startsWith('rcu_read') || (st.fn === 'hugetlb_fault' && stepLabel(st).startsWith('huge_pte_offset'))) events.push(stepLabel(st).replace(/\(.*/, ''));
      });
      b.kernel.bus.on('lock:acquired', (t, l) => {
        if (t.name === 'A-fault') events.push(l.cls);
      });
    },
  });
  return { events, badOrder, exec };
}

describe('rcu (seed 001, RFC v1) and vma-lock-6.3 (hugetlb_walk)', () => {
  it('rcu: the early lockless walk of hugetlb_fault runs inside rcu_read_lock, before any sleeping lock', () => {
    const tr = faultTrace(rcuStrategy);
    expect(tr.exec.violations).toEqual([]);
    expect(tr.events.slice(0, 6)).toEqual(['mmap_lock', 'rcu_read_lock', 'huge_pte_offset', 'rcu_read_unlock', 'hugetlb_fault_mutex', 'hugetlb_vma_lock']);
    expect(tr.badOrder).toEqual([]);
  });

  it('vma-lock-6.3: hugetlb_fault has no lockless walk and no RCU; the order is the vma-lock one', () => {
    const tr = faultTrace(hugetlbWalkStrategy);
    expect(tr.exec.violations).toEqual([]);
    expect(hugetlbWalkStrategy.features.faultLocklessWalk).toBe(false);
    expect(tr.events).not.toContain('rcu_read_lock');
    expect(tr.events.slice(0, 4)).toEqual(['mmap_lock', 'hugetlb_fault_mutex', 'hugetlb_vma_lock', 'hugetlbfs_i_mmap_rwsem_key']);
    expect(tr.badOrder).toEqual([]);
  });

  it('the early-walk window: vma-lock reads a freed PMD page, rcu defers the free past the reader, 6.3 has no such read', () => {
    const out: Record<string, string[]> = {};
    for (const s of [vmaLockStrategy, rcuStrategy, hugetlbWalkStrategy]) {
      const { exec } = runOnce(pmdUnshareRace(), s, earlyWalkPreempted(), { seed: 1 });
      out[s.name] = exec.violations.map((v) => `${v.kind}@${v.fn}`);
    }
    console.log('early-walk schedule', out);
    expect(out).toEqual({ 'vma-lock': ['pte-use-after-free@hugetlb_fault'], rcu: [], 'vma-lock-6.3': [] });
  });

  it('rcu: the PMD page is released only by the RCU callback, after the walker left its read-side section', () => {
    let k!: Kernel;
    const order: string[] = [];
    const { exec } = runOnce(pmdUnshareRace(), rcuStrategy, earlyWalkPreempted(), {
      seed: 1,
      onBuilt: (b) => {
        k = b.kernel;
        k.stepListeners = true;
        k.bus.on('step', (t, st) => {
          if (stepLabel(st).startsWith('call_rcu') || stepLabel(st) === 'rcu callback' || (t.name === 'A-fault' && stepLabel(st).startsWith('rcu_read_unlock'))) order.push(`${t.name}: ${stepLabel(st)}`);
        });
      },
    });
    expect(exec.completed).toBe(true);
    expect(exec.violations).toEqual([]);
    expect(order).toEqual(['B-munmap: call_rcu(pmd_free(pmd1))', 'A-fault: rcu_read_unlock()', 'rcu_cb: rcu callback']);
    expect(k.tables.all[0]!.free).toBe(true);
  });

  it('pmd-unshare-race, random: clean under rcu and vma-lock-6.3', () => {
    for (const s of [rcuStrategy, hugetlbWalkStrategy]) {
      const r = explore(pmdUnshareRace(), s, { explorer: 'random', schedules: 200, seed: 1, all: true });
      console.log(s.name, 'pmd-unshare-race random', r.schedules, r.violations.map((v) => `${v.kind}: ${v.message} ${v.replay}`));
      expect(r.violations).toEqual([]);
    }
  });

  it('fault-truncate-race: RCU and hugetlb_walk() do not change truncation, the reserve-count race of the vma lock remains', () => {
    for (const s of [rcuStrategy, hugetlbWalkStrategy]) {
      const r = explore(faultTruncateRace(), s, { explorer: 'pct', schedules: 3000, seed: 1, all: true });
      console.log(s.name, 'fault-truncate-race pct', r.schedules, r.violations.map((v) => `${v.kind}: ${v.message} [${v.steps} steps] ${v.replay}`));
      expect(r.violations.map((v) => v.kind)).toContain('reserve-count');
      expect(r.violations.filter((v) => v.kind.startsWith('pte-'))).toEqual([]);
    }
  });
});
