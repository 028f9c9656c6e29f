/**
 * userfaultfd MISSING faults on hugetlb (fs/userfaultfd.c handle_userfault,
 * userfaultfd_huge_must_wait; the mm/hugetlb.c hugetlb_no_page branch that calls it).
 * The monitor is not a modelled task: it resolves a fault by filling the page cache (e.g. a
 * fallocate in another process, or UFFDIO_COPY) and waking the waiter (UFFDIO_WAKE); the waiter
 * sleeps until the page is in the page cache.
 */
import type { KGen } from '../engine/step.js';
import type { Thread } from '../engine/thread.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt } from './ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import { hpageAlignDown } from '../model/constants.js';
import { hugePteOffset, ptepGet, hex } from './pgtable.js';

/** Tasks whose fault runs with FAULT_FLAG_RETRY_NOWAIT (GUP with FOLL_NOWAIT). */
const nowaitTasks = new WeakSet<Thread>();
/** Tasks whose mmap_lock was released by handle_userfault (the fault returns VM_FAULT_RETRY without it). */
const mmapDropped = new WeakSet<Thread>();

/** fs/userfaultfd.c userfaultfd_register() @ v5.6, MISSING mode (the registration is not inherited by fork). */
export function uffdRegister(vma: Vma): void {
  vma.uffdMissing = true;
}

/** include/linux/userfaultfd_k.h userfaultfd_missing() @ v5.6 */
export function userfaultfdMissing(vma: Vma): boolean {
  return vma.uffdMissing;
}

/** Run a fault with FAULT_FLAG_RETRY_NOWAIT set for this task (follow_hugetlb_page with FOLL_NOWAIT). */
export function* withRetryNowait<T>(t: Thread, nowait: boolean, body: KGen<T>): KGen<T> {
  if (nowait) nowaitTasks.add(t);
  try {
    return yield* body;
  } finally {
    nowaitTasks.delete(t);
  }
}

/** Did handle_userfault release this task's mmap_lock? (Reading clears it.) */
export function takeMmapDropped(t: Thread): boolean {
  // Asked at every fault: the delete only when there is something to take.
  if (!mmapDropped.has(t)) return false;
  mmapDropped.delete(t);
  return true;
}

/**
 * fs/userfaultfd.c userfaultfd_huge_must_wait() @ v5.6: a lockless huge_pte_offset() and read of
 * the entry (the comment: "lockless access ... ok if it changes under us"), so the read is a hint.
 * No lock of the design covers it in 5.6..6.2; RFC v1 04/10 puts it under rcu_read_lock(), 6.3
 * under the vma lock (both through walkBegin, called by the caller).
 */
export function* userfaultfdHugeMustWait(c: Ctx, mm: Mm, addr: number): KGen<boolean> {
  const fn = 'userfaultfd_huge_must_wait';
  const ptep = yield* hugePteOffset(c, mm, hpageAlignDown(addr), fn);
  if (!ptep) return true;
  const v = yield* ptepGet(c, ptep, fn, true);
  return v.page === 0 && v.flags === 0;
}

/**
 * fs/userfaultfd.c handle_userfault() @ v5.6 for a hugetlb MISSING fault (mmap_lock held for read):
 * with FAULT_FLAG_RETRY_NOWAIT return VM_FAULT_RETRY at once (mmap_lock kept, nothing sleeps);
 * otherwise queue on the fault wait queue, set_current_state(), userfaultfd_huge_must_wait(),
 * mmap_read_unlock(), sleep until the monitor resolved the fault, return VM_FAULT_RETRY.
 * 6.3 takes hugetlb_vma_lock_read() before set_current_state() (taking a sleeping lock changes the
 * task state) and drops it after the check: the design's walkBegin/walkEnd, at that place.
 */
export function* handleUserfault(c: Ctx, mm: Mm, vma: Vma, addr: number, idx: number): KGen<'retry'> {
  const fn = 'handle_userfault';
  const s = c.k.strategy;
  if (nowaitTasks.has(c.t)) {
    yield { fn, obj: '', access: 'none', label: 'handle_userfault: FAULT_FLAG_RETRY_NOWAIT -> VM_FAULT_RETRY', cost: 'step' };
    return 'retry';
  }
  if (s.walkBegin) yield* s.walkBegin(c, vma, 'sleepable');
  yield { fn, obj: `uffd:${vma.id}`, access: 'write', label: () => `__add_wait_queue(fault_pending_wqh) + set_current_state(TASK_KILLABLE) [${hex(addr)}]`, cost: 'step' };
  const mustWait = yield* userfaultfdHugeMustWait(c, mm, addr);
  if (s.walkEnd) yield* s.walkEnd(c, vma, 'sleepable');
  yield* unlockIt(c, mm.mmapLock, 'read', fn);
  mmapDropped.add(c.t);
  if (mustWait) {
    const inode = vma.file;
    yield {
      fn,
      obj: inode.cacheObj,
      access: 'read',
      label: () => `schedule() [woken by the monitor: ${inode.name} index ${idx} filled, UFFDIO_WAKE]`,
      cost: 'step',
      sleeping: true,
      blocked: () => !inode.pageCache.has(idx),
    };
  }
  yield { fn, obj: '', access: 'none', label: '__set_current_state(TASK_RUNNING) -> VM_FAULT_RETRY', cost: 'step' };
  return 'retry';
}

/**
 * mm/hugetlb.c hugetlb_no_page() @ v5.6, the userfaultfd_missing() branch: the fault mutex (and
 * what the design holds across the fault: i_mmap_rwsem read in 5.7..6.0, hinode_rwsem, the vma
 * lock in 6.1) is dropped before handle_userfault() and taken again after it ("Reacquire after
 * handling fault to make calling code simpler", 5.6..6.0). The same hooks hugetlb_fault() uses.
 */
export function* hugetlbNoPageUserfault(c: Ctx, mm: Mm, vma: Vma, idx: number, address: number): KGen<'retry'> {
  const fn = 'hugetlb_no_page';
  const s = c.k.strategy;
  const haddr = hpageAlignDown(address);
  const mutex = c.k.faultMutex(vma.file, idx);
  if (s.faultUnlocking) yield* s.faultUnlocking(c, vma, haddr);
  yield* unlockIt(c, mutex, 'write', fn);
  if (s.faultExit) yield* s.faultExit(c, vma, haddr);
  const r = yield* handleUserfault(c, mm, vma, address, idx);
  if (s.faultEnter) yield* s.faultEnter(c, vma, haddr);
  yield* lockIt(c, mutex, 'write', fn);
  if (s.faultLocked) yield* s.faultLocked(c, vma, haddr);
  return r;
}
