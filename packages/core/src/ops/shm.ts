/**
 * SysV shared memory backed by hugetlbfs (ipc/shm.c @ v5.6; the same on these paths in 6.1):
 * shmget(SHM_HUGETLB) creates an unlinked hugetlbfs file (hugetlb_file_setup), shmat maps it with
 * shm_vm_ops wrapped around hugetlb_vm_ops, shmdt unmaps it, IPC_RMID destroys the segment at the
 * last detach. A second way to map a hugetlbfs object: the mappings are shared hugetlb vmas and
 * share PMD tables like mmap(MAP_SHARED) ones.
 */
import type { KGen, Step } from '../engine/step.js';
import type { Kernel } from '../engine/kernel.js';
import type { Thread } from '../engine/thread.js';
import type { Ctx } from './ctx.js';
import { lockIt, unlockIt, wr } from './ctx.js';
import { Mm, Vma, type VmOpsWrapper } from '../model/mm.js';
import type { Inode } from '../model/inode.js';
import { HPAGE_SIZE } from '../model/constants.js';
import { RwSem, SpinLock } from '../kernel/locks.js';
import { hugetlbReservePages } from './resv.js';
import { removeInodeHugepages } from './unmap.js';
import { sysMmap, type OpResult } from './syscalls.js';
import { doMunmap } from './split.js';

/** struct shmid_kernel: the segment of a hugetlbfs inode. */
export interface ShmSegment {
  readonly inode: Inode;
  /** shm_nattch: attached vmas, plus do_shmat()'s own count while it maps. */
  nattch: number;
  /** SHM_DEST: IPC_RMID done, destroy at the last detach. */
  dest: boolean;
  /** ipc_rmid() done: the id is gone (shm_destroy). */
  removed: boolean;
  /** shm_perm.lock (ipc_lock_object). */
  readonly lock: SpinLock;
  readonly objId: string;
}

/** The segment an inode backs lives on the inode (inode.ext.shm), so machine copies keep it. */
const segments = {
  get: (inode: Inode): ShmSegment | undefined => inode.ext.shm as ShmSegment | undefined,
  has: (inode: Inode): boolean => inode.ext.shm !== undefined,
  set: (inode: Inode, seg: ShmSegment): void => void (inode.ext.shm = seg),
};
const idsRwsem = new WeakMap<Kernel, RwSem>();
/** Final fput()s a task queued (task_work): the hugetlbfs inode is evicted on return to user space. */
const deferredFput = new WeakMap<Thread, Inode[]>();

/** The segment a hugetlbfs inode backs, or null if it is a plain hugetlbfs file. */
export function shmSegmentOf(inode: Inode): ShmSegment | null {
  return segments.get(inode) ?? null;
}

/** shm_ids(ns).rwsem: one per IPC namespace (one per simulated machine). */
function shmIds(k: Kernel): RwSem {
  let r = idsRwsem.get(k);
  if (!r) idsRwsem.set(k, (r = new RwSem('rwsem:shm_ids', 'shm_ids.rwsem')));
  return r;
}

/** One step on the segment's fields (held under shm_perm.lock by every caller). */
function segStep(fn: string, seg: ShmSegment, label: string, run: () => void): Step {
  return { fn, obj: seg.objId, access: 'write', label, run };
}

/** ipc/shm.c __shm_open() @ v5.6: shm_lock(), shm_atim, shm_nattch++, shm_unlock(). */
function* shmOpen(c: Ctx, seg: ShmSegment, fn: string): KGen {
  yield* lockIt(c, seg.lock, 'write', fn);
  yield* wr(c, fn, seg.objId, 'shp->shm_nattch++');
  seg.nattch++;
  yield* unlockIt(c, seg.lock, 'write', fn);
}

/**
 * ipc/shm.c shm_close() @ v5.6 (remove_vma, or do_shmat's own count): down_write(shm_ids.rwsem),
 * shm_lock(), shm_nattch--, shm_destroy() if shm_may_destroy() (SHM_DEST and no attach left),
 * up_write.
 */
