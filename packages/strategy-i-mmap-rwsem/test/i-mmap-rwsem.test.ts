import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { explore, noneStrategy, replaySchedule, decodeToken, loadWorkloadFile, Kernel, RwSem, lockIt, unlockIt, type KGen, type ViolationKind } from '@hugesync/core';
import { pmdUnshareRace, faultTruncateRace } from '../../core/test/fixtures.js';
import { iMmapRwsemStrategy, createIMmapRwsemStrategy } from '../src/index.js';
import { single, record, idx, GiB, MiB, I_MMAP, FAULT_MUTEX } from './helpers.js';

const s = iMmapRwsemStrategy;
/** Kinds that mean the strategy itself is broken (lock discipline), whatever the workload. */
const DISCIPLINE: ViolationKind[] = ['lock-imbalance', 'strategy-error', 'lock-order', 'deadlock', 'sleep-in-atomic', 'livelock'];

describe('i-mmap-rwsem: identity and forms', () => {
  it('default form is v5.10.7 and named i-mmap-rwsem; 5.7 is a distinct variant', () => {
    expect([s.name, s.kernel, s.options]).toEqual(['i-mmap-rwsem', 'v5.10.7', { form: '5.10' }]);
    const s57 = createIMmapRwsemStrategy({ form: '5.7' });
    expect([s57.name, s57.kernel, s57.options]).toEqual(['i-mmap-rwsem-5.7', 'v5.7', { form: '5.7' }]);
    expect(() => createIMmapRwsemStrategy({ form: '5.8' as never })).toThrow(/unknown form '5.8'/);
  });
  it('declares the column I features', () => {
    const f = s.features;
    expect([f.faultUsesLocklessPte, f.pmdShareTakesIMmap, f.sizeCheck, f.sizeRecheckUnderPtl, f.truncateSizeUnderIMmap, f.removeMutexOnTruncate, f.flushOnUnshare]).toEqual([false, false, 'before-lookup', false, true, false, false]);
  });
});

