import { describe, it, expect } from 'vitest';
import { runOnce, RandomScheduler, PctScheduler, type Kernel, type Thread } from '@hugesync/core';
import { vmaLockStrategy, vmaLocksHeld, vmaLockOf } from '../src/index.js';
import { attachRankChecker, vmaLockMix, pmdUnshareRace, faultTruncateRace } from './helpers.js';

const DISCIPLINE = new Set(['lock-imbalance', 'deadlock', 'lock-order', 'sleep-in-atomic', 'strategy-error', 'livelock']);

describe('vma-lock: lock discipline under random and PCT schedules', () => {
  for (const make of [vmaLockMix, pmdUnshareRace, faultTruncateRace]) {
    it(`${make().name}: balanced vma locks, no deadlock, no lock-order inversion, §D order kept`, () => {
      const kinds = new Map<string, number>();
      const problems: string[] = [];
      const badOrder: string[] = [];
      let runs = 0;
      let backout = 0;
      for (let i = 0; i < 150; i++) {
        let k!: Kernel;
        let threads: Thread[] = [];
        const sched = i % 2 ? new RandomScheduler(1000 + i) : new PctScheduler(1000 + i, 3, 300);
        const { exec } = runOnce(make(), vmaLockStrategy, sched, {
          seed: 1,
          stopOnViolation: false,
          onBuilt: (b) => {
            k = b.kernel;
            threads = k.threads;
            attachRankChecker(k, badOrder);
            k.bus.on('lock:attempt', (e) => {
              if (e.lock.cls === 'hugetlb_vma_lock' && !e.trylock && e.fn === 'hugetlb_unmap_file_folio') backout++;
            });
          },
        });
        runs++;
        for (const v of exec.violations) {
          kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
          if (DISCIPLINE.has(v.kind)) problems.push(`${v.kind}: ${v.message}`);
        }
        if (!exec.completed) continue;
        for (const t of threads) if (vmaLocksHeld(t).length) problems.push(`${t.name} ended holding ${vmaLocksHeld(t).length} vma lock(s)`);
        for (const mm of k.mms.values())
          for (const v of mm.vmas) {
            const l = vmaLockOf(v);
            if (l && (l.rwSema.holders().length || l.rwSema.waiters.length)) problems.push(`vma lock of ${mm.name} still held at the end`);
            if (l && (l.vma !== v || l.freed || l.refs !== 1)) problems.push(`vma lock of live vma in ${mm.name}: vma ${l.vma === v}, refs ${l.refs}, freed ${l.freed}`);
          }
      }
      console.log(make().name, runs, 'runs; hugetlb_unmap_file_folio back-outs:', backout, '; violations by kind:', Object.fromEntries(kinds));
      // The mix reaches the in-order back-out of hugetlb_unmap_file_folio (down_write of a vma lock a fault holds).
      if (make === vmaLockMix) expect(backout).toBeGreaterThan(0);
      expect(problems).toEqual([]);
      expect(badOrder).toEqual([]);
    });
  }
});
