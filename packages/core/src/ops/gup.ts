/**
 * get_user_pages on hugetlb: the slow path (mm/gup.c __get_user_pages -> mm/hugetlb.c
 * follow_hugetlb_page, with FOLL_NOWAIT) and GUP-fast (mm/gup.c internal_get_user_pages_fast ->
 * gup_pgd_range -> gup_huge_pmd, a lockless walk with interrupts disabled). The caller drops the
 * page references once its I/O is done (put_page), as O_DIRECT or vhost do.
 */
import type { KGen } from '../engine/step.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, rd, wr } from './ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import type { HugePage } from '../model/page.js';
import { HPAGE_SIZE, hpageAlignDown, pudIndex } from '../model/constants.js';
import { PTE_PRESENT, PTE_WRITE, type PmdTable, type PtePtr } from '../model/pgtable.js';
import { hugePteLock, hugePteOffset, hugePteUnlock, makePtr, ptepGet, hex } from './pgtable.js';
import { hugetlbFault } from './fault.js';
import { putPage } from './resv.js';
import { takeMmapDropped, withRetryNowait } from './uffd.js';
import { localIrqRestore, localIrqSave } from './tlb.js';
import type { OpResult } from './syscalls.js';

/** What a GUP call got: the pages it holds references on, and why it stopped short. */
export interface GupResult {
  pages: HugePage[];
  /** 'ok' when every page was got; 'EAGAIN' (FOLL_NOWAIT and the fault must wait), 'EFAULT'. */
  result: OpResult;
}

/** The page an entry maps. */
function pageAt(c: Ctx, id: number): HugePage | null {
  return id ? (c.k.hstate.pages[id - 1] ?? null) : null;
}

/**
 * mm/hugetlb.c follow_hugetlb_page() @ v5.6 (the same walk in 5.10 and 6.1; 6.3 adds the vma lock
 * through walkBegin/walkEnd): per huge page, huge_pte_offset() (no lock in 5.6..6.2), the PTL
 * through that pointer, the entry read under it; a missing or read-only entry unlocks and calls
 * hugetlb_fault() (FOLL_NOWAIT adds FAULT_FLAG_RETRY_NOWAIT) and walks again; a present one gets
 * a page reference under the PTL. mmap_lock is held for read. Returns pages got and how it ended;
 * `dropped` tells the caller that a fault released mmap_lock (VM_FAULT_RETRY, *locked = 0).
 */
export function* followHugetlbPage(c: Ctx, mm: Mm, vma: Vma, start: number, n: number, write: boolean, nowait: boolean, pages: HugePage[]): KGen<{ result: OpResult; dropped: boolean }> {
  const fn = 'follow_hugetlb_page';
  const s = c.k.strategy;
  const where = nowait ? 'atomic' : 'sleepable';
  let vaddr = start + pages.length * HPAGE_SIZE;
  while (vaddr < vma.end && pages.length < n) {
    if (s.walkBegin) yield* s.walkBegin(c, vma, where);
    const pte: PtePtr | null = yield* hugePteOffset(c, mm, vaddr, fn);
    let entry = { page: 0, flags: 0 };
    if (pte) {
      // A shared mapping shares a PMD table only at identical file offsets: an entry read under
      // the PTL of a table unshared from this mm but still alive maps the same file page. Only a
      // freed table is a bug for this reader (pte-use-after-free), so the accesses are speculative.
      yield* hugePteLock(c, pte, fn, true);
      entry = yield* ptepGet(c, pte, fn, true);
    }
    const absent = !pte || (entry.page === 0 && entry.flags === 0);
    if (absent || !(entry.flags & PTE_PRESENT) || (write && !(entry.flags & PTE_WRITE))) {
      if (pte) yield* hugePteUnlock(c, pte, fn);
      if (s.walkEnd) yield* s.walkEnd(c, vma, where);
      const r = yield* withRetryNowait(c.t, nowait, hugetlbFault(c, mm, vma, vaddr, write));
      if (r === 'sigbus' || r === 'oom' || r === 'hwpoison') return { result: 'EFAULT', dropped: false };
      if (r === 'retry') {
        const dropped = takeMmapDropped(c.t);
        // FOLL_NOWAIT: "*nr_pages = 0; return i" with mmap_lock still held.
        if (nowait) return { result: 'EAGAIN', dropped };
        if (dropped) return { result: 'ok', dropped };
      }
      continue;
    }
    // try_grab_page() / get_page() of the head page, under the PTL.
    const page = pageAt(c, entry.page)!;
    yield* wr(c, fn, page.objId, () => `get_page(${page.id}) [gup ${hex(vaddr)}]`, 'atomic');
    page.refcount++;
    pages.push(page);
    yield* hugePteUnlock(c, pte!, fn);
    if (s.walkEnd) yield* s.walkEnd(c, vma, where);
    vaddr += HPAGE_SIZE;
  }
  return { result: pages.length >= n || vaddr >= vma.end ? 'ok' : 'EFAULT', dropped: false };
}