function* shmDrop(c: Ctx, seg: ShmSegment, fn: string): KGen {
  const ids = shmIds(c.k);
  yield* lockIt(c, ids, 'write', fn);
  yield* lockIt(c, seg.lock, 'write', fn);
  let destroy = false;
  yield segStep(fn, seg, 'shp->shm_nattch--; shm_may_destroy()', () => {
    seg.nattch--;
    destroy = seg.nattch === 0 && seg.dest && !seg.removed;
  });
  if (destroy) yield* shmDestroy(c, seg, fn);
  yield* unlockIt(c, seg.lock, 'write', fn);
  yield* unlockIt(c, ids, 'write', fn);
}

/**
 * ipc/shm.c shm_destroy() @ v5.6 (shm_ids.rwsem and the segment lock held): shm_rmid() then
 * fput(shm_file). The last reference to the hugetlbfs file goes with it: the final __fput() runs
 * from task_work on return to user space (queued here) and evicts the inode.
 */
function* shmDestroy(c: Ctx, seg: ShmSegment, fn: string): KGen {
  yield* wr(c, fn, seg.objId, 'shm_rmid(); fput(shm_file)');
  seg.removed = true;
  let q = deferredFput.get(c.t);
  if (!q) deferredFput.set(c.t, (q = []));
  q.push(seg.inode);
}

/**
 * fs/file_table.c ____fput() -> fs/hugetlbfs/inode.c hugetlbfs_evict_inode() @ v5.6 for the
 * fput()s this task queued: remove_inode_hugepages(inode, 0, LLONG_MAX) (the pages and the
 * unused reservations go back to the pool), then resv_map_release().
 */
export function* shmRunTaskWork(c: Ctx): KGen {
  const q = deferredFput.get(c.t);
  while (q && q.length > 0) {
    const inode = q.shift()!;
    yield* removeInodeHugepages(c, inode, 0, Number.MAX_SAFE_INTEGER);
  }
}

/** shm_vm_ops for a hugetlb segment: shm_open / shm_close around hugetlb_vm_ops. */
function shmVmOps(seg: ShmSegment): VmOpsWrapper {
  return {
    name: 'shm_vm_ops',
    open: (c: Ctx) => shmOpen(c, seg, 'shm_open'),
    close: (c: Ctx) => shmDrop(c, seg, 'shm_close'),
  };
}

/**
 * ipc/shm.c newseg() @ v5.6 with SHM_HUGETLB: hugetlb_file_setup() makes an unlinked hugetlbfs
 * inode of the segment's size (whole huge pages) and reserves every page of it up front
 * (hugetlb_reserve_pages(inode, 0, size, NULL, acctflag): the shared path, no vma). ENOSPC
 * (-ENOMEM in the kernel) when the pool cannot back it.
 */
export function* sysShmget(c: Ctx, inode: Inode): KGen<OpResult> {
  if (segments.has(inode)) return 'EEXIST';
  const pages = Math.ceil(inode.size / HPAGE_SIZE);
  // hugetlb_reserve_pages() with vma == NULL takes the shared-mapping path: a stand-in vma that is VM_MAYSHARE.
  const pseudo = new Vma(0, new Mm(0, 'shm-setup'), 0, pages * HPAGE_SIZE, 0, inode, { shared: true, mayshare: true, write: true });
  const ok = yield* hugetlbReservePages(c, inode, 0, pages, pseudo);
  if (!ok) return 'ENOMEM';
  segments.set(inode, { inode, nattch: 0, dest: false, removed: false, lock: new SpinLock(`spin:shm_perm#${inode.name}`, 'shm_perm.lock'), objId: `shm:${inode.name}` });
  return 'ok';
}

