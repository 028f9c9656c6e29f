import { SpinLock } from '../kernel/locks.js';

/** A [from, to) range of huge-page indices. */
export type Region = [number, number];

/**
 * mm/hugetlb.c struct resv_map @ v5.6: the region list (shared: "reserved or in the page cache";
 * private: "reservation consumed"), adds_in_progress, under resv_map->lock.
 */
export class ResvMap {
  regions: Region[] = [];
  addsInProgress = 0;
  readonly lock: SpinLock;
  constructor(readonly id: string) {
    this.lock = new SpinLock(`spin:resv#${id}`, 'resv_map->lock');
    this.objId = `resv:${id}`;
  }
  readonly objId: string;

  /** Pages of [f, t) covered by regions. */
  covered(f: number, t: number): number {
    let n = 0;
    for (const [a, b] of this.regions) {
      const lo = Math.max(a, f);
      const hi = Math.min(b, t);
      if (hi > lo) n += hi - lo;
    }
    return n;
  }

  /** mm/hugetlb.c region_chg() @ v5.6: pages of [f, t) not yet in the map; adds_in_progress++. */
  regionChg(f: number, t: number): number {
    this.addsInProgress++;
    return t - f - this.covered(f, t);
  }

  /** mm/hugetlb.c region_add() @ v5.6: insert/merge [f, t); returns pages added; adds_in_progress--. */
  regionAdd(f: number, t: number): number {
    const added = t - f - this.covered(f, t);
    let lo = f;
    let hi = t;
    const keep: Region[] = [];
    for (const r of this.regions) {
      if (r[1] < lo || r[0] > hi) keep.push(r);
      else {
        lo = Math.min(lo, r[0]);
        hi = Math.max(hi, r[1]);
      }
    }
    keep.push([lo, hi]);
    keep.sort((x, y) => x[0] - y[0]);
    this.regions = keep;
    if (this.addsInProgress > 0) this.addsInProgress--;
    return added;
  }

  /** mm/hugetlb.c region_abort() @ v5.6 */
  regionAbort(): void {
    if (this.addsInProgress > 0) this.addsInProgress--;
  }

  /** mm/hugetlb.c region_del() @ v5.6: remove [f, t); returns the pages removed. */
  regionDel(f: number, t: number): number {
    const del = this.covered(f, t);
    const out: Region[] = [];
    for (const [a, b] of this.regions) {
      if (b <= f || a >= t) {
        out.push([a, b]);
        continue;
      }
      if (a < f) out.push([a, f]);
      if (b > t) out.push([t, b]);
    }
    this.regions = out;
    return del;
  }

  /** Total pages in the map. */
  get size(): number {
    return this.covered(0, Number.MAX_SAFE_INTEGER);
  }
}