describe('i-mmap-rwsem: lock order on each hooked path', () => {
  it('a fault that shares a PMD table: i_mmap read -> fault mutex -> page lock -> PTL; mutex released before i_mmap', () => {
    const r = record(single('fault', GiB, [{ op: 'touch', mapping: 'm', offset: 2 * MiB, length: 0, write: true, expect: 'ok' }], { shareWith: true }), s);
    expect(r.violations).toEqual([]);
    const iAcq = idx(r.locks, 'acq', I_MMAP, 'hugetlb_fault');
    const mAcq = idx(r.locks, 'acq', FAULT_MUTEX);
    const pAcq = idx(r.locks, 'acq', 'page_lock');
    const ptlNoPage = idx(r.locks, 'acq', 'ptlock', 'hugetlb_no_page');
    const mRel = idx(r.locks, 'rel', FAULT_MUTEX);
    const iRel = idx(r.locks, 'rel', I_MMAP, 'hugetlb_fault');
    expect(r.locks[iAcq]!.mode).toBe('read');
    expect(0 <= iAcq && iAcq < mAcq && mAcq < pAcq && pAcq < ptlNoPage && ptlNoPage < mRel && mRel < iRel).toBe(true);
    // huge_pmd_share() ran (the fault shared B's table) but took no i_mmap_rwsem of its own (5.10 asserts the caller's).
    expect(r.labels.some((l) => l.fn === 'huge_pmd_share' && l.label.startsWith('get_page(pmd'))).toBe(true);
    expect(r.locks.filter((l) => l.ev === 'acq' && l.cls === I_MMAP).length).toBe(1);
  });

  it('a fault on a mapping too small to share still takes i_mmap_rwsem (always, shared or not)', () => {
    const r = record(single('fault-small', 4 * MiB, [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' }]), s);
    expect(r.violations).toEqual([]);
    expect(idx(r.locks, 'acq', I_MMAP, 'hugetlb_fault')).toBeGreaterThanOrEqual(0);
    expect(idx(r.locks, 'acq', I_MMAP, 'hugetlb_fault')).toBeLessThan(idx(r.locks, 'acq', FAULT_MUTEX));
  });

  it('truncate: i_mmap write before i_size_write; no fault mutex in remove_inode_hugepages', () => {
    const r = record(single('truncate', 4 * MiB, [{ op: 'ftruncate', file: 'f', size: 0, expect: 'ok' }], { prefaultA: true, hugePages: 4 }), s);
    expect(r.violations).toEqual([]);
    const iAcq = r.locks[idx(r.locks, 'acq', I_MMAP, 'hugetlb_vmtruncate')]!;
    const size = r.labels.find((l) => l.label.startsWith('i_size_write'))!;
    expect(iAcq.mode).toBe('write');
    expect(iAcq.seq).toBeLessThan(size.seq);
    expect(r.labels.some((l) => l.fn === 'remove_inode_hugepages' && l.label.startsWith('lock_page'))).toBe(true);
    expect(idx(r.locks, 'acq', FAULT_MUTEX)).toBe(-1);
  });

  it('fork of a shared mapping: i_mmap read around copy_hugetlb_page_range', () => {
    const r = record(single('fork', GiB, [{ op: 'fork', child: 'C', ops: [], expect: 'ok' }], { prefaultA: true }), s);
    expect(r.violations).toEqual([]);
    const a = idx(r.locks, 'acq', I_MMAP, 'copy_hugetlb_page_range');
    const b = idx(r.locks, 'rel', I_MMAP, 'copy_hugetlb_page_range');
    expect(r.locks[a]!.mode).toBe('read');
    expect(a).toBeLessThan(b);
  });

  it('removeMappedPage (hole punch re-unmap): mutex dropped -> i_mmap write -> mutex -> vmdelete -> i_mmap released; returns holding the mutex', () => {
    const k = new Kernel(s, { hugePages: 2 });
    const inode = k.addInode('f', 4 * MiB);
    const mutex = k.faultMutex(inode, 1);
    const seen: string[] = [];
    k.bus.on('lock:acquired', (_t, l, mode) => seen.push(`+${l.cls}:${mode}`));
    k.bus.on('lock:released', (_t, l, mode) => seen.push(`-${l.cls}:${mode}`));
    let heldAfter = false;
    const t = k.spawn('punch', 'C', function* (self): KGen<void> {
      const c = { k, t: self };
      yield* lockIt(c, mutex, 'write', 'remove_inode_hugepages');
      yield* s.removeMappedPage!(c, inode, k.hstate.page(1), 1, mutex);
      heldAfter = mutex.isHeldBy(self);
      yield* unlockIt(c, mutex, 'write', 'remove_inode_hugepages');
    });
    while (!t.done) k.stepThread(t);
    expect(heldAfter).toBe(true);
    expect(seen).toEqual([`+${FAULT_MUTEX}:write`, `-${FAULT_MUTEX}:write`, `+${I_MMAP}:write`, `+${FAULT_MUTEX}:write`, `-${I_MMAP}:write`, `-${FAULT_MUTEX}:write`]);
    expect(k.violations).toEqual([]);
    expect(inode.iMmapRwsem).toBeInstanceOf(RwSem);
  });
});

describe('i-mmap-rwsem: exploration of the core fixtures', () => {
  it('pmd-unshare-race (seed 002 diagram): nothing found in 600 random schedules', () => {
    const r = explore(pmdUnshareRace(), s, { explorer: 'random', schedules: 600, seed: 1, all: true });
    console.log(`i-mmap-rwsem pmd-unshare-race: ${r.schedules} schedules, ${r.elapsedMs} ms, violations: ${JSON.stringify(r.violations.map((v) => v.kind))}`);
    expect(r.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
  });

  it('pmd-unshare-race control: the same exploration finds the race under none (5.6)', () => {
    const r = explore(pmdUnshareRace(), noneStrategy, { explorer: 'random', schedules: 600, seed: 1 });
    expect(r.violations.map((v) => v.kind)).toContain('pte-stale-owner');
  });

  it('fault-truncate-race (seed 000 problem 2): PCT finds it under none within a few schedules, never under i-mmap-rwsem', () => {
    for (const seed of [1, 2, 3]) {
      const ctl = explore(faultTruncateRace(), noneStrategy, { explorer: 'pct', schedules: 200, seed, minimize: false });
      expect(ctl.violations.length).toBeGreaterThan(0);
      const r = explore(faultTruncateRace(), s, { explorer: 'pct', schedules: 1000, seed, all: true });
      console.log(`i-mmap-rwsem fault-truncate-race pct seed ${seed}: ${r.schedules} schedules, violations: ${JSON.stringify(r.violations.map((v) => v.kind))}; none found ${ctl.violations[0]!.kind} after ${ctl.schedules}`);
      expect(r.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
    }
  });

  it('fault-truncate-race: random exploration is clean too, and keeps lock discipline', () => {
    const r = explore(faultTruncateRace(), s, { explorer: 'random', schedules: 1500, seed: 2, all: true });
    expect(r.violations.filter((v) => DISCIPLINE.includes(v.kind))).toEqual([]);
    expect(r.violations).toEqual([]);
  });

  it('a none counterexample token does not carry over: replaying it under i-mmap-rwsem is clean', () => {
    const ctl = explore(faultTruncateRace(), noneStrategy, { explorer: 'pct', schedules: 200, seed: 1 });
    const sched = decodeToken(ctl.violations[0]!.replay).schedule;
    const r = replaySchedule(faultTruncateRace(), s, sched, 1);
    expect(r.violations.filter((v) => !DISCIPLINE.includes(v.kind))).toEqual([]);
  });
});

describe('seed 003: Hugh Dickins\' anon_vma bug in the 5.7 form (catalog migrate-vs-fork-anon)', () => {
  const spec = () => loadWorkloadFile(fileURLToPath(new URL('../../workloads/catalog/migrate-vs-fork-anon.yaml', import.meta.url)));

  it('5.7: the TTU_RMAP_LOCKED anon_vma walk races with anon_vma_clone() of a fork (exhaustive DPOR)', () => {
    const r = explore(spec(), createIMmapRwsemStrategy({ form: '5.7' }), { explorer: 'dpor', schedules: 20_000, seed: 1, all: true });
    expect(r.exhaustive).toBe(true);
    const race = r.violations.find((v) => v.kind === 'data-race');
    expect(race?.message).toBe('data-race in anon_vma_clone / rmap_walk_anon');
    // The walker holds i_mmap_rwsem (hugetlb_page_mapping_lock_write) but not anon_vma->rwsem.
    expect(race?.report).toMatch(/rmap_walk_anon: plain read\n\s+locks held: page_lock, page_lock, hugetlbfs_i_mmap_rwsem_key\n/);
    expect(race?.report).toMatch(/anon_vma_clone: plain write\n\s+locks held: .*anon_vma->rwsem/);
    // Class-level report of the mapcount hack: relocking the old page under i_mmap_rwsem while the new (private) page is locked.
    expect(r.violations.map((v) => v.kind).sort()).toEqual(['data-race', 'lock-order']);
    const again = replaySchedule(spec(), createIMmapRwsemStrategy({ form: '5.7' }), decodeToken(race!.replay).schedule, 1);
    expect(again.violations.map((v) => v.kind)).toContain('data-race');
  });

  it('5.10 (336bf30eb765): anon pages take the normal anon_vma walk: clean, exhaustive', () => {
    const r = explore(spec(), s, { explorer: 'dpor', schedules: 20_000, seed: 1, all: true });
    expect([r.exhaustive, r.violations.map((v) => `${v.kind}: ${v.message}`)]).toEqual([true, []]);
  });
});