/**
 * ipc/shm.c do_shmat() @ v5.6: under the segment lock take an attach count (shm_nattch++, so the
 * segment cannot be destroyed while mapping), then do_mmap() of the whole segment MAP_SHARED at
 * addr (shm_mmap: __shm_open, hugetlbfs_file_mmap; vm_ops = shm_vm_ops), then drop the count
 * under shm_ids.rwsem (destroying the segment if it was removed meanwhile and nothing is attached).
 */
export function* sysShmat(c: Ctx, mm: Mm, inode: Inode, addr: number, write: boolean): KGen<{ result: OpResult; vma: Vma | null }> {
  const fn = 'do_shmat';
  const seg = segments.get(inode);
  if (!seg) return { result: 'EINVAL', vma: null };
  yield* lockIt(c, seg.lock, 'write', fn);
  let removed = false;
  yield segStep(fn, seg, 'ipc_valid_object(); shp->shm_nattch++', () => {
    removed = seg.removed;
    if (!removed) seg.nattch++;
  });
  yield* unlockIt(c, seg.lock, 'write', fn);
  if (removed) return { result: 'EIDRM', vma: null };
  const r = yield* sysMmap(c, mm, inode, addr, Math.ceil(inode.size / HPAGE_SIZE) * HPAGE_SIZE, 0, true, write, shmVmOps(seg));
  yield* shmDrop(c, seg, fn);
  yield* shmRunTaskWork(c);
  return r;
}

/**
 * ipc/shm.c ksys_shmdt() @ v5.6: under mmap_lock for write, do_munmap() every shm vma of the
 * segment attached at addr (vm_start - vm_pgoff offset == addr); EINVAL if there is none. The
 * close of the last one may destroy a removed segment.
 */
export function* sysShmdt(c: Ctx, mm: Mm, addr: number): KGen<OpResult> {
  const fn = 'ksys_shmdt';
  yield* lockIt(c, mm.mmapLock, 'write', fn);
  const first = mm.vmas.find((v) => v.vmOps?.name === 'shm_vm_ops' && v.start - v.fileOffset === addr);
  let r: OpResult = 'EINVAL';
  if (first) {
    const file = first.file;
    const end = addr + Math.ceil(file.size / HPAGE_SIZE) * HPAGE_SIZE;
    for (const v of mm.vmas.filter((x) => x.file === file && x.vmOps?.name === 'shm_vm_ops' && x.start >= addr && x.end <= end).sort((a, b) => a.start - b.start)) {
      r = yield* doMunmap(c, mm, v.start, v.end - v.start);
      if (r !== 'ok') break;
    }
  }
  yield* unlockIt(c, mm.mmapLock, 'write', fn);
  yield* shmRunTaskWork(c);
  return r;
}

/**
 * ipc/shm.c shmctl(IPC_RMID) -> shmctl_down() -> do_shm_rmid() @ v5.6: under shm_ids.rwsem for
 * write and the segment lock: attached -> SHM_DEST (and the key becomes private), destroyed at
 * the last detach; otherwise shm_destroy() now.
 */
export function* sysShmctlRmid(c: Ctx, inode: Inode): KGen<OpResult> {
  const fn = 'shmctl_down';
  const seg = segments.get(inode);
  if (!seg) return 'EINVAL';
  const ids = shmIds(c.k);
  yield* lockIt(c, ids, 'write', fn);
  yield* lockIt(c, seg.lock, 'write', fn);
  let r: OpResult = 'ok';
  let destroy = false;
  yield segStep('do_shm_rmid', seg, 'shm_nattch ? SHM_DEST : shm_destroy()', () => {
    if (seg.removed) r = 'EIDRM';
    else if (seg.nattch > 0) seg.dest = true;
    else destroy = true;
  });
  if (destroy) yield* shmDestroy(c, seg, 'do_shm_rmid');
  yield* unlockIt(c, seg.lock, 'write', fn);
  yield* unlockIt(c, ids, 'write', fn);
  yield* shmRunTaskWork(c);
  return r;
}
