/**
 * The TLB model's bookkeeping (model/tlb.ts): translations kept per CPU in typed arrays must
 * behave exactly as the per-entry Map it replaced (FIFO replacement at TLB_ENTRIES, a refill
 * keeping its place, flushes by mm and range), and tasks that make no cached access keep none.
 */
import { describe, it, expect } from 'vitest';
import { buildKernel, HugePage, Mm, noneStrategy, PmdTable, Thread, tlbOf, TlbState, TLB_ENTRIES, type KGen, type Op, type WorkloadSpec } from '../src/index.js';
import { Rng } from '../src/engine/random.js';
import { mapping } from './fixtures.js';
import { GiB, MiB } from './model-helpers.js';

const HP = 2 * MiB;

/** The reference: the Map-based TLB of the issue 5 merge (one Map per CPU, string keys, FIFO by insertion order). */
class MapTlb {
  readonly cpus = new Map<Thread, Map<string, { id: number; mm: Mm; haddr: number; write: boolean }>>();
  fills = 0;
  fill(t: Thread, mm: Mm, haddr: number, write: boolean): number {
    let m = this.cpus.get(t);
    if (!m) this.cpus.set(t, (m = new Map()));
    const k = `${mm.name}@${haddr}`;
    if (m.size >= TLB_ENTRIES && !m.has(k)) m.delete(m.keys().next().value as string);
    m.set(k, { id: ++this.fills, mm, haddr, write });
    return this.fills;
  }
  invalidate(mm: Mm, start: number, end: number): number {
    let n = 0;
    for (const m of this.cpus.values())
      for (const [k, e] of m)
        if (e.mm === mm && e.haddr >= start && e.haddr < end) {
          m.delete(k);
          n++;
        }
    return n;
  }
}

describe('TlbState (per-CPU translations in typed arrays)', () => {
  it('answers every lookup, flush and listing as the per-entry Map did, through eviction and compaction', () => {
    const rng = new Rng(7);
    const mms = [new Mm(1, 'A'), new Mm(2, 'B')];
    const cpus = [0, 1, 2].map((i) => new Thread(i, `t${i}`, null as unknown as KGen<unknown>, 'A'));
    const table = new PmdTable(1);
    const page = new HugePage(1);
    const tlb = new TlbState();
    const ref = new MapTlb();
    const base = 0x7f00_0000_0000;
    // 2,400 addresses per mm: more than TLB_ENTRIES, so CPUs fill up and evict (no flush in the first
    // 10,000 operations), and then flushes leave holes to compact.
    const addr = () => base + rng.int(2400) * HP;
    let hits = 0;
    let fullest = 0;
    for (let i = 0; i < 40_000; i++) {
      if (i % 1000 === 0) fullest = Math.max(fullest, ...cpus.map((c) => tlb.entries(c).length));
      const t = cpus[rng.int(cpus.length)]!;
      const mm = mms[rng.int(mms.length)]!;
      const r = rng.next();
      if (r < 0.6) {
        const a = addr();
        const write = rng.next() < 0.5;
        expect(tlb.fill(t, mm, a, table, 0, page, 0, write, null)).toBe(ref.fill(t, mm, a, write));
      } else if (r < (i < 10_000 ? 0.6 : 0.62)) {
        const a = addr();
        const len = rng.int(64) * HP;
        expect(tlb.invalidate(mm, a, a + len)).toBe(ref.invalidate(mm, a, a + len));
      } else {
        const a = addr();
        const got = tlb.lookup(t, mm, a);
        const want = ref.cpus.get(t)?.get(`${mm.name}@${a}`);
        expect(got && { id: got.id, mm: got.mm, haddr: got.haddr, write: got.write }).toEqual(want);
        if (want) hits++;
      }
    }
    for (const t of cpus) expect(tlb.entries(t).map((e) => e.id)).toEqual([...(ref.cpus.get(t)?.values() ?? [])].map((e) => e.id));
    expect(hits).toBeGreaterThan(1000);
    expect(fullest).toBe(TLB_ENTRIES);
  });

  it('a refill of a cached address is a new entry that keeps the old one\'s place in the replacement order', () => {
    const mm = new Mm(1, 'A');
    const t = new Thread(0, 't', null as unknown as KGen<unknown>, 'A');
    const tlb = new TlbState();
    const table = new PmdTable(1);
    const page = new HugePage(1);
    const first = tlb.fill(t, mm, 0, table, 0, page, 0, false, null);
    for (let i = 1; i < TLB_ENTRIES; i++) tlb.fill(t, mm, i * HP, table, 0, page, 0, false, null);
    const again = tlb.fill(t, mm, 0, table, 0, page, 0, true, null);
    expect(again).not.toBe(first);
    expect(tlb.lookup(t, mm, 0)).toMatchObject({ id: again, write: true });
    // One more address: the oldest (address 0, refilled in place) goes.
    tlb.fill(t, mm, TLB_ENTRIES * HP, table, 0, page, 0, false, null);
    expect(tlb.lookup(t, mm, 0)).toBeUndefined();
    expect(tlb.lookup(t, mm, HP)).toBeDefined();
  });
});

describe('which tasks cache translations (workload/build.ts)', () => {
  const spec = (ops: Op[]): WorkloadSpec => ({
    name: 'tlb-fill', description: '', tags: [], params: {}, pool: { hugePages: 8, overcommit: 0 }, faultMutexes: 64,
    files: [{ name: 'f', size: GiB }],
    processes: [{ name: 'A', mappings: [mapping('m', 4 * HP)] }],
    setup: [],
    threads: [{ name: 'a', process: 'A', ops }],
  });
  const run = (ops: Op[]) => {
    const b = buildKernel(spec(ops), noneStrategy);
    const t = b.threads[0]!;
    while (!t.done) b.kernel.stepThread(t);
    return { t, entries: tlbOf(b.kernel).entries(t), violations: b.kernel.violations };
  };
  const touch: Op = { op: 'touch', mapping: 'm', offset: 0, length: 4 * HP, write: true, expect: 'ok' };
  const access: Op = { op: 'access', mapping: 'm', offset: 0, write: true, expect: 'ok' };

  it('a task without cached accesses keeps no translations (nothing would read them)', () => {
    const r = run([touch]);
    expect(r.violations).toEqual([]);
    expect(r.t.cachesTranslations).toBe(false);
    expect(r.entries).toEqual([]);
  });

  it('a task with one (here nested in a loop) caches what its walks find, and its access hits', () => {
    const r = run([touch, { op: 'loop', count: 1, ops: [access] }]);
    expect(r.violations).toEqual([]);
    expect(r.t.cachesTranslations).toBe(true);
    expect(r.entries.map((e) => e.haddr - r.entries[0]!.haddr)).toEqual([0, HP, 2 * HP, 3 * HP]);
  });
});