/**
 * mm/gup.c get_user_pages_unlocked() -> __get_user_pages_locked() @ v5.6 for a hugetlb vma:
 * mmap_lock read, follow_hugetlb_page(); when a fault released mmap_lock (userfaultfd), take it
 * again and go on with FOLL_TRIED.
 */
export function* getUserPagesUnlocked(c: Ctx, mm: Mm, addr: number, n: number, write: boolean, nowait: boolean, pages: HugePage[] = []): KGen<GupResult> {
  const fn = '__get_user_pages_locked';
  for (let tries = 0; tries < 8; tries++) {
    yield* lockIt(c, mm.mmapLock, 'read', fn);
    yield* rd(c, 'find_extend_vma', mm.objId, `find_extend_vma(${mm.name})`);
    const vma = mm.findVma(addr);
    if (!vma) {
      yield* unlockIt(c, mm.mmapLock, 'read', fn);
      return { pages, result: 'EFAULT' };
    }
    const r = yield* followHugetlbPage(c, mm, vma, hpageAlignDown(addr), n, write, nowait, pages);
    if (!r.dropped) yield* unlockIt(c, mm.mmapLock, 'read', fn);
    if (!(r.dropped && !nowait && pages.length < n)) return { pages, result: r.result };
  }
  return { pages, result: 'EAGAIN' };
}

/**
 * mm/gup.c gup_pud_range() -> gup_pmd_range() -> gup_huge_pmd() @ v5.6, interrupts disabled by the
 * caller: READ_ONCE of the pud (the PMD table it names), READ_ONCE of the huge pmd through it, a
 * speculative page reference (try_get_compound_head: fails on a page with no references), then the
 * recheck pmd_val(orig) == *pmdp, dropping the reference on a change. No lock, no sleep.
 */
function* gupHugePmd(c: Ctx, mm: Mm, addr: number, write: boolean): KGen<HugePage | null> {
  const fn = 'gup_huge_pmd';
  let table: PmdTable | undefined;
  yield { fn: 'gup_pud_range', obj: mm.pudObj(pudIndex(addr)), access: 'read', label: () => `READ_ONCE(pud ${mm.name} ${hex(addr)})`, cost: 'ptWalk', run: () => (table = mm.pud.get(pudIndex(addr))) };
  const t: PmdTable | undefined = table;
  if (!t) return null;
  const p: PtePtr = makePtr(t, mm, addr);
  const orig = yield* ptepGet(c, p, 'gup_pmd_range', true);
  if (!(orig.flags & PTE_PRESENT) || (write && !(orig.flags & PTE_WRITE))) return null;
  const page = pageAt(c, orig.page)!;
  let got = false;
  yield {
    fn,
    obj: page.objId,
    access: 'write',
    label: () => `try_get_compound_head(${page.id})`,
    cost: 'atomic',
    run: () => {
      // page_cache_get_speculative(): no reference is taken on a page whose count is 0 (being freed).
      if (page.refcount > 0 && !page.free) {
        page.refcount++;
        got = true;
      }
    },
  };
  if (!got) return null;
  const again = yield* ptepGet(c, p, fn, true);
  if (again.page !== orig.page || again.flags !== orig.flags) {
    yield* putPage(c, page, fn);
    return null;
  }
  return page;
}

/**
 * mm/gup.c get_user_pages_fast() -> internal_get_user_pages_fast() @ v5.6: local_irq_disable(),
 * the lockless walk of each huge page (gup_pgd_range), local_irq_enable(); what the fast walk did
 * not get goes to the slow path (__gup_longterm_unlocked -> get_user_pages_unlocked).
 */
export function* getUserPagesFast(c: Ctx, mm: Mm, addr: number, n: number, write: boolean): KGen<GupResult> {
  const fn = 'internal_get_user_pages_fast';
  const pages: HugePage[] = [];
  const start = hpageAlignDown(addr);
  yield* localIrqSave(c, fn);
  for (let i = 0; i < n; i++) {
    const page = yield* gupHugePmd(c, mm, start + i * HPAGE_SIZE, write);
    if (!page) break;
    pages.push(page);
  }
  yield* localIrqRestore(c, fn);
  if (pages.length === n) return { pages, result: 'ok' };
  return yield* getUserPagesUnlocked(c, mm, start, n, write, false, pages);
}

/** A GUP system-call-like user (O_DIRECT read, vhost, KVM): get the pages, do the I/O, put them. */
export function* sysGup(c: Ctx, mm: Mm, addr: number, len: number, write: boolean, opts: { nowait: boolean; fast: boolean }): KGen<OpResult> {
  const n = Math.max(1, Math.ceil((addr + Math.max(len, 1) - hpageAlignDown(addr)) / HPAGE_SIZE));
  const r = opts.fast ? yield* getUserPagesFast(c, mm, addr, n, write) : yield* getUserPagesUnlocked(c, mm, addr, n, write, opts.nowait);
  // put_page() of every page got, once the I/O is done.
  for (const p of r.pages) yield* putPage(c, p, 'put_user_pages');
  return r.result;
}
