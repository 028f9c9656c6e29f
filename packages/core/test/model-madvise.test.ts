/** MADV_DONTNEED on hugetlb: refused before 5.18 (can_madv_lru_vma), a zap with unsharing from 5.18 (zap_page_range_single @ v6.1). */
import { describe, it, expect } from 'vitest';
import { composeStrategy, noneStrategy, runOnce, type WorkloadSpec } from '../src/index.js';
import { mapping } from './fixtures.js';

const GiB = 2 ** 30;
function spec(): WorkloadSpec {
  return {
    name: 'madvise', description: '', tags: [], params: {}, pool: { hugePages: 520, overcommit: 0 }, faultMutexes: 8,
    files: [{ name: 'f', size: GiB }],
    processes: [{ name: 'A', mappings: [mapping('m', GiB)] }, { name: 'B', mappings: [mapping('m', GiB)] }],
    setup: [
      { process: 'A', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
      { process: 'B', op: { op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' } },
    ],
    threads: [{ name: 'A', process: 'A', ops: [{ op: 'madvise', mapping: 'm', advice: 'dontneed' }] }],
  };
}

describe('madvise(MADV_DONTNEED) on a hugetlb mapping', () => {
  it('5.6 refuses it with EINVAL and changes nothing', () => {
    const s = spec();
    s.threads[0]!.ops[0] = { op: 'madvise', mapping: 'm', advice: 'dontneed', expect: 'EINVAL' };
    const { exec, built } = runOnce(s, noneStrategy, { pick: (r) => r[0]! }, { seed: 1 });
    expect(exec.violations).toEqual([]);
    const A = built.kernel.mms.get('A')!;
    expect([...A.pud.values()][0]!.refcount).toBe(2);
  });
  it('with MADV_DONTNEED support, A unshares its PMD page and B keeps the table and the page', () => {
    const dontneed = composeStrategy(noneStrategy, { name: 'dontneed', description: '', seed: '-', kernel: '-', package: '-', features: { ...noneStrategy.features, madviseDontneed: true } });
    const s = spec();
    s.threads[0]!.ops[0] = { op: 'madvise', mapping: 'm', advice: 'dontneed', expect: 'ok' };
    const { exec, built } = runOnce(s, dontneed, { pick: (r) => r[0]! }, { seed: 1 });
    expect(exec.violations).toEqual([]);
    const A = built.kernel.mms.get('A')!;
    const B = built.kernel.mms.get('B')!;
    expect(A.pud.size).toBe(0);
    const t = [...B.pud.values()][0]!;
    expect(t.refcount).toBe(1);
    expect(t.presentCount()).toBe(1);
  });
});
