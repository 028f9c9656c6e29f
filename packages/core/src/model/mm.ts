import { RwSem, SpinLock } from '../kernel/locks.js';
import { HPAGE_ORDER, HPAGE_SIZE, PAGE_SHIFT } from './constants.js';
import type { Inode } from './inode.js';
import type { PmdTable } from './pgtable.js';
import type { ResvMap } from './resv.js';
import type { KGen } from '../engine/step.js';
import type { Ctx } from '../ops/ctx.js';

export interface VmaFlags {
  /** VM_SHARED */
  shared: boolean;
  /** VM_MAYSHARE */
  mayshare: boolean;
  /** VM_WRITE */
  write: boolean;
}

/** vm_operations_struct hooks a wrapper adds around hugetlb_vm_ops (ipc/shm.c shm_vm_ops). */
export interface VmOpsWrapper {
  readonly name: string;
  /** vm_ops->open: a copy of the vma was made (fork, split, mremap). */
  open(c: Ctx, vma: Vma): KGen;
  /** vm_ops->close: remove_vma(). */
  close(c: Ctx, vma: Vma): KGen;
}

/**
 * struct anon_vma with its rwsem (private mappings). A child's anon_vma made by anon_vma_fork()
 * has the parent's root: anon_vma_lock_write/read() lock anon_vma->root->rwsem, so the whole
 * fork tree shares one rwsem (`root` given: its rwsem is used).
 */
export class AnonVma {
  readonly rwsem: RwSem;
  /** The anon_vma_chain: every vma whose anonymous pages may live in this anon_vma (the rb_root interval tree). */
  readonly vmas: Vma[] = [];
  /** Footprint object of the chain, "anon_vma:<id>" (protected by the rwsem). */
  readonly objId: string;
  /** anon_vma->root (itself for a first-level anon_vma). */
  readonly root: AnonVma;
  constructor(
    readonly id: number,
    root?: AnonVma,
  ) {
    this.root = root?.root ?? this;
    this.rwsem = root ? this.root.rwsem : new RwSem(`rwsem:anon_vma#${id}`, 'anon_vma->rwsem');
    this.objId = `anon_vma:${id}`;
  }
}

/** struct vm_area_struct for a hugetlb mapping. */
export class Vma {
  anonVma: AnonVma | null = null;
  /**
   * vma->anon_vma_chain: every anon_vma this vma is linked into (its own, and after fork its
   * parent's), filled by __anon_vma_prepare() and anon_vma_fork(). Empty for a vma that only
   * copied anon_vma (split, mremap copies: unlink_anon_vmas() then uses anon_vma alone).
   */
  readonly anonVmaChain: AnonVma[] = [];
  /** Private mappings: the owner's resv_map (HPAGE_RESV_OWNER). */
  resvMap: ResvMap | null = null;
  resvOwner = false;
  /** HPAGE_RESV_UNMAPPED: a COW by the owner stole this vma's page. */
  resvUnmapped = false;
  /** Unlinked from the mm (munmap/exit done). */
  dead = false;
  /** Registered with UFFDIO_REGISTER_MODE_MISSING (vm_userfaultfd_ctx set, VM_UFFD_MISSING). */
  uffdMissing = false;
  /** vm_ops wrapping hugetlb_vm_ops (SysV shm: shm_vm_ops' shm_open/shm_close), or null for a plain hugetlbfs mapping. */
  vmOps: VmOpsWrapper | null = null;
  /** Storage for a strategy's per-VMA state (e.g. the hugetlb vma_lock in vm_private_data). */
  readonly ext: Record<string, unknown> = {};
  constructor(
    readonly id: number,
    readonly mm: Mm,
    public start: number,
    public end: number,
    /** vm_pgoff, in 4 KiB pages. */
    public pgoff: number,
    readonly file: Inode,
    public flags: VmaFlags,
  ) {}
  get objId(): string {
    return (this.obj ??= `vma:${this.id}`);
  }
  private obj: string | undefined = undefined;
  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }
  /** mm/hugetlb.c vma_hugecache_offset() @ v5.6: page-cache index of addr, in huge pages. */
  hugeIndex(addr: number): number {
    return Math.floor((addr - this.start) / HPAGE_SIZE) + Math.floor(this.pgoff / 2 ** HPAGE_ORDER);
  }
  /** The address that maps file huge-page idx, or -1. */
  addrOfIndex(idx: number): number {
    const a = this.start + (idx - this.pgoff / 2 ** HPAGE_ORDER) * HPAGE_SIZE;
    return a >= this.start && a < this.end ? a : -1;
  }
  /** File byte offset at vm_start. */
  get fileOffset(): number {
    return this.pgoff * 2 ** PAGE_SHIFT;
  }
}

/** struct mm_struct: PUD entries (1 GiB ranges) pointing at PMD tables, VMAs, mmap_lock. */
export class Mm {
  /** PUD index -> PMD table (pud_none when absent). */
  readonly pud = new Map<number, PmdTable>();
  readonly vmas: Vma[] = [];
  readonly mmapLock: RwSem;
  readonly pageTableLock: SpinLock;
  nrPmds = 0;
  /** Huge pages mapped (hugetlb_count in mm counters). */
  hugetlbRss = 0;
  exited = false;
  readonly objId: string;
  private readonly pudObjs = new Map<number, string>();
  constructor(
    readonly id: number,
    readonly name: string,
  ) {
    this.mmapLock = new RwSem(`rwsem:mmap_lock#${name}`, 'mmap_lock');
    this.pageTableLock = new SpinLock(`spin:page_table_lock#${name}`, 'page_table_lock');
    this.objId = `mm:${name}`;
  }
  /** The last pudObj() answer: a walk over a mapping asks for the same PUD entry 512 times in a row. */
  private lastPudIdx = -1;
  private lastPudObj = '';
  /** Footprint object of one PUD entry, "pud:<mm>:<index>" (cached). */
  pudObj(pudIdx: number): string {
    if (pudIdx === this.lastPudIdx) return this.lastPudObj;
    let s = this.pudObjs.get(pudIdx);
    if (s === undefined) this.pudObjs.set(pudIdx, (s = `pud:${this.name}:${pudIdx}`));
    this.lastPudIdx = pudIdx;
    this.lastPudObj = s;
    return s;
  }
  /** find_vma(): the vma containing addr. */
  findVma(addr: number): Vma | null {
    const vmas = this.vmas;
    for (let i = 0; i < vmas.length; i++) if (vmas[i]!.contains(addr)) return vmas[i]!;
    return null;
  }
}
